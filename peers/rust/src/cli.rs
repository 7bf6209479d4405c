//! The peer command-line contract of peers/README.md, on clap: one subcommand per role.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "sluice-peer-rust",
    about = "The Rust Sluice peer: a worker, producer or scheduler that prints one JSON event per line (peers/README.md)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub role: Role,
}

#[derive(Subcommand)]
pub enum Role {
    /// Consume the queue until SIGTERM (§7), printing ready, processed, nak, dead_lettered, done.
    Worker(WorkerArgs),
    /// Send --count messages one at a time (§6), printing ready, sent and done.
    Produce(ProduceArgs),
    /// Store --count one-shot schedule entries (§13.3), printing scheduled and done.
    Schedule(ScheduleArgs),
}

/// The options every role has.
#[derive(Args)]
pub struct Common {
    /// The nats-server URL.
    #[arg(long)]
    pub server: String,
    /// The queue's name.
    #[arg(long)]
    pub queue: String,
}

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long)]
    pub worker_id: String,
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 4)]
    pub prefetch: usize,
    /// Each handler run sleeps this long.
    #[arg(long, default_value_t = 0)]
    pub work_ms: u64,
    /// The types and versions handled: TYPE@MIN-MAX[,TYPE@MIN-MAX...].
    #[arg(long, default_value = "sluice.conformance.Work@1-1", value_parser = parse_handles)]
    pub handles: HandlesList,
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u64,
    #[arg(long, default_value_t = 100)]
    pub backoff_initial_ms: u64,
    #[arg(long, default_value_t = 3000)]
    pub grace_ms: u64,
    #[arg(long, default_value_t = 500)]
    pub grace_delay_ms: u64,
    #[arg(long, default_value_t = 8)]
    pub token_batch: u32,
    /// A static advertised capacity instead of concurrency + prefetch.
    #[arg(long)]
    pub capacity: Option<u32>,
    /// Take part in the reconciler election (§5.5), auditing every second.
    #[arg(long)]
    pub reconciler: bool,
    /// The handler answers overloaded (§15.1) until this long after the start.
    #[arg(long, default_value_t = 0)]
    pub overloaded_for_ms: u64,
    /// The handler fails its first N runs, failures the circuit breaker counts (§7.6).
    #[arg(long, default_value_t = 0)]
    pub fail_first: u64,
    /// A circuit breaker (§7.6) as FAILURES,WINDOW,DELAY_MS; none without it.
    #[arg(long, value_parser = parse_breaker)]
    pub circuit_breaker: Option<Breaker>,
}

#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long)]
    pub producer_id: String,
    #[arg(long)]
    pub count: u64,
    #[arg(long = "type", default_value = "sluice.conformance.Work")]
    pub type_name: String,
    /// The payload's schema version, 1..=2147483647.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub version: u32,
    /// The first payload seq.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    #[arg(long, value_enum, default_value_t = Behavior::Ok)]
    pub behavior: Behavior,
    #[arg(long, default_value_t = 30000)]
    pub acquire_timeout_ms: u64,
    /// A fairness key (§15.3) on every message.
    #[arg(long)]
    pub fairness_key: Option<String>,
}

#[derive(Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long)]
    pub producer_id: String,
    #[arg(long)]
    pub count: u64,
    /// How far in the future each entry is due (negative: already due).
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub delay_ms: i64,
    #[arg(long = "type", default_value = "sluice.conformance.Work")]
    pub type_name: String,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub version: u32,
    #[arg(long, default_value_t = 0)]
    pub start: u64,
}

/// What a conformance payload asks its handler to do.
#[derive(ValueEnum, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Behavior {
    Ok,
    Poison,
    FailOnce,
}

/// One `TYPE@MIN-MAX` entry of `--handles`.
#[derive(Clone)]
pub struct Handles {
    pub type_name: String,
    pub min_version: u32,
    pub max_version: u32,
}

/// The entries of `--handles`.
#[derive(Clone)]
pub struct HandlesList(pub Vec<Handles>);

/// `--circuit-breaker FAILURES,WINDOW,DELAY_MS` (§7.6).
#[derive(Clone, Copy)]
pub struct Breaker {
    pub failures: usize,
    pub window: usize,
    pub delay: Duration,
}

