//! `sluice-peer-rust`: the peer command-line contract of peers/README.md.

use serde_json::json;
use sluice_peer::cli::{parse_handles, Args};
use sluice_peer::events::emit;
use sluice_peer::names;
use sluice_peer::producer::{self, ProducerConfig};
use sluice_peer::schedule_role::{self, ScheduleConfig};
use sluice_peer::worker::{self, WorkerConfig};
use std::time::Duration;

const USAGE: &str = "usage:
  sluice-peer-rust worker  --server URL --queue Q --worker-id ID [--concurrency N=4] [--prefetch N=4]
                           [--work-ms N=0] [--handles TYPE@MIN-MAX[,...]=sluice.conformance.Work@1-1]
                           [--max-attempts N=3] [--backoff-initial-ms N=100] [--grace-ms N=3000]
                           [--grace-delay-ms N=500] [--token-batch N=8] [--capacity N] [--overloaded-for-ms N=0]
  sluice-peer-rust produce --server URL --queue Q --producer-id ID --count N [--type T=sluice.conformance.Work]
                           [--version V=1] [--start N=0] [--behavior ok|poison|fail-once=ok]
                           [--acquire-timeout-ms N=30000] [--fairness-key K]
  sluice-peer-rust schedule --server URL --queue Q --producer-id ID --count N [--delay-ms D=1000]
                           [--type T=sluice.conformance.Work] [--version V=1] [--start N=0]";

fn fail(message: &str) -> ! {
    let line = message.replace('\n', " ");
    eprintln!("{line}");
    emit(json!({"event": "error", "message": line}));
    std::process::exit(1);
}

fn worker_config(args: &[String]) -> Result<WorkerConfig, String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "worker-id",
            "concurrency",
            "prefetch",
            "work-ms",
            "handles",
            "max-attempts",
            "backoff-initial-ms",
            "grace-ms",
            "grace-delay-ms",
            "token-batch",
            "capacity",
            "overloaded-for-ms", // §15.1
        ],
    )?;
    let queue = a.required("queue")?;
    let worker_id = a.required("worker-id")?;
    if !names::valid_queue(&queue) {
        return Err(format!("--queue {queue:?} is not a valid queue name"));
    }
    if !names::valid_id(&worker_id) {
        return Err(format!(
            "--worker-id {worker_id:?} is not in the id charset"
        ));
    }
    let token_batch: u32 = a.num("token-batch", 8)?;
    if !token_batch.is_power_of_two() || token_batch > 1 << 20 {
        return Err("--token-batch must be a power of two up to 2^20".into());
    }
    let concurrency: usize = a.num("concurrency", 4)?;
    if concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let prefetch: usize = a.num("prefetch", 4)?;
    let capacity: Option<u32> = a.opt_num("capacity")?;
    // b' (§5.4): a worker whose capacity is below the batch could never owe a whole batch.
    let token_batch = sluice_peer::credits::effective_batch(
        token_batch,
        capacity.unwrap_or((concurrency + prefetch) as u32),
    );
    let max_attempts: u64 = a.num("max-attempts", 3)?;
    if max_attempts == 0 {
        return Err("--max-attempts must be at least 1".into());
    }
    Ok(WorkerConfig {
        server: a.required("server")?,
        queue,
        worker_id,
        concurrency,
        prefetch,
        work_ms: a.num("work-ms", 0)?,
        handles: parse_handles(&a.string("handles", "sluice.conformance.Work@1-1"))?,
        max_attempts,
        backoff_initial_ms: a.num("backoff-initial-ms", 100)?,
        grace_ms: a.num("grace-ms", 3000)?,
        grace_delay_ms: a.num("grace-delay-ms", 500)?,
        token_batch,
        capacity,
        overloaded_for: Duration::from_millis(a.num("overloaded-for-ms", 0)?), // §15.1
        heartbeat: Duration::from_secs(2),
        advert_ttl_ms: 6000,
        handler_timeout: Duration::from_secs(60),
        shutdown_deadline: Duration::from_secs(10),
        idempotency_window: Duration::from_secs(3600),
    })
}

