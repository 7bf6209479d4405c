//! One delivery through §7.2: the prechecks, decode, the handler (with its timeout, +WPI and
//! pushback holds, §7.1, §15.1) and the final ack, NAK or dead-letter.

use super::Engine;
use crate::handler::MessageContext;
use crate::idempotency::id_key;
use crate::outcome::{after_handler, precheck, Delivery, Final, HandlerResult, Precheck};
use crate::trace::{self, TraceParent};
use crate::worker_api::{NakReason, WorkerEvent};
use crate::{log, now_unix_ms};
use async_nats::jetstream::{AckKind, Message};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tracing::Instrument;

/// How a handler run ended: a result, or a pushback with the handler's retry-after (§15.1).
enum Run {
    Done(HandlerResult),
    Overloaded(Option<Duration>),
}

impl Engine {
    /// §7.2 for one delivery; `probe` is the circuit's probe number when the delivery is the
    /// probe (§7.6).
    pub(super) async fn handle(&self, msg: Arc<Message>, probe: Option<u64>) {
        let info = match msg.info() {
            Ok(i) => (i.delivered.max(1) as u64, i.stream_sequence, i.published),
            Err(e) => {
                log!("delivery without JetStream metadata: {e}");
                return;
            }
        };
        let (k, stream_seq, published) = info;
        let published_ms = (published.unix_timestamp_nanos() / 1_000_000) as i64;
        let age_ms = now_unix_ms() - published_ms;
        // Read in place: the delivery stays in `msg` (an Arc) until it is settled.
        let headers = msg.headers.as_ref();
        // A static name: a lookup by `&str` would copy and validate the name every time.
        let get = |name: &'static str| {
            headers
                .and_then(|h| h.get(async_nats::HeaderName::from_static(name)))
                .map(|v| v.as_str())
        };
        // Only a delivery that does not go on to its handler names its id from here.
        let msg_id = || get(crate::headers::MSG_ID);
        if self.shutting_down.load(Ordering::SeqCst) {
            self.nak(&msg, Duration::ZERO).await;
            return;
        }
        let pre = precheck(
            &self.settings,
            &self.cfg.handles,
            get,
            Delivery {
                payload_len: msg.payload.len(),
                delivery_count: k,
                age_ms,
            },
            |id| self.cache.lock().unwrap().contains(&id_key(id)),
            self.fleet.as_ref(),
        );
        let valid = match pre {
            Precheck::DeadLetter { reason, error } => {
                return self
                    .dead_letter(&msg, stream_seq, k, msg_id(), reason, &error)
                    .await;
            }
            Precheck::Duplicate => {
                if Box::pin(msg.double_ack()).await.is_ok() {
                    self.owe(1);
                    log!(
                        "duplicate {} acked without running the handler",
                        msg_id().unwrap_or_default()
                    );
                }
                return;
            }
            Precheck::NakNotHandled { delay_ms, reason } => {
                if self
                    .nak(&msg, crate::backoff::nak_delay(delay_ms as f64))
                    .await
                {
                    log!(
                        "not handled here ({reason}): {}",
                        msg_id().unwrap_or_default()
                    );
                    self.event(WorkerEvent::Nak {
                        msg_id: msg_id().map(str::to_string),
                        attempt: k,
                        delay: Duration::from_millis(delay_ms),
                        reason: NakReason::NotHandled,
                    });
                }
                return;
            }
            Precheck::Proceed(v) => v,
        };
        // §9: the shared store after the local cache.
        // Boxed, and only with a store: most deliveries' futures need no room for its requests.
        if self.store.is_some() && Box::pin(self.settled_by_store(&msg, valid.msg_id, k)).await {
            return;
        }
        // Step 6: decode (and upcast) the payload.
        let mut bound = match self
            .cfg
            .registry
            .bind(valid.type_name, valid.version, &msg.payload)
        {
            Ok(b) => Some(b),
            Err(e) => {
                return self
                    .dead_letter(&msg, stream_seq, k, Some(valid.msg_id), "decode-error", &e)
                    .await
            }
        };
        // §10: made when first asked for (a span, a listener, the handler), once per delivery.
        let trace: Arc<OnceLock<TraceParent>> = Arc::default();
        let tp = || trace.get_or_init(|| trace::continue_trace(get(crate::headers::TRACEPARENT)));
        let span = tracing::info_span!(
            target: "sluice",
            "sluice.handle",
            queue = %self.cfg.queue,
            msg_id = %valid.msg_id,
            r#type = %valid.type_name,
            version = valid.version,
            attempt = k,
            trace_id = %tp().trace_id,
            span_id = %tp().parent_id,
        );
        // Built for each run (a pushback runs the handler again), not cloned from a template.
        let context = || MessageContext {
            // Read from the delivery's headers.
            msg_id: String::new(),
            type_name: String::new(),
            version: valid.version,
            attempt: k,
            stream_sequence: stream_seq,
            trace: trace.clone(),
            worker_id: self.worker_id.clone(),
            message: Some(msg.clone()),
        };
        // §15.1: a pushback holds the delivery (no NAK, no attempt) and runs the handler again.
        let mut pushbacks = 0u64;
        let result = loop {
            let slot = self.handlers.acquire().await.expect("semaphore open");
            if self.shutting_down.load(Ordering::SeqCst) {
                self.nak(&msg, Duration::ZERO).await;
                return;
            }
            let b = match bound.take() {
                Some(b) => b,
                None => match self
                    .cfg
                    .registry
                    .bind(valid.type_name, valid.version, &msg.payload)
                {
                    Ok(b) => b,
                    Err(e) => {
                        drop(slot);
                        return self
                            .dead_letter(
                                &msg,
                                stream_seq,
                                k,
                                Some(valid.msg_id),
                                "decode-error",
                                &e,
                            )
                            .await;
                    }
                },
            };
            self.enter_gate().await;
            let run = self
                .run_handler(&msg, self.cfg.registry.run(b, context()))
                .instrument(span.clone())
                .await;
            self.pushback.exit();
            // The slot is for running handlers: the finishing ack (a round trip for a double
            // ack) goes on while the next handler runs; the delivery still counts against the
            // pull limit.
            drop(slot);
            match run {
                Run::Done(r) => break r,
                Run::Overloaded(retry_after) => {
                    pushbacks += 1;
                    let delay =
                        retry_after.unwrap_or_else(|| self.settings.backoff.delay(pushbacks));
                    self.pushback.pushed(self.capacity(), now_unix_ms());
                    self.event(WorkerEvent::PushedBack {
                        msg_id: valid.msg_id.to_string(),
                        pushbacks,
                        retry_in: delay,
                    });
                    if let Some(rest) = Box::pin(self.hold_for_retry(&msg, delay)).await {
                        // §7.6: shutdown NAKs a held message at once with the rest of its delay.
                        self.nak(&msg, rest).await;
                        return;
                    }
                }
            }
        };
        // §7.6: rejections are the message's fault, not the handler's.
        match &result {
            HandlerResult::Success => self.circuit_record(false, probe).await,
            HandlerResult::Fail(_) => self.circuit_record(true, probe).await,
            HandlerResult::Reject(_) => {}
        }
        match after_handler(&self.settings, k, &result) {
            Final::Ack => {
                self.cache.lock().unwrap().insert(&id_key(valid.msg_id));
                // §9: the record before the finishing ack.
                if self.store.is_some() {
                    Box::pin(self.record_processed(&msg, valid.msg_id)).await;
                }
                // Sent plain from the ack queue; the double ack before the next mint confirms
                // it (§5.4). Its strings are copied only for a listener.
                let event = self.cfg.listener.is_some().then(|| WorkerEvent::Processed {
                    msg_id: valid.msg_id.to_string(),
                    attempt: k,
                    trace_id: tp().trace_id.clone(),
                    type_name: valid.type_name.to_string(),
                    version: valid.version,
                });
                self.finish(super::ack::Finish { msg, event });
            }
            Final::DeadLetter { reason, error } => {
                self.dead_letter(&msg, stream_seq, k, Some(valid.msg_id), reason, &error)
                    .await
            }
            Final::NakRetry => {
                let delay = self.settings.backoff.delay(k);
                if self.nak(&msg, delay).await {
                    self.event(WorkerEvent::Nak {
                        msg_id: Some(valid.msg_id.to_string()),
                        attempt: k,
                        delay,
                        reason: NakReason::Retry,
                    });
                }
            }
        }
    }

    /// Runs a handler with a timeout and +WPI every ack wait / 3 (§7.1).
    async fn run_handler(
        &self,
        msg: &Message,
        body: futures_util::future::BoxFuture<'static, crate::handler::HandlerResult>,
    ) -> Run {
        let body = async {
            // A panicking handler fails this attempt (retried, then dead-lettered) instead of
            // taking its delivery slot with it.
            let body = std::panic::AssertUnwindSafe(body);
            Run::Done(match futures_util::FutureExt::catch_unwind(body).await {
                Err(_) => HandlerResult::Fail("the handler panicked".into()),
                Ok(Ok(())) => HandlerResult::Success,
                Ok(Err(crate::handler::HandlerError::Reject(r))) => HandlerResult::Reject(r),
                Ok(Err(crate::handler::HandlerError::Retry(r))) => HandlerResult::Fail(r),
                Ok(Err(crate::handler::HandlerError::Overloaded { retry_after })) => {
                    return Run::Overloaded(retry_after)
                }
            })
        };
        tokio::pin!(body);
        // A handler that finishes at its first poll needs no timer.
        if let std::task::Poll::Ready(r) = futures_util::poll!(&mut body) {
            return r;
        }
        // Boxed: the timer and the +WPI would otherwise make every delivery's future larger
        // (its task is allocated and copied per delivery), and most handlers need neither.
        Box::pin(self.run_timed(msg, body)).await
    }

    /// The rest of a handler run that did not finish at its first poll, under its deadline,
    /// with +WPI every ack wait / 3.
    async fn run_timed(
        &self,
        msg: &Message,
        mut body: std::pin::Pin<&mut impl std::future::Future<Output = Run>>,
    ) -> Run {
        // One timer for both the deadline and the next +WPI.
        let start = tokio::time::Instant::now();
        let deadline = start + self.cfg.handler_timeout;
        let progress_every = self.ack_wait / 3;
        let mut next_progress = start + progress_every;
        let timer = tokio::time::sleep_until(deadline.min(next_progress));
        tokio::pin!(timer);
        loop {
            tokio::select! {
                r = body.as_mut() => return r,
                _ = &mut timer => {
                    if tokio::time::Instant::now() >= deadline {
                        return Run::Done(HandlerResult::Fail(format!(
                            "handler timed out after {:?}",
                            self.cfg.handler_timeout
                        )));
                    }
                    if let Err(e) = msg.ack_with(AckKind::Progress).await {
                        log!("+WPI: {e}");
                    }
                    next_progress += progress_every;
                    timer.as_mut().reset(deadline.min(next_progress));
                }
            }
        }
    }
}
