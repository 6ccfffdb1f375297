//! The calendar windows: the current interval (e.g. 10:30-11:00 local) and the day so far
//! (since local midnight), next to the sliding windows.
//!
//! A sliding window needs a ring of buckets; a calendar window only ever grows until its
//! period ends, so one aggregate per period is enough. Event time decides the period, like
//! everywhere else; the read instant decides which period a reader sees. An event of a
//! period that closed (event time passed its end by more than the allowed future skew) is
//! late for this window (it still counts in the sliding windows and totals).

use callpulse_events::Ts;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, PeriodCache};
use crate::calls::CallAgg;

/// Window labels of the calendar windows, after the sliding ones.
pub const PERIOD_LABELS: [&str; 2] = ["interval", "today"];

/// Running aggregates of consecutive calendar periods of one length (intervals, or days),
/// keyed by period: the current one and any later one a fast producer clock has already
/// opened, plus earlier ones until event time has passed them by more than the allowed
/// future skew.
///
/// Why not one aggregate that rolls over when an event of the next period arrives: an event
/// stamped by a clock running ahead would then start the next period early and drop the
/// totals of the current one, which on-time events are still filling. Here the next period
/// opens beside the current one; the current one is kept until the partition's newest event
/// time is `skew` past its end, i.e. until the true time has certainly left it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PeriodMap<T> {
    span: PeriodCache,
    skew_ms: i64,
    /// `(start, end, value)`, sorted by start; a handful at most.
    periods: Vec<(Ts, Ts, T)>,
    /// Periods ending at or before this are closed: events in them are late.
    horizon: Ts,
}

impl<T: Default> PeriodMap<T> {
    /// Periods of `len_secs` in `calendar`, tolerating event times up to `skew_ms` ahead.
    pub(crate) fn new(calendar: Calendar, len_secs: u32, skew_ms: i64) -> Self {
        PeriodMap {
            span: PeriodCache::new(calendar, len_secs),
            skew_ms,
            periods: Vec::new(),
            horizon: Ts(i64::MIN),
        }
    }

    /// The aggregate of the period holding `ts`, opened if needed; `None` when that period
    /// closed already (a late event for this window). Event time moves the horizon forward.
    pub(crate) fn get_mut(&mut self, ts: Ts) -> Option<&mut T> {
        let horizon = ts.plus_millis(-self.skew_ms);
        if horizon > self.horizon {
            self.horizon = horizon;
            self.periods.retain(|(_, end, _)| *end > horizon);
        }
        let start = self.span.start_of(ts);
        let (_, end) = self.span.bounds();
        if end <= self.horizon {
            return None;
        }
        let at = match self.periods.binary_search_by_key(&start, |(s, _, _)| *s) {
            Ok(at) => at,
            Err(at) => {
                self.periods.insert(at, (start, end, T::default()));
                at
            }
        };
        Some(&mut self.periods[at].2)
    }

    /// The aggregate of the period holding `at`, if this map has one (else nothing was
    /// recorded in it, or it closed).
    pub(crate) fn get(&self, at: Ts) -> Option<&T> {
        self.periods
            .iter()
            .find(|(start, end, _)| *start <= at && at < *end)
            .map(|(_, _, value)| value)
    }

    /// Mutable access to every open period (for compaction).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.periods.iter_mut().map(|(_, _, value)| value)
    }
}

/// The interval and day aggregates of one queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Periods {
    periods: [PeriodMap<CallAgg>; 2],
}

impl Periods {
    pub(crate) fn new(calendar: Calendar, interval_secs: u32, skew_ms: i64) -> Self {
        Periods {
            periods: [
                PeriodMap::new(calendar, interval_secs, skew_ms),
                PeriodMap::new(calendar, 24 * 3600, skew_ms),
            ],
        }
    }

    /// Applies `f` to every period aggregate `ts` falls in.
    pub(crate) fn record(&mut self, ts: Ts, f: &impl Fn(&mut CallAgg)) {
        for period in &mut self.periods {
            if let Some(agg) = period.get_mut(ts) {
                f(agg);
            }
        }
    }

    /// The aggregates of the periods holding `now`, in [`PERIOD_LABELS`] order (empty for a
    /// period nothing was recorded in). Reading changes nothing.
    pub(crate) fn read(&mut self, now: Ts) -> [CallAgg; 2] {
        self.periods.each_mut().map(|period| {
            period.values_mut().for_each(|agg| agg.wait_hist.compact());
            period.get(now).cloned().unwrap_or_default()
        })
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
        let mut p = Periods::new(cal, 1800, 0);
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

    /// A producer clock two minutes fast stamps an event in the next interval (and, at
    /// midnight, the next day): the current period keeps its totals and its on-time events,
    /// and the early event shows once the read instant reaches its period.
    #[test]
    fn a_fast_clock_does_not_close_the_current_period() {
        let cal = Calendar::new("Europe/Berlin").expect("zone");
        let mut p = Periods::new(cal, 1800, 300_000);
        let offer = |agg: &mut CallAgg| agg.counts.offered += 1;
        p.record(at("2026-11-26T22:50:00Z"), &offer); // 23:50 local
        p.record(at("2026-11-26T23:01:00Z"), &offer); // 00:01 tomorrow, from a fast clock
        p.record(at("2026-11-26T22:59:30Z"), &offer); // on time, today's last interval
        let [interval, today] = p.read(at("2026-11-26T22:59:40Z"));
        assert_eq!((interval.counts.offered, today.counts.offered), (2, 2));
        let [interval, today] = p.read(at("2026-11-26T23:02:00Z"));
        assert_eq!((interval.counts.offered, today.counts.offered), (1, 1));
        // Once event time is past the old day's end by more than the skew, it is closed.
        p.record(at("2026-11-26T23:05:01Z"), &offer);
        p.record(at("2026-11-26T22:59:59Z"), &offer);
        let [_, today] = p.read(at("2026-11-26T22:59:59Z"));
        assert_eq!(today.counts.offered, 0, "closed days read empty");
    }
}
