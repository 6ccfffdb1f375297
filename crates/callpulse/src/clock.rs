//! The process's one wall clock: created once by the binary and injected everywhere else
//! (see `callpulse_events::clock`). The only `SystemTime::now` in the workspace.

use std::sync::Arc;

use callpulse_events::{Clock, SharedClock, Ts};

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock, shared.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the process's one wall-clock read
    fn now(&self) -> Ts {
        Ts(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64))
    }
}
