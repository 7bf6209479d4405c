//! The circuit breaker of PROTOCOL.md §7.6, as pure logic: it opens when at least `failures` of
//! the last `window` handler runs failed, lets one probe through at a time once `delay` has
//! passed, and closes on a successful probe or an empty probe pull. The caller passes the time,
//! so the rules are tested without a clock. Explicit rejections, undecodable payloads and
//! pushbacks are not handler runs here (the message is bad, or the handler asked to slow down,
//! §15.1): the worker does not record them.
//!
//! Probes (§7.6 [v1.3]) are numbered, and a probe ends in exactly one of three ways: its run is
//! recorded ([`Breaker::record`] with its number: a success closes, a failure opens again for the
//! full delay); its message is settled without a counted run, or its pull fails
//! ([`Breaker::probe_ended`]: no verdict, the next pull probes); its pull expires with no message
//! ([`Breaker::probe_empty`]: the queue is empty, the circuit closes, or a lone worker advertising
//! capacity 0 would wait for ever for a message no producer can send). While the circuit is open
//! or half-open only the probe's own run counts: a run that started before it opened, or came
//! from a pull made before it, neither closes nor reopens it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When the circuit opens and how long it stays open before a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failed runs among the last `window` that open the circuit (≥ 1).
    pub failures: usize,
    /// Handler runs remembered (≥ `failures`).
    pub window: usize,
    /// How long the circuit stays open before one probe is let through.
    pub delay: Duration,
}

impl Default for BreakerConfig {
    /// §7.6: 10 of the last 20, 5 s.
    fn default() -> Self {
        BreakerConfig {
            failures: 10,
            window: 20,
            delay: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { since: Instant },
    HalfOpen,
}

/// What [`Breaker::allow`] lets the pull loop take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Pull up to this many (all that were wanted while closed, 1 for a probe); `probe` is the
    /// probe's number, to end it with [`Breaker::probe_ended`].
    Pull { n: usize, probe: Option<u64> },
    /// Pull nothing; ask again after this long.
    Wait(Duration),
}

/// The breaker's state and its window of results (`true` = failed).
#[derive(Debug)]
pub struct Breaker {
    cfg: BreakerConfig,
    results: VecDeque<bool>,
    state: State,
    /// The probe running, by number: its run's result decides the circuit.
    probing: Option<u64>,
    probes: u64,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        Breaker {
            cfg,
            results: VecDeque::with_capacity(cfg.window),
            state: State::Closed,
            probing: None,
            probes: 0,
        }
    }

    /// The state at `now`: an open circuit turns half-open once the delay has passed.
    fn current(&mut self, now: Instant) -> State {
        if let State::Open { since } = self.state {
            if now.saturating_duration_since(since) >= self.cfg.delay {
                self.state = State::HalfOpen;
            }
        }
        self.state
    }

    /// Whether the circuit is open or half-open at `now` (the worker advertises `CIRCUIT_OPEN`
    /// with capacity 0).
    pub fn is_open(&mut self, now: Instant) -> bool {
        self.current(now) != State::Closed
    }

    /// Adds one handler run's result; `probe` is the run's probe number, `None` for a run that
    /// is not a probe. Returns whether the circuit opened or closed.
    pub fn record(&mut self, failed: bool, probe: Option<u64>, now: Instant) -> bool {
        match self.current(now) {
            State::Open { .. } | State::HalfOpen => {
                if probe.is_none() || probe != self.probing {
                    return false; // not the probe: a run that started before the circuit opened
                }
                self.probing = None;
                if failed {
                    self.state = State::Open { since: now };
                    return false;
                }
                self.close();
                true
            }
            State::Closed => {
                if self.results.len() == self.cfg.window {
                    self.results.pop_front();
                }
                self.results.push_back(failed);
                if self.results.iter().filter(|f| **f).count() >= self.cfg.failures {
                    self.state = State::Open { since: now };
                    return true;
                }
                false
            }
        }
    }

    /// How many of `wanted` messages may be pulled at `now`: all while closed, one probe at a
    /// time while half-open, none while open.
    pub fn allow(&mut self, wanted: usize, now: Instant) -> Allow {
        match self.current(now) {
            State::Closed => Allow::Pull {
                n: wanted,
                probe: None,
            },
            State::Open { since } => Allow::Wait(
                self.cfg
                    .delay
                    .saturating_sub(now.saturating_duration_since(since)),
            ),
            State::HalfOpen if self.probing.is_some() => Allow::Wait(Duration::from_millis(50)),
            State::HalfOpen => {
                self.probes += 1;
                self.probing = Some(self.probes);
                Allow::Pull {
                    n: 1,
                    probe: Some(self.probes),
                }
            }
        }
    }

    /// Ends probe `probe` with no verdict: its message was settled without a handler run that
    /// counts (a rejection, a duplicate, a payload that does not decode, a type not handled
    /// here), or its pull failed. The next allow lets another probe through. A probe whose run
    /// was recorded, or that ended before, is over already.
    pub fn probe_ended(&mut self, probe: u64) {
        if self.probing == Some(probe) {
            self.probing = None;
        }
    }

    /// Ends probe `probe` whose pull expired with no message: the queue is empty and no handler
    /// failed, so a half-open circuit closes. Returns whether it closed.
    pub fn probe_empty(&mut self, probe: u64, now: Instant) -> bool {
        if self.probing != Some(probe) {
            return false;
        }
        self.probing = None;
        if self.current(now) != State::HalfOpen {
            return false;
        }
        self.close();
        true
    }

