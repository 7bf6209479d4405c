//! One send (§6): headers, the size (§2.2) and version (§4.3) checks, then the publish with
//! its retries under one credit.

use super::Engine;
use crate::error::Error;
use crate::headers as h;
use crate::jsutil::{self, is_hard_limit};
use crate::producer_api::{OutgoingMessage, SendReceipt};
use crate::{log, names, now_unix_ms, size, trace, PROTOCOL_VERSION};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::HeaderMap;
use std::time::{Duration, Instant};
use tracing::Instrument;

impl Engine {
    /// Sends one message (§6): waits for a credit, publishes, and returns once the server
    /// stored it.
    pub(crate) async fn send(&self, msg: OutgoingMessage) -> Result<SendReceipt, Error> {
        if self.st.lock().unwrap().closing {
            return Err(Error::Closed);
        }
        let msg_id = msg.msg_id.clone().unwrap_or_else(|| {
            format!(
                "{}-{}-{}",
                self.cfg.producer_id,
                self.nonce,
                self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
            )
        });
        let tp = msg.traceparent.clone().unwrap_or_else(trace::new_unsampled_trace);
        let payload = msg.payload.clone();
        let mut headers = HeaderMap::new();
        headers.insert(h::MSG_ID, msg_id.as_str());
        headers.insert(h::PROTOCOL, PROTOCOL_VERSION.to_string());
        headers.insert(h::TYPE, msg.type_name.as_str());
        headers.insert(h::TYPE_VERSION, msg.version.to_string());
        headers.insert(h::CONTENT_TYPE, msg.content_type.as_str());
        headers.insert(h::TRACEPARENT, tp.header());
        headers.insert(h::PRODUCER, self.cfg.producer_id.as_str());
        headers.insert(h::SENT_AT, now_unix_ms().to_string());
        if let Some(k) = &msg.fairness_key {
            // §15.3 step 1: refused before a credit is reserved; never sent empty.
            if !crate::fairness::valid_key(k) {
                return Err(Error::InvalidFairnessKey {
                    msg_id,
                    key: k.clone(),
                });
            }
            headers.insert(crate::fairness::HEADER, k.as_str());
        }
        // §2.2: sized in place; the headers are copied out only to word the refusal.
        let limit = [self.max_msg_size, self.max_payload]
            .into_iter()
            .filter(|l| *l > 0)
            .min()
            .map_or(u64::MAX, |l| l as u64);
        if jsutil::header_map_size(&headers).saturating_add(payload.len() as u64) > limit {
            size::check(
                &jsutil::header_pairs(Some(&headers)),
                payload.len() as u64,
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
        self.publish(msg_id, tp, headers, payload)
            .instrument(span)
            .await
    }

    pub(super) async fn publish(
        &self,
        msg_id: String,
        tp: crate::trace::TraceParent,
        mut headers: HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<SendReceipt, Error> {
        let t = headers
            .get(h::TYPE)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let v: u32 = headers
            .get(h::TYPE_VERSION)
            .and_then(|v| v.as_str().parse().ok())
            .unwrap_or(1);
        let key = headers
            .get(crate::fairness::HEADER)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let token = self.acquire(&msg_id, &t, v, &key).await?;
        // Sluice-Sent-At: when the first publish attempt starts.
        headers.insert(h::SENT_AT, now_unix_ms().to_string());
        let subject = names::work_subject(&self.cfg.queue);
        // The retry horizon of one send: its acquire timeout, at least 10 s, from the
        // reservation; each attempt waits for its PubAck up to the publish timeout (the context's).
        let horizon = self.cfg.acquire_timeout.max(Duration::from_secs(10));
        let deadline = Instant::now() + horizon;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let r = match self
                .js
                .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                .await
            {
                Ok(f) => f.await,
                Err(e) => Err(e),
            };
            // Why this attempt failed, when it is not the last word.
            let failure = match r {
                Ok(ack) => {
                    // A duplicate on the first attempt stored nothing new: refund (§6 step 4).
                    self.finish(token, ack.duplicate && attempt == 1, true, &key);
                    return Ok(SendReceipt {
                        msg_id,
                        stream_sequence: ack.sequence,
                        duplicate: ack.duplicate,
                        trace: tp,
                    });
                }
                Err(e) if is_hard_limit(&e) => {
                    // Back-pressure: wait and retry, keeping the reserved credit.
                    self.st.lock().unwrap().hard_limit = true;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    "stream at its hard limit".to_string()
                }
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                    self.finish(token, true, false, &key);
                    return Err(Error::NotProvisioned {
                        what: format!("a stream for {subject}"),
                        cause: format!("publish of {msg_id}: no responders"),
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
            if Instant::now() >= deadline {
                // Not a definite failure: the reservation stays spent.
                self.finish(token, false, false, &key);
                return Err(Error::Publish {
                    msg_id,
                    reason: format!(
                        "{failure} ({attempt} attempts, retried for {} ms)",
                        horizon.as_millis()
                    ),
                });
            }
        }
    }
}
