//! The [`WorkerBuilder`]'s pushback options (§15.1): the AIMD rule by which a handler's
//! [`HandlerError::Overloaded`](crate::HandlerError::Overloaded) lowers the advertised capacity,
//! or none. The rule itself is pure, in `crate::pushback`.

use super::WorkerBuilder;
use crate::error::Error;
use crate::pushback::Policy;
use std::time::Duration;

/// How a handler's pushback ([`HandlerError::overloaded`](crate::HandlerError::overloaded),
/// §15.1) lowers the worker's advertised capacity (AIMD): ×`decrease` at most once per
/// `decrease_interval`, +1 per `increase_interval` in which handlers succeeded (or nothing was in
/// hand) and none pushed back, never below `floor`, never above the configured capacity. While
/// lowered the worker holds and runs no more messages than the lowered capacity.
///
/// The default is the Java and Go workers' rule: ×0.5 at most once a second, +1 a second,
/// floor 1. Change the fields you need:
///
/// ```
/// use sluice::PushbackPolicy;
/// use std::time::Duration;
/// // Back off gently, recover fast, keep at least 4 handlers busy.
/// let gentle = PushbackPolicy {
///     decrease: 0.75,
///     floor: 4,
///     increase_interval: Duration::from_millis(250),
///     ..PushbackPolicy::default()
/// };
/// assert_eq!(gentle.decrease_interval, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushbackPolicy {
    /// The factor a pushback multiplies the capacity by, in (0, 1).
    pub decrease: f64,
    /// The lowest capacity, at least 1: a floor of 0 would stop the queue when every handler
    /// pushes back.
    pub floor: u32,
    /// The shortest time between two decreases (at least 1 ms): the pushbacks of the handlers
    /// already running when the capacity was lowered do not lower it again.
    pub decrease_interval: Duration,
    /// How often a lowered capacity may grow by 1 (at least 1 ms).
    pub increase_interval: Duration,
}

impl Default for PushbackPolicy {
    /// ×0.5 at most once a second, +1 a second, floor 1.
    fn default() -> Self {
        let p = Policy::default();
        PushbackPolicy {
            decrease: p.decrease,
            floor: p.floor,
            decrease_interval: Duration::from_millis(p.decrease_interval_ms as u64),
            increase_interval: Duration::from_millis(p.increase_interval_ms as u64),
        }
    }
}

impl PushbackPolicy {
    /// The rule in the engine's terms, or why the policy is out of range.
    pub(super) fn check(self) -> Result<Policy, Error> {
        if !(self.decrease > 0.0 && self.decrease < 1.0) {
            return Err(Error::invalid(
                "pushback",
                format!("decrease must be in (0, 1), got {}", self.decrease),
            ));
        }
        if self.floor == 0 {
            return Err(Error::invalid(
                "pushback",
                "floor must be at least 1: a floor of 0 would stop the queue when every handler \
                 pushes back",
            ));
        }
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let (down, up) = (ms(self.decrease_interval), ms(self.increase_interval));
        if down < 1 || up < 1 {
            return Err(Error::invalid(
                "pushback",
                format!(
                    "decrease_interval and increase_interval must be at least 1 ms, got {:?} and \
                     {:?}",
                    self.decrease_interval, self.increase_interval
                ),
            ));
        }
        Ok(Policy {
            decrease: self.decrease,
            floor: self.floor,
            decrease_interval_ms: down,
            increase_interval_ms: up,
        })
    }
}

impl WorkerBuilder {
    /// The AIMD rule by which a handler's pushback lowers the advertised capacity (§15.1);
    /// on by default with [`PushbackPolicy::default`]. [`WorkerBuilder::build`] refuses a policy
    /// out of range with [`Error::InvalidOption`] `pushback`.
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use sluice::{HandlerError, Json, PushbackPolicy, Worker};
    /// use std::time::Duration;
    /// let worker = Worker::builder(client, "geocode")
    ///     .pushback(PushbackPolicy { floor: 2, ..PushbackPolicy::default() })
    ///     .handle("acme.Geocode", 1..=1, Json::<String>::new(), |_addr: String, _| async {
    ///         // The geocoding API answered 429: retry in 2 s and slow the whole worker down.
    ///         Err(HandlerError::overloaded(Some(Duration::from_secs(2))))
    ///     })
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn pushback(mut self, policy: PushbackPolicy) -> Self {
        self.pushback = Some(policy);
        self
    }

    /// Keeps the advertised capacity at its configured value whatever the handlers answer. A
    /// pushback is still held and its handler run again after the delay without counting an
    /// attempt (§15.1), and the advert still counts it (`pushbacks_total`); only the capacity is
    /// never lowered, and the worker runs as many handlers as its concurrency allows.
    pub fn without_pushback(mut self) -> Self {
        self.pushback = None;
        self
    }
}