fn producer_config(args: &[String]) -> Result<ProducerConfig, String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "producer-id",
            "count",
            "type",
            "version",
            "start",
            "behavior",
            "acquire-timeout-ms",
            "fairness-key",
        ],
    )?;
    let queue = a.required("queue")?;
    let producer_id = a.required("producer-id")?;
    if !names::valid_queue(&queue) {
        return Err(format!("--queue {queue:?} is not a valid queue name"));
    }
    if !names::valid_id(&producer_id) {
        return Err(format!(
            "--producer-id {producer_id:?} is not in the id charset"
        ));
    }
    let behavior = a.string("behavior", "ok");
    if !matches!(behavior.as_str(), "ok" | "poison" | "fail-once") {
        return Err(format!(
            "--behavior {behavior:?}: expected ok, poison or fail-once"
        ));
    }
    // §15.3: refused at once, as every producer refuses a bad key.
    let fairness_key = a.opt_string("fairness-key");
    if let Some(k) = &fairness_key {
        if !sluice_peer::fairness::valid_key(k) {
            return Err(format!(
                "--fairness-key {k:?} must be 1-64 characters of [A-Za-z0-9_.:@-]"
            ));
        }
    }
    let count: u64 = a
        .required("count")?
        .parse()
        .map_err(|_| "--count: not a number".to_string())?;
    let version: u32 = a.num("version", 1)?;
    if version == 0 || version > i32::MAX as u32 {
        return Err("--version must be in 1..=2147483647".into());
    }
    Ok(ProducerConfig {
        server: a.required("server")?,
        queue,
        producer_id,
        count,
        type_name: a.string("type", "sluice.conformance.Work"),
        version,
        start: a.num("start", 0)?,
        behavior,
        fairness_key,
        acquire_timeout: Duration::from_millis(a.num("acquire-timeout-ms", 30000)?),
        prefetch: 4,
        pull_expiry: Duration::from_secs(1),
        report_interval: Duration::from_millis(250),
        report_ttl_ms: 3000,
        idle_return: Duration::from_millis(500),
        // One send at a time, like the Go and Java peers: waiting sends are a producer's weight
        // in the credit pulls (§6 step 2), so the three producers are comparable.
        concurrency: 1,
    })
}

fn schedule_config(args: &[String]) -> Result<ScheduleConfig, String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "producer-id",
            "count",
            "delay-ms",
            "type",
            "version",
            "start",
        ],
    )?;
    let queue = a.required("queue")?;
    let producer_id = a.required("producer-id")?;
    if !names::valid_queue(&queue) {
        return Err(format!("--queue {queue:?} is not a valid queue name"));
    }
    if !names::valid_id(&producer_id) {
        return Err(format!(
            "--producer-id {producer_id:?} is not in the id charset"
        ));
    }
    let count: u64 = a
        .required("count")?
        .parse()
        .map_err(|_| "--count: not a number".to_string())?;
    let version: u32 = a.num("version", 1)?;
    if version == 0 || version > i32::MAX as u32 {
        return Err("--version must be in 1..=2147483647".into());
    }
    Ok(ScheduleConfig {
        server: a.required("server")?,
        queue,
        producer_id,
        count,
        type_name: a.string("type", "sluice.conformance.Work"),
        version,
        start: a.num("start", 0)?,
        delay_ms: a.num("delay-ms", 1000)?,
        store_timeout: Duration::from_secs(10),
    })
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first().cloned() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = match cmd.as_str() {
        "worker" => match worker_config(rest) {
            Ok(cfg) => rt.block_on(worker::run(cfg)),
            Err(e) => Err(format!("{e} (see --help)")),
        },
        "produce" => match producer_config(rest) {
            Ok(cfg) => rt.block_on(producer::run(cfg)),
            Err(e) => Err(format!("{e} (see --help)")),
        },
        "schedule" => match schedule_config(rest) {
            Ok(cfg) => rt.block_on(schedule_role::run(cfg)),
            Err(e) => Err(format!("{e} (see --help)")),
        },
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return;
        }
        other => Err(format!("unknown command {other:?} (see --help)")),
    };
    if let Err(e) = result {
        fail(&e);
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
