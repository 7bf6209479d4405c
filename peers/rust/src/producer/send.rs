//! One send (§6): headers, the size (§2.2) and version (§4.3) checks, then the publish with
//! its retries under one credit.

use super::headers::SendHeaders;
use super::Engine;
use crate::error::Error;
use crate::jsutil::{self, is_hard_limit};
use crate::producer_api::{OutgoingMessage, SendReceipt};
use crate::{log, names, now_unix_ms, size, trace};
use async_nats::jetstream::context::PublishErrorKind;
use std::time::{Duration, Instant};
use tracing::Instrument;

impl Engine {
    /// Sends one message (§6): waits for a credit, publishes, and returns once the server
    /// stored it.
    pub(crate) async fn send(&self, mut msg: OutgoingMessage) -> Result<SendReceipt, Error> {
        if self.st.lock().unwrap().closing {
            return Err(Error::Closed);
        }
        let msg_id = msg.msg_id.take().unwrap_or_else(|| {
            let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            // `<producer id>-<nonce>-<n>` in one buffer of the right size.
            let mut id = String::with_capacity(self.cfg.producer_id.len() + self.nonce.len() + 22);
            id.push_str(&self.cfg.producer_id);
            id.push('-');
            id.push_str(&self.nonce);
            id.push('-');
            crate::decimal::push(&mut id, n);
            id
        });
        let tp = msg
            .traceparent
            .take()
            .unwrap_or_else(trace::new_unsampled_trace);
        if let Some(k) = &msg.fairness_key {
            // §15.3 step 1: refused before a credit is reserved; never sent empty.
            if !crate::fairness::valid_key(k) {
                return Err(Error::InvalidFairnessKey {
                    msg_id,
                    key: k.clone(),
                });
            }
        }
        let traceparent = tp.header();
        let headers = SendHeaders {
            msg_id: &msg_id,
            protocol: &self.protocol,
            type_name: &msg.type_name,
            version: msg.version,
            content_type: &msg.content_type,
            traceparent: &traceparent,
            producer: &self.cfg.producer_id,
            fairness_key: msg.fairness_key.as_deref(),
        };
        // §2.2: sized without building the block; it is built only to word the refusal.
        let limit = [self.max_msg_size, self.max_payload]
            .into_iter()
            .filter(|l| *l > 0)
            .min()
            .map_or(u64::MAX, |l| l as u64);
        let now = now_unix_ms();
        if headers.size(now).saturating_add(msg.payload.len() as u64) > limit {
            size::check(
                &headers.to_pairs(now),
                msg.payload.len() as u64,
                &names::work_stream(&self.cfg.queue),
                self.max_msg_size,
                self.max_payload,
            )
            .map_err(|e| Error::MessageTooLarge {
                msg_id: msg_id.clone(),
                reason: e.to_string(),
            })?;
        }
        self.check_version(&msg.type_name, msg.version).await?;
        let span = tracing::info_span!(
            target: "sluice",
            "sluice.send",
            queue = %self.cfg.queue,
            msg_id = %msg_id,
            r#type = %msg.type_name,
            version = msg.version,
            trace_id = %tp.trace_id,
            span_id = %tp.parent_id,
        );
        let receipt = self
            .publish(&headers, &msg.payload)
            .instrument(span)
            .await?;
        Ok(SendReceipt {
            msg_id,
            stream_sequence: receipt.0,
            duplicate: receipt.1,
            trace: tp,
        })
    }

    /// Reserves a credit and publishes (§6 steps 4 and 5), retrying with the same id; the
    /// stream sequence and whether the server called it a duplicate.
    pub(super) async fn publish(
        &self,
        headers: &SendHeaders<'_>,
        payload: &bytes::Bytes,
    ) -> Result<(u64, bool), Error> {
        let msg_id = headers.msg_id;
        let (t, v) = (headers.type_name, headers.version);
        let key = headers.fairness_key.unwrap_or_default();
        let token = self.acquire(msg_id, t, v, key).await?;
        // Sluice-Sent-At: when the first publish attempt starts.
        let sent_at = now_unix_ms();
        let subject = &self.work_subject;
        let shared = self.shared_headers.get(headers);
        // The retry horizon of one send: its acquire timeout, at least 10 s, from the
        // reservation; each attempt waits for its PubAck up to the publish timeout (the context's).
        let horizon = self.cfg.acquire_timeout.max(Duration::from_secs(10));
        let deadline = Instant::now() + horizon;
        let mut attempt = 0u32;
        // Attempts that no stream answered: when every attempt was one, nothing was stored.
        let mut unanswered = 0u32;
        loop {
            attempt += 1;
            let r = match self
                .js
                .publish_with_headers(
                    subject.clone(),
                    headers.map_from(&shared.map, sent_at),
                    payload.clone(),
                )
                .await
            {
                Ok(f) => f.await,
                Err(e) => Err(e),
            };
            // Why this attempt failed, when it is not the last word.
            let failure = match r {
                Ok(ack) => {
                    // A duplicate on the first attempt stored nothing new: refund (§6 step 4).
                    self.finish(token, ack.duplicate && attempt == 1, true, key);
                    return Ok((ack.sequence, ack.duplicate));
                }
                Err(e) if is_hard_limit(&e) => {
                    // Back-pressure: wait and retry, keeping the reserved credit.
                    self.st.lock().unwrap().hard_limit = true;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    "stream at its hard limit".to_string()
                }
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                    // No stream answered (NATS "no responders"): nothing was stored. Transient
                    // (§6 step 5): a clustered stream answers nobody while its leader is being
                    // elected. A queue whose stream is gone ends at the horizon, below.
                    unanswered += 1;
                    if unanswered == 1 {
                        log!("publish of {msg_id}: no stream answered; retrying with the same id");
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    "no stream answered (no responders)".to_string()
                }
                Err(e) if jsutil::publish_error_code(&e).is_some() => {
                    // A JetStream error in the PubAck is the stream's answer: it refused this
                    // message (the hard limit aside, above), so nothing was stored. Refund the
                    // credit and fail at once (§6 step 4), as the Java and Go producers do.
                    self.finish(token, true, false, key);
                    return Err(Error::Publish {
                        msg_id: msg_id.to_string(),
                        reason: format!("the work stream refused the message: {e}"),
                    });
                }
                Err(e) if e.kind() == PublishErrorKind::TimedOut => {
                    let why = format!(
                        "no PubAck within the publish timeout of {} ms",
                        self.cfg.publish_timeout.as_millis()
                    );
                    log!("publish of {msg_id}: {why}; retrying with the same id");
                    why
                }
                Err(e) => {
                    log!("publish of {msg_id}: {e}; retrying with the same id");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    e.to_string()
                }
            };
            if Instant::now() >= deadline && unanswered == attempt {
                // No attempt reached a stream: a definite failure, the credit goes back.
                self.finish(token, true, false, key);
                return Err(Error::NotProvisioned {
                    what: format!("a stream for {subject}"),
                    cause: format!(
                        "publish of {msg_id}: no stream answered in {attempt} attempts over {} ms \
                         (is the queue provisioned? a clustered stream also answers nobody while \
                         its leader is being elected)",
                        horizon.as_millis()
                    ),
                });
            }
            if Instant::now() >= deadline {
                // Not a definite failure: the reservation stays spent.
                self.finish(token, false, false, key);
                return Err(Error::Publish {
                    msg_id: msg_id.to_string(),
                    reason: format!(
                        "{failure} ({attempt} attempts, retried for {} ms)",
                        horizon.as_millis()
                    ),
                });
            }
        }
    }
}
