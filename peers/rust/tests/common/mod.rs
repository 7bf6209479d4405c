//! The test harness shared by the integration tests: a real nats-server on a random loopback
//! port with JetStream in a temporary directory (from `NATS_SERVER_BIN` or
//! `scripts/setup --print-path`), the §2 topology, and ledger readings.
#![allow(dead_code)]

use async_nats::jetstream;
use futures_util::StreamExt;
use prost::Message as _;
use sluice::__internal::names;
use sluice::__internal::proto::{CreditToken, MintReason};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ harness

pub struct Server {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let setup = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/setup");
    let out = Command::new(&setup)
        .arg("--print-path")
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", setup.display()));
    assert!(
        out.status.success(),
        "{} --print-path failed",
        setup.display()
    );
    let path = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(!path.is_empty(), "scripts/setup printed no path");
    PathBuf::from(path)
}

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

pub async fn start_server() -> Server {
    // A free port can be taken by another test's server between the probe and the start; a
    // server that exits at once is started again on a new port (at most three times).
    for attempt in 1..=3 {
        if let Some(s) = try_start_server().await {
            return s;
        }
        eprintln!("nats-server exited at start (attempt {attempt}); starting it on another port");
    }
    panic!("nats-server exited at start three times");
}

async fn try_start_server() -> Option<Server> {
    let bin = nats_server_bin();
    let dir = std::env::temp_dir().join(unique("sluice-rust-it-"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut server = Server {
        child,
        dir,
        url: format!("nats://127.0.0.1:{port}"),
    };
    // Generous: the whole suite's servers and builds share two cores.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        if let Ok(Some(_)) = server.child.try_wait() {
            return None;
        }
        if let Ok(c) = async_nats::connect(&server.url).await {
            // A raw account-info request: any reply means JetStream is up. (Parsing the reply
            // with query_account() fails on nats-server 2.9, whose account info has fewer fields.)
            if c.request("$JS.API.INFO", "".into()).await.is_ok() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nats-server did not come up on {}",
            server.url
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(server)
}

/// Creates the §2 topology for queue `q`.
pub async fn provision(js: &jetstream::Context, q: &str) {
    provision_with_ack_wait(js, q, Duration::from_secs(30)).await
}

/// The §2 topology with the worker consumer's ack wait `ack_wait`, through the library's
/// [`sluice::provision`].
pub async fn provision_with_ack_wait(js: &jetstream::Context, q: &str, ack_wait: Duration) {
    sluice::provision(js, q, &sluice::QueueConfig::default().ack_wait(ack_wait))
        .await
        .unwrap_or_else(|e| panic!("provisioning {q}: {e}"));
}

pub async fn mint(js: &jetstream::Context, q: &str, tokens: &[u32]) {
    for &n in tokens {
        let body = CreditToken {
            credits: n,
            minted_by: "test".into(),
            minted_unix_ms: 0,
            reason: MintReason::Bootstrap as i32,
        };
        js.publish(names::credit_subject(q, n), body.encode_to_vec().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// T: credits stored in the credit stream for `q` (§5.3).
pub async fn stored_credits(js: &jetstream::Context, q: &str) -> u64 {
    let s = js.get_stream(names::CREDIT_STREAM).await.unwrap();
    let mut subjects = s.info_with_subjects(names::credit_filter(q)).await.unwrap();
    let mut total = 0u64;
    while let Some(item) = subjects.next().await {
        let (subject, count) = item.unwrap();
        total += names::token_credits(&subject).unwrap() as u64 * count as u64;
    }
    total
}

pub async fn backlog(js: &jetstream::Context, q: &str) -> u64 {
    let mut s = js.get_stream(names::work_stream(q)).await.unwrap();
    s.info().await.unwrap().state.messages
}

pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ------------------------------------------------------------------ running workers

/// A worker running on a task of its own until [`Running::stop`].
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<sluice::Result<u64>>,
}

/// Runs `worker` on a task of its own, as a service would.
pub fn run(worker: sluice::Worker) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

impl Running {
    /// Stops the worker (it drains, §7.6) and returns how many messages its handlers processed.
    /// Panics when the worker failed.
    pub async fn stop(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap()
    }
}

/// Waits until worker `id` of queue `q` has an advert in the capacity bucket (`want` true) or
/// has none (`want` false).
pub async fn advertised(js: &jetstream::Context, q: &str, id: &str, want: bool) {
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let key = names::capacity_key(q, id);
    let what = format!("worker {id} of {q} advertised: {want}");
    eventually(&what, Duration::from_secs(10), || {
        let (cap, key) = (cap.clone(), key.clone());
        async move { matches!(cap.get(key).await, Ok(Some(_))) == want }
    })
    .await;
}

/// A worker `id` on queue `q` handling `acme.Job` (JSON `u64`) at `versions` with a no-op handler, no
/// reconciler, running.
pub async fn run_worker(
    client: &async_nats::Client,
    q: &str,
    id: &str,
    versions: std::ops::RangeInclusive<u32>,
) -> Running {
    let worker = sluice::Worker::builder(client.clone(), q)
        .worker_id(id)
        .reconciler(None)
        .handle(
            "acme.Job",
            versions,
            sluice::Json::<u64>::new(),
            |_n: u64, _| async { Ok(()) },
        )
        .build()
        .await
        .unwrap();
    run(worker)
}