/// Parses `TYPE@MIN-MAX[,TYPE@MIN-MAX...]`.
pub fn parse_handles(s: &str) -> Result<HandlesList, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (t, range) = part
                .rsplit_once('@')
                .ok_or_else(|| format!("{part:?} lacks @MIN-MAX"))?;
            let (lo, hi) = range
                .split_once('-')
                .ok_or_else(|| format!("{part:?} lacks MIN-MAX"))?;
            let min_version: u32 = lo.parse().map_err(|_| format!("bad minimum in {part:?}"))?;
            let max_version: u32 = hi.parse().map_err(|_| format!("bad maximum in {part:?}"))?;
            if t.is_empty() || min_version == 0 || min_version > max_version {
                return Err(format!("bad entry {part:?}"));
            }
            Ok(Handles {
                type_name: t.to_string(),
                min_version,
                max_version,
            })
        })
        .collect::<Result<_, _>>()
        .map(HandlesList)
}

/// Parses `FAILURES,WINDOW,DELAY_MS` with 1 <= FAILURES <= WINDOW and DELAY_MS >= 1.
pub fn parse_breaker(v: &str) -> Result<Breaker, String> {
    let bad = || {
        "want FAILURES,WINDOW,DELAY_MS with 1 <= FAILURES <= WINDOW and DELAY_MS >= 1, e.g. 3,5,1000"
            .to_string()
    };
    let n: Vec<u64> = v
        .split(',')
        .map(|p| p.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match n[..] {
        [f, w, d] if f >= 1 && w >= f && d >= 1 => Ok(Breaker {
            failures: f as usize,
            window: w as usize,
            delay: Duration::from_millis(d),
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a command line given as one string, split on spaces.
    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sluice-peer-rust").chain(line.split_whitespace()))
    }

    /// A worker's command line: its required options, then `rest`.
    fn worker(rest: &str) -> Result<Cli, clap::Error> {
        parse(&format!("worker --server s --queue q --worker-id w {rest}"))
    }

    /// A producer's command line: its required options but `--count`, then `rest`.
    fn produce(rest: &str) -> Result<Cli, clap::Error> {
        parse(&format!(
            "produce --server s --queue q --producer-id p {rest}"
        ))
    }

    fn worker_args(cli: Cli) -> WorkerArgs {
        match cli.role {
            Role::Worker(w) => w,
            _ => panic!("not a worker"),
        }
    }

    #[test]
    fn a_worker_with_the_contract_defaults() {
        let w = worker_args(worker("").unwrap());
        assert_eq!(
            (w.concurrency, w.prefetch, w.token_batch, w.max_attempts),
            (4, 4, 8, 3)
        );
        assert_eq!(w.handles.0.len(), 1);
        assert_eq!(w.handles.0[0].type_name, "sluice.conformance.Work");
        assert!(!w.reconciler && w.circuit_breaker.is_none() && w.capacity.is_none());
    }

    #[test]
    fn equals_form_flags_and_lists() {
        let w = worker_args(
            parse(
                "worker --server=nats://x --queue=q --worker-id=w --reconciler \
                 --handles a.B@1-2,c.D@3-3 --circuit-breaker 3,5,1000 --capacity 0",
            )
            .unwrap(),
        );
        assert_eq!(w.common.server, "nats://x");
        assert!(w.reconciler);
        assert_eq!(w.capacity, Some(0));
        let h: Vec<_> = w
            .handles
            .0
            .iter()
            .map(|h| (h.type_name.as_str(), h.min_version, h.max_version))
            .collect();
        assert_eq!(h, [("a.B", 1, 2), ("c.D", 3, 3)]);
        let b = w.circuit_breaker.unwrap();
        assert_eq!(
            (b.failures, b.window, b.delay),
            (3, 5, Duration::from_secs(1))
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_option_named() {
        for (parsed, named) in [
            (produce(""), "--count"),
            (produce("--count x"), "--count"),
            (produce("--count 1 --version 0"), "--version"),
            (produce("--count 1 --behavior maybe"), "--behavior"),
            (worker("--handles a.B@2-1"), "--handles"),
            (worker("--circuit-breaker 5,3,1"), "--circuit-breaker"),
            (worker("--no-such 1"), "--no-such"),
        ] {
            let e = parsed
                .err()
                .unwrap_or_else(|| panic!("accepted where {named} is wrong"));
            assert!(e.to_string().contains(named), "{named}: {e}");
        }
    }

    #[test]
    fn behaviors_are_kebab_case_on_the_command_line_and_in_payloads() {
        let Role::Produce(p) = produce("--count 2 --behavior fail-once --type t.T --version 3")
            .unwrap()
            .role
        else {
            panic!("not a producer")
        };
        assert!(p.behavior == Behavior::FailOnce);
        assert_eq!((p.type_name.as_str(), p.version, p.count), ("t.T", 3, 2));
        assert_eq!(serde_json::to_string(&p.behavior).unwrap(), "\"fail-once\"");
    }
}
