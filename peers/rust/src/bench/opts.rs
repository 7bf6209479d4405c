//! The benchmark's command line.

use clap::{Parser, ValueEnum};

/// One pipeline of the fast workload, run alone (`--only`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Only {
    /// This crate's producer and worker.
    Sluice,
    /// Raw async-nats carrying Sluice's header block (the wire floor).
    RawWire,
}

/// Compares this crate's pipeline with raw async-nats on one nats-server: a fast workload
/// (handlers that return at once) and a slow one (1 ms handlers). Prints JSON on stdout.
#[derive(Parser, Debug)]
#[command(name = "sluice-bench-rust", version)]
pub struct Opts {
    /// The workload's name, as `scripts/bench` passes it; ignored.
    #[arg(value_parser = ["rust"], hide = true)]
    pub workload: Option<String>,
    /// The nats-server to measure on.
    #[arg(long)]
    pub server: String,
    /// The server's process id: its CPU time per message is read from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The server's monitoring `host:port` (`-m`): its message counts per message handled.
    #[arg(long, value_name = "HOST:PORT")]
    pub monitor: Option<String>,
    /// Measured seconds per pipeline.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Rounds of the fast workload's pipelines (raw, raw-id, raw-wire, raw-compact, Sluice).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Run the Sluice worker without its reconciler; the window is minted at provisioning.
    #[arg(long)]
    pub no_reconciler: bool,
    /// Only this pipeline of the fast workload: no other pipelines, no slow workload (to compare
    /// builds of the crate, or to profile one pipeline).
    #[arg(long, value_enum, value_name = "PIPELINE")]
    pub only: Option<Only>,
    /// Same as `--only sluice`.
    #[arg(long, conflicts_with = "only")]
    pub sluice_only: bool,
    /// With `--only raw-wire`: hold the senders to about this many messages a second.
    #[arg(long, value_name = "MSG_PER_S", requires = "only")]
    pub pace: Option<f64>,
    /// The fast workload's concurrent sends (default 64).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub senders: Option<u64>,
    /// The fast workload's prefetch beyond its 8 handlers (default 248): the Sluice worker's
    /// capacity, the window, and the raw consumer's in-flight limit are 8 + this.
    #[arg(long)]
    pub prefetch: Option<u64>,
    /// The fast workload's token batch (default 32).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub token_batch: Option<u32>,
    /// Print the result as one JSON line (otherwise pretty-printed).
    #[arg(long)]
    pub json: bool,
}

impl Opts {
    /// The one pipeline to run, when only one is.
    pub fn only(&self) -> Option<Only> {
        self.only.or(self.sluice_only.then_some(Only::Sluice))
    }
}

pub fn parse() -> Opts {
    Opts::parse()
}
