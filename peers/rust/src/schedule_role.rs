//! The `schedule` role (§13.3): stores one-shot schedules in the queue's schedule stream. It takes
//! no credit; the process that fires a schedule (§13.4) spends one when the message is due.

use crate::adverts::AdvertsView;
use crate::events::emit;
use crate::headers as h;
use crate::producer::{handles, version_error};
use crate::{jsutil, log, names, now_unix_ms, schedule, trace, LANGUAGE, PROTOCOL_VERSION};
use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::HeaderMap;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub server: String,
    pub queue: String,
    pub producer_id: String,
    pub count: u64,
    pub type_name: String,
    pub version: u32,
    pub start: u64,
    /// From storing an entry to its due time; zero or negative is due at once.
    pub delay_ms: i64,
    /// How long one entry may take to be stored, retries included.
    pub store_timeout: Duration,
}

/// §4.3 for one schedule: the live adverts from the followed view (waiting for its initial
/// values at most `wait`).
async fn check(
    adverts: &AdvertsView,
    wait: Duration,
    type_name: &str,
    version: u32,
) -> Result<(), String> {
    let live = adverts.live(wait).await;
    if live.is_empty() || handles(&live, type_name, version) {
        Ok(())
    } else {
        Err(version_error(&live, type_name, version).to_string())
    }
}

pub async fn run(cfg: ScheduleConfig) -> Result<(), String> {
    let client = jsutil::connect(
        &cfg.server,
        &format!("sluice-rust-scheduler-{}", cfg.producer_id),
    )
    .await
    .map_err(|e| e.to_string())?;
    let js = jetstream::new(client.clone());
    jsutil::require_stream(&js, &names::work_stream(&cfg.queue))
        .await
        .map_err(|e| e.to_string())?;
    jsutil::require_stream(&js, &schedule::stream(&cfg.queue))
        .await
        .map_err(|e| {
            format!("{e} (a queue provisioned before revision 1.2 needs provisioning again)")
        })?;
    let kv_cap = jsutil::require_kv(&js, names::CAPACITY_BUCKET)
        .await
        .map_err(|e| e.to_string())?;
    // One watch for the role's lifetime (§4.3 is applied per schedule).
    let adverts = AdvertsView::new(client.clone(), kv_cap, cfg.queue.clone());
    let _following = adverts.follow();
    emit(json!({"event": "ready", "role": "producer", "id": cfg.producer_id, "lang": LANGUAGE}));
    let mut stored = 0u64;
    for seq in cfg.start..cfg.start + cfg.count {
        check(&adverts, cfg.store_timeout, &cfg.type_name, cfg.version).await?;
        let now = now_unix_ms();
        let due = schedule::due_at(now.saturating_add(cfg.delay_ms), now).ok_or_else(|| {
            "a message can be scheduled at most 366 days ahead (lower --delay-ms)".to_string()
        })?;
        let msg_id = format!("{}-{}", cfg.producer_id, seq);
        let tp = trace::new_trace();
        let stream_seq = store(
            &js,
            &cfg,
            &entry(&cfg, &msg_id, due, now, &tp),
            &msg_id,
            seq,
        )
        .await?;
        stored += 1;
        emit(
            json!({"event": "scheduled", "id": cfg.producer_id, "msg_id": msg_id, "seq": seq,
                    "trace_id": tp.trace_id, "due_unix_ms": due, "stream_seq": stream_seq}),
        );
    }
    let _ = client.flush().await;
    emit(json!({"event": "done", "id": cfg.producer_id, "sent": stored}));
    Ok(())
}

/// The entry's headers (§13.2): the work message's §3 headers as the producer writes them, the
/// scheduling headers, and the one-shot entry id. `traceparent` is the scheduling call's span.
pub fn entry(
    cfg: &ScheduleConfig,
    msg_id: &str,
    due_ms: i64,
    now_ms: i64,
    tp: &trace::TraceParent,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(h::MSG_ID, schedule::entry_msg_id(msg_id, due_ms));
    headers.insert(h::PROTOCOL, PROTOCOL_VERSION.to_string());
    headers.insert(schedule::SCHEDULE_ID, msg_id);
    headers.insert(schedule::DUE_AT, due_ms.to_string());
    headers.insert(h::TYPE, cfg.type_name.as_str());
    headers.insert(h::TYPE_VERSION, cfg.version.to_string());
    headers.insert(h::CONTENT_TYPE, "application/json");
    headers.insert(h::TRACEPARENT, tp.header());
    headers.insert(h::PRODUCER, cfg.producer_id.as_str());
    headers.insert(h::SENT_AT, now_ms.to_string());
    headers
}

/// Publishes one entry and waits for its PubAck (§13.3 step 3), retrying with the same entry id
/// (a retried write is dropped by the duplicate window). Returns its schedule-stream sequence.
async fn store(
    js: &jetstream::Context,
    cfg: &ScheduleConfig,
    headers: &HeaderMap,
    msg_id: &str,
    seq: u64,
) -> Result<u64, String> {
    let subject = schedule::subject(&cfg.queue, msg_id);
    let payload: bytes::Bytes = json!({"seq": seq, "behavior": "ok"}).to_string().into();
    let deadline = Instant::now() + cfg.store_timeout;
    loop {
        let r = match js
            .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
            .await
        {
            Ok(f) => f.await,
            Err(e) => Err(e),
        };
        match r {
            Ok(ack) => return Ok(ack.sequence),
            Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                return Err(format!(
                    "storing schedule {msg_id}: no stream for {subject}: {}",
                    jsutil::PROVISION_HINT
                ));
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "storing schedule {msg_id} failed for {} ms: {e}",
                    cfg.store_timeout.as_millis()
                ));
            }
            Err(e) => {
                log!("storing schedule {msg_id}: {e}; retrying with the same entry id");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
