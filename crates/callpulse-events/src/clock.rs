//! The one notion of "now" the process has, injected wherever wall time is needed.
//!
//! Nothing in the libraries reads the system clock: the binary creates one clock and hands
//! it to ingest (the decode range check, the instance watermark), the publisher (the tick
//! instant) and the simulator (real-time pacing). Tests hand in a [`ManualClock`] and move
//! time themselves.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::Ts;

/// A source of wall-clock time (milliseconds since the Unix epoch).
pub trait Clock: Debug + Send + Sync {
    /// The current instant.
    fn now(&self) -> Ts;
}

/// The clock as shared between tasks.
pub type SharedClock = Arc<dyn Clock>;

/// A clock that only moves when told to: for tests and deterministic runs.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: Ts) -> Self {
        ManualClock(AtomicI64::new(at.millis()))
    }

    /// Sets the reading to `at`.
    pub fn set(&self, at: Ts) {
        self.0.store(at.millis(), Ordering::Release);
    }

    /// Moves the reading forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Ts {
        Ts(self.0.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Ts(1_000));
        assert_eq!(clock.now(), Ts(1_000));
        clock.advance(500);
        assert_eq!(clock.now(), Ts(1_500));
        clock.set(Ts(10));
        assert_eq!(clock.now(), Ts(10));
    }
}
