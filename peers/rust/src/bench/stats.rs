//! CPU time from `/proc/<pid>/stat`.

/// `utime + stime` of process `pid` (this process when `None`), in clock ticks; 0 when unreadable.
pub fn cpu_ticks(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0;
    };
    // Fields after the command name (which may contain spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// Clock ticks per second (`getconf CLK_TCK`); 100 on Linux.
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Prints B, T, held tokens and pull requests waiting on the credit consumer every 500 ms until
/// `stop` (set `SLUICE_BENCH_PROBE` to see where the credits are during a Sluice pass).
pub async fn probe(
    js: &async_nats::jetstream::Context,
    q: &str,
    stop: &std::sync::atomic::AtomicBool,
) {
    use futures_util::StreamExt;
    use sluice::__internal::names;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let b = match js.get_stream(names::work_stream(q)).await {
            Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        let mut t = 0u64;
        if let Ok(s) = js.get_stream(names::CREDIT_STREAM).await {
            if let Ok(mut subjects) = s.info_with_subjects(names::credit_filter(q)).await {
                while let Some(Ok((subject, count))) = subjects.next().await {
                    t += names::token_credits(&subject).unwrap_or(0) as u64 * count as u64;
                }
            }
            if let Ok(mut c) = s
                .get_consumer::<async_nats::jetstream::consumer::pull::Config>(
                    &names::credit_consumer(q),
                )
                .await
            {
                if let Ok(i) = c.info().await {
                    eprintln!(
                        "probe: B {b} T {t} held tokens {} pending {} waiting pulls {}",
                        i.num_ack_pending, i.num_pending, i.num_waiting
                    );
                }
            }
        }
    }
}

/// Context switches (voluntary + involuntary) of every thread of this process so far: a task
/// woken on an idle runtime thread costs one.
pub fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut n = 0;
    for t in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches:")
                || line.starts_with("nonvoluntary_ctxt_switches:")
            {
                n += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    n
}

/// The server's message and byte counters from its monitoring endpoint (`/varz`):
/// `[in_msgs, out_msgs, in_bytes, out_bytes]`, None when it cannot be read. `monitor` is
/// `host:port` (the server started with `-m`). A blocking read: two per pass.
pub fn server_counts(monitor: &str) -> Option<[u64; 4]> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(monitor).ok()?;
    s.write_all(b"GET /varz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).ok()?;
    let at = body.windows(4).position(|w| w == b"\r\n\r\n")?;
    let v: serde_json::Value = serde_json::from_slice(&body[at + 4..]).ok()?;
    let n = |k: &str| v[k].as_u64();
    Some([
        n("in_msgs")?,
        n("out_msgs")?,
        n("in_bytes")?,
        n("out_bytes")?,
    ])
}
