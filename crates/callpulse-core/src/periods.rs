//! The calendar windows: the current interval (e.g. 10:30-11:00 local) and the day so far
//! (since local midnight), next to the sliding windows.
//!
//! A sliding window needs a ring of buckets; a calendar window only ever grows until its
//! period ends and then starts empty, so one aggregate per period is enough. Event time
//! decides the period, like everywhere else: an event of the next period (or a snapshot
//! taken after the period ended) starts the next one; an event of an earlier period is late
//! for this window (it still counts in the sliding windows and totals).

use callpulse_events::Ts;

use crate::calendar::{Calendar, PeriodCache};
use crate::calls::CallAgg;

/// Window labels of the calendar windows, after the sliding ones.
pub const PERIOD_LABELS: [&str; 2] = ["interval", "today"];

/// One period's running aggregate.
#[derive(Debug, Clone)]
struct Period {
    span: PeriodCache,
    agg: CallAgg,
}

impl Period {
    fn new(calendar: Calendar, len_secs: u32) -> Self {
        Period {
            span: PeriodCache::new(calendar, len_secs),
            agg: CallAgg::default(),
        }
    }

    /// Moves to the period holding `ts` if that is a later one; returns whether `ts` is in
    /// the (possibly new) current period.
    fn roll(&mut self, ts: Ts) -> bool {
        let (start, end) = self.span.bounds();
        if ts >= end {
            self.span.start_of(ts);
            self.agg = CallAgg::default();
            return true;
        }
        ts >= start
    }
}

/// The interval and day aggregates of one queue.
#[derive(Debug, Clone)]
pub(crate) struct Periods {
    periods: [Period; 2],
}

impl Periods {
    pub(crate) fn new(calendar: Calendar, interval_secs: u32) -> Self {
        Periods {
            periods: [
                Period::new(calendar, interval_secs),
                Period::new(calendar, 24 * 3600),
            ],
        }
    }

    /// Applies `f` to every period aggregate `ts` falls in.
    pub(crate) fn record(&mut self, ts: Ts, f: &impl Fn(&mut CallAgg)) {
        for period in &mut self.periods {
            if period.roll(ts) {
                f(&mut period.agg);
            }
        }
    }

    /// The aggregates as of `now`, in [`PERIOD_LABELS`] order (a period that ended before
    /// `now` reads as the empty next one).
    pub(crate) fn read(&mut self, now: Ts) -> [CallAgg; 2] {
        for period in &mut self.periods {
            period.roll(now);
            period.agg.wait_hist.compact();
        }
        [self.periods[0].agg.clone(), self.periods[1].agg.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Ts {
        Ts::from_datetime(
            chrono::DateTime::parse_from_rfc3339(s)
                .expect("time")
                .to_utc(),
        )
    }

    #[test]
    fn periods_fill_then_start_over() {
        let cal = Calendar::new("Europe/Berlin").expect("zone");
        let mut p = Periods::new(cal, 1800);
        let offer = |agg: &mut CallAgg| agg.counts.offered += 1;
        p.record(at("2026-11-26T08:05:00Z"), &offer); // 09:05 local
        p.record(at("2026-11-26T08:29:59Z"), &offer);
        let [interval, today] = p.read(at("2026-11-26T08:29:59Z"));
        assert_eq!((interval.counts.offered, today.counts.offered), (2, 2));
        p.record(at("2026-11-26T08:30:00Z"), &offer); // the 09:30 interval begins
        p.record(at("2026-11-26T08:10:00Z"), &offer); // late for the interval, not the day
        let [interval, today] = p.read(at("2026-11-26T08:31:00Z"));
        assert_eq!((interval.counts.offered, today.counts.offered), (1, 4));
        // Local midnight (23:00 UTC) starts a new day; a quiet period reads empty.
        let [interval, today] = p.read(at("2026-11-26T23:00:00Z"));
        assert_eq!((interval.counts.offered, today.counts.offered), (0, 0));
        // The previous evening is late for both.
        p.record(at("2026-11-26T22:59:00Z"), &offer);
        let [_, today] = p.read(at("2026-11-26T23:00:01Z"));
        assert_eq!(today.counts.offered, 0);
    }
}
