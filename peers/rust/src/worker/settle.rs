//! How the worker settles a delivery other than by ack: NAK with a delay, and dead-lettering
//! (§8.2) with its health report (§8.4).

use super::Engine;
use crate::dlq::{record_headers, reduce_record, RecordInfo};
use crate::error::DeadLetterReason;
use crate::jsutil::{header_map, header_pairs};
use crate::worker_api::WorkerEvent;
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::{AckKind, Message};
use futures_util::future::BoxFuture;
use std::time::Duration;

// `nak` and `dead_letter` return boxed futures: a delivery's own future (spawned for every
// delivery, copied into its task) then holds a pointer where it would hold their whole state,
// which most deliveries never need.
impl Engine {
    pub(super) fn nak<'a>(&'a self, msg: &'a Message, delay: Duration) -> BoxFuture<'a, bool> {
        Box::pin(self.nak_now(msg, delay))
    }

    async fn nak_now(&self, msg: &Message, delay: Duration) -> bool {
        match msg.ack_with(AckKind::Nak(Some(delay))).await {
            Ok(()) => true,
            Err(e) => {
                log!("nak: {e}");
                false
            }
        }
    }

    /// Publishes the record, awaits its PubAck, then terms the message (§8.2).
    pub(super) fn dead_letter<'a>(
        &'a self,
        msg: &'a Message,
        stream_seq: u64,
        k: u64,
        msg_id: Option<&'a str>,
        reason: &'a str,
        error: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(self.dead_letter_now(msg, stream_seq, k, msg_id, reason, error))
    }

    async fn dead_letter_now(
        &self,
        msg: &Message,
        stream_seq: u64,
        k: u64,
        msg_id: Option<&str>,
        reason: &str,
        error: &str,
    ) {
        let stream = names::work_stream(&self.cfg.queue);
        let info = RecordInfo {
            stream: &stream,
            stream_seq,
            subject: msg.subject.as_str(),
            delivery_count: k,
            worker_id: &self.cfg.worker_id,
            at_unix_ms: now_unix_ms(),
            reason,
            error,
        };
        let record = record_headers(&header_pairs(msg.headers.as_ref()), &info);
        // A record over the server's limits would be refused on every attempt: cut it (§8.4).
        let max_payload = self.js.client().server_info().max_payload as u64;
        let fitted = match reduce_record(&record, &msg.payload, max_payload) {
            Ok(f) => f,
            Err(e) => {
                log!("dead-letter record for seq {stream_seq} cannot be written ({e})");
                self.nak(msg, Duration::from_secs(2)).await;
                return;
            }
        };
        let published = match self
            .js
            .publish_with_headers(
                names::dlq_subject(&self.cfg.queue),
                header_map(&fitted.headers),
                fitted.payload.into(),
            )
            .await
        {
            Ok(f) => f.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = published {
            log!("dead-letter record for seq {stream_seq} not stored ({e}); retrying later");
            self.set_problem(
                &self.dlq_problem,
                &format!(
                "dead-letter records cannot be written to SLUICE_DLQ ({e}): check that the stream \
                 exists and that this worker may publish to {}",
                names::dlq_subject(&self.cfg.queue)
            ),
            );
            self.nak(msg, Duration::from_secs(1)).await;
            return;
        }
        self.set_problem(&self.dlq_problem, "");
        match msg.double_ack_with(AckKind::Term).await {
            Ok(()) => {
                self.owe(1);
                self.event(WorkerEvent::DeadLettered {
                    msg_id: msg_id.map(str::to_string),
                    reason: DeadLetterReason::from_code(reason)
                        .unwrap_or(DeadLetterReason::Rejected),
                    attempt: k,
                });
            }
            Err(e) => log!("+TERM of seq {stream_seq} not confirmed: {e}"),
        }
    }
}
