//! A log rate limiter for the data path: at most `burst` lines per period, then a summary of
//! how many were suppressed. Per event logging would cost more than applying the event.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct RateLimit {
    period: Duration,
    burst: u32,
    window_start: Option<Instant>,
    emitted: u32,
    suppressed: u64,
}

impl RateLimit {
    pub(crate) fn new(period: Duration, burst: u32) -> Self {
        RateLimit {
            period,
            burst,
            window_start: None,
            emitted: 0,
            suppressed: 0,
        }
    }

    /// Whether to log now; when a new period starts, also how many lines the last one hid.
    pub(crate) fn allow(&mut self, now: Instant) -> (bool, u64) {
        let mut hidden = 0;
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= self.period)
        {
            self.window_start = Some(now);
            self.emitted = 0;
            hidden = std::mem::take(&mut self.suppressed);
        }
        if self.emitted < self.burst {
            self.emitted += 1;
            (true, hidden)
        } else {
            self.suppressed += 1;
            (false, hidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_suppresses_then_reports() {
        let mut rl = RateLimit::new(Duration::from_secs(10), 2);
        #[allow(clippy::disallowed_methods)] // a fixed origin for the test's own timeline
        let t0 = Instant::now();
        assert_eq!(rl.allow(t0), (true, 0));
        assert_eq!(rl.allow(t0), (true, 0));
        assert_eq!(rl.allow(t0), (false, 0));
        assert_eq!(rl.allow(t0 + Duration::from_secs(11)), (true, 1));
    }
}
