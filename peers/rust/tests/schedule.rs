//! The rules of a schedule entry (PROTOCOL.md §13.1–§13.3), with the values the Java library and
//! the Go peer are tested against.

use sluice::__internal::schedule::{self, MAX_DELAY_MS};
use sluice::__internal::schedule_role::{entry, ScheduleConfig};
use sluice::__internal::trace::TraceParent;
use std::time::Duration;

#[test]
fn ids_become_one_base64url_subject_token_without_padding() {
    // Java ScheduleRulesTest and Go schedule_test.go: the same id, the same subject.
    assert_eq!(
        schedule::subject("orders", "a.b*>"),
        "sluice.sched.orders.YS5iKj4"
    );
    // RFC 4648 §5: '-' and '_' instead of '+' and '/', and no '=' (">?>" is "Pj8-" in base64url).
    assert_eq!(schedule::subject("q", ">?>"), "sluice.sched.q.Pj8-");
    assert_eq!(
        schedule::subject("q", "\u{ff}\u{ff}"),
        "sluice.sched.q.w7_Dvw"
    );
    assert_eq!(schedule::subject("q", "m1"), "sluice.sched.q.bTE");
    assert_eq!(schedule::stream("orders"), "SLUICE_SCHED_orders");
    assert_eq!(schedule::entry_msg_id("m1", 5000), "sched-5000-m1");
}

#[test]
fn a_past_time_is_due_now_and_more_than_366_days_ahead_is_refused() {
    assert_eq!(schedule::due_at(5, 1_000), Some(1_000));
    assert_eq!(schedule::due_at(2_000, 1_000), Some(2_000));
    assert_eq!(MAX_DELAY_MS, 366 * 86_400_000);
    assert_eq!(
        schedule::due_at(1_000 + MAX_DELAY_MS, 1_000),
        Some(1_000 + MAX_DELAY_MS)
    );
    assert_eq!(schedule::due_at(1_000 + MAX_DELAY_MS + 1, 1_000), None);
    assert_eq!(schedule::due_at(i64::MAX, i64::MIN), None);
}

#[test]
fn a_one_shot_entry_carries_the_work_headers_and_the_scheduling_headers() {
    let cfg = ScheduleConfig {
        server: "nats://127.0.0.1:1".into(),
        queue: "orders".into(),
        producer_id: "p1".into(),
        count: 1,
        type_name: "t.Job".into(),
        version: 2,
        start: 0,
        delay_ms: 1_000,
        store_timeout: Duration::from_secs(1),
    };
    let tp = TraceParent {
        trace_id: "a".repeat(32),
        parent_id: "b".repeat(16),
        flags: "01".into(),
    };
    let h = entry(&cfg, "p1-7", 5_000, 4_000, &tp);
    let get = |name: &str| h.get(name).map(|v| v.as_str().to_string());
    let expected = [
        ("Nats-Msg-Id", "sched-5000-p1-7".to_string()),
        ("Sluice-Protocol", "1".into()),
        ("Sluice-Schedule-Id", "p1-7".into()),
        ("Sluice-Due-At", "5000".into()),
        ("Sluice-Type", "t.Job".into()),
        ("Sluice-Type-Version", "2".into()),
        ("Content-Type", "application/json".into()),
        (
            "traceparent",
            format!("00-{}-{}-01", "a".repeat(32), "b".repeat(16)),
        ),
        ("Sluice-Producer", "p1".into()),
        ("Sluice-Sent-At", "4000".into()),
    ];
    for (name, value) in &expected {
        assert_eq!(get(name).as_deref(), Some(value.as_str()), "header {name}");
    }
    // A one-shot entry has no cron headers, and nothing else.
    assert_eq!(get(schedule::CRON), None);
    assert_eq!(get(schedule::CRON_ZONE), None);
    assert_eq!(h.iter().count(), expected.len());
}
