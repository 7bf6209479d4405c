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