    /// Closes the circuit with an empty window.
    fn close(&mut self) {
        self.state = State::Closed;
        self.results.clear();
        self.probing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: usize, window: usize) -> Breaker {
        Breaker::new(BreakerConfig {
            failures,
            window,
            delay: Duration::from_secs(5),
        })
    }

    #[test]
    fn opens_at_the_failure_count_within_the_window() {
        let t = Instant::now();
        let mut b = breaker(3, 5);
        assert!(!b.record(true, None, t));
        assert!(!b.record(false, None, t));
        assert!(!b.record(true, None, t));
        assert!(!b.is_open(t));
        assert!(
            b.record(true, None, t),
            "the third failure of five opens it"
        );
        assert!(b.is_open(t));
        assert_eq!(b.allow(8, t), Allow::Wait(Duration::from_secs(5)));
    }

    #[test]
    fn old_failures_leave_the_window() {
        let t = Instant::now();
        let mut b = breaker(2, 3);
        b.record(true, None, t);
        b.record(false, None, t);
        b.record(false, None, t); // window: F S S
        assert!(
            !b.record(true, None, t),
            "the first failure left the window: S S F"
        );
        assert!(!b.is_open(t));
    }

    #[test]
    fn one_probe_after_the_delay_and_a_success_closes() {
        let t = Instant::now();
        let mut b = breaker(1, 1);
        assert!(b.record(true, None, t));
        let later = t + Duration::from_secs(5);
        assert_eq!(
            b.allow(8, later),
            Allow::Pull {
                n: 1,
                probe: Some(1)
            }
        );
        assert_eq!(
            b.allow(8, later),
            Allow::Wait(Duration::from_millis(50)),
            "one probe at a time"
        );
        assert!(
            b.record(false, Some(1), later),
            "the successful probe closes it"
        );
        assert!(!b.is_open(later));
        assert_eq!(b.allow(8, later), Allow::Pull { n: 8, probe: None });
    }

    #[test]
    fn a_failed_probe_opens_again_for_a_full_delay() {
        let t = Instant::now();
        let mut b = breaker(1, 1);
        b.record(true, None, t);
        let probe_at = t + Duration::from_secs(6);
        assert_eq!(
            b.allow(1, probe_at),
            Allow::Pull {
                n: 1,
                probe: Some(1)
            }
        );
        assert!(!b.record(true, Some(1), probe_at));
        assert_eq!(
            b.allow(1, probe_at + Duration::from_secs(1)),
            Allow::Wait(Duration::from_secs(4))
        );
    }

    #[test]
    fn runs_that_started_before_it_opened_do_not_close_it() {
        let t = Instant::now();
        let mut b = breaker(1, 2);
        b.record(true, None, t);
        assert!(!b.record(false, None, t), "not a probe");
        assert!(b.is_open(t));
    }

    #[test]
    fn a_probe_settled_without_a_run_lets_another_through() {
        let t = Instant::now();
        let mut b = breaker(1, 1);
        b.record(true, None, t);
        let later = t + Duration::from_secs(5);
        assert!(matches!(
            b.allow(4, later),
            Allow::Pull {
                n: 1,
                probe: Some(1)
            }
        ));
        b.probe_ended(1);
        assert!(matches!(
            b.allow(4, later),
            Allow::Pull {
                n: 1,
                probe: Some(2)
            }
        ));
    }

    #[test]
    fn an_old_probe_ending_does_not_end_the_next_one() {
        let t = Instant::now();
        let mut b = breaker(1, 1);
        b.record(true, None, t);
        let first = t + Duration::from_secs(5);
        assert!(matches!(
            b.allow(1, first),
            Allow::Pull { probe: Some(1), .. }
        ));
        assert!(
            !b.record(true, Some(1), first),
            "the probe failed: open again"
        );
        let second = first + Duration::from_secs(5);
        assert!(matches!(
            b.allow(1, second),
            Allow::Pull { probe: Some(2), .. }
        ));
        b.probe_ended(1); // the first probe's task finishes late
        assert!(!b.probe_empty(1, second), "an old probe closes nothing");
        assert_eq!(b.allow(1, second), Allow::Wait(Duration::from_millis(50)));
        assert!(
            b.record(false, Some(2), second),
            "the second probe closes it"
        );
    }

    #[test]
    fn an_empty_probe_pull_closes_the_circuit_with_a_fresh_window() {
        let t = Instant::now();
        let mut b = breaker(1, 2);
        b.record(true, None, t);
        let later = t + Duration::from_secs(5);
        assert!(matches!(
            b.allow(4, later),
            Allow::Pull {
                n: 1,
                probe: Some(1)
            }
        ));
        assert!(b.probe_empty(1, later), "the queue is empty: it closes");
        assert!(!b.is_open(later));
        assert_eq!(b.allow(4, later), Allow::Pull { n: 4, probe: None });
        assert!(
            !b.probe_empty(1, later),
            "an ended probe closes nothing again"
        );
    }

    #[test]
    fn only_the_probes_run_decides_while_half_open() {
        let t = Instant::now();
        let mut b = breaker(1, 1);
        b.record(true, None, t);
        let later = t + Duration::from_secs(5);
        assert!(matches!(
            b.allow(1, later),
            Allow::Pull { probe: Some(1), .. }
        ));
        assert!(
            !b.record(false, None, later),
            "a success that is not the probe"
        );
        assert!(
            !b.record(true, None, later),
            "a failure that is not the probe"
        );
        assert_eq!(
            b.allow(1, later),
            Allow::Wait(Duration::from_millis(50)),
            "still half-open, probing: the failure did not reopen it"
        );
        assert!(!b.record(false, Some(7), later), "another probe's number");
        assert!(
            b.record(false, Some(1), later),
            "the probe's success closes it"
        );
    }
}
