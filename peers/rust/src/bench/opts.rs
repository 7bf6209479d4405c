//! The benchmark's command line.

pub struct Opts {
    pub server: String,
    pub server_pid: Option<u32>,
    pub json: bool,
    pub seconds: u64,
    pub warmup: u64,
    /// Run the Sluice worker without its reconciler; the window is minted at provisioning.
    pub no_reconciler: bool,
    /// The server's monitoring `host:port` (`-m`): its message counts per message handled.
    pub monitor: Option<String>,
    /// Rounds of the fast workload's pipelines (raw, raw-id, raw-wire, raw-compact, Sluice).
    pub rounds: usize,
    /// Only the Sluice pipeline of the fast workload: no raw pipelines, no slow workload (to
    /// compare builds of the crate, e.g. allocations per message with `bench-alloc-count`).
    pub sluice_only: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: sluice-bench-rust --server URL [--server-pid PID] [--monitor HOST:PORT] [--seconds N=5] [--warmup N=3] [--rounds N=1] [--no-reconciler] [--sluice-only] [--json]"
    );
    std::process::exit(2);
}

pub fn parse() -> Opts {
    let mut o = Opts {
        server: String::new(),
        server_pid: None,
        json: false,
        seconds: 5,
        warmup: 3,
        no_reconciler: false,
        monitor: None,
        rounds: 1,
        sluice_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--server" => o.server = args.next().unwrap_or_else(|| usage()),
            "--server-pid" => o.server_pid = args.next().and_then(|p| p.parse().ok()),
            "--monitor" => o.monitor = Some(args.next().unwrap_or_else(|| usage())),
            "--seconds" => {
                o.seconds = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--warmup" => {
                o.warmup = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--rounds" => {
                o.rounds = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--json" => o.json = true,
            "--no-reconciler" => o.no_reconciler = true,
            "--sluice-only" => o.sluice_only = true,
            "rust" => {}
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown option {other}");
                usage()
            }
        }
    }
    if o.server.is_empty() {
        usage()
    }
    o
}
