//! The call, handling and CSAT aggregates: what one bucket (or one window, or a lifetime)
//! knows about a queue, and how two of them merge.

use hdrhistogram::Histogram;

use crate::window::Merge;

/// How many SL thresholds a queue may have; fixed so that recording never allocates.
pub const MAX_SL_THRESHOLDS: usize = 4;

/// Longest wait the percentile histogram resolves (2 h, in ms); longer waits saturate.
const WAIT_HIST_MAX_MS: u64 = 2 * 3600 * 1000;

/// Answered-wait distribution in milliseconds with 2 significant digits (1 % error), created
/// lazily: a bucket with no answered call costs nothing.
#[derive(Debug, Clone, Default)]
pub struct WaitHistogram(Option<Box<Histogram<u32>>>);

impl WaitHistogram {
    fn empty() -> Histogram<u32> {
        // The bounds are constants known to be valid, so construction cannot fail.
        Histogram::new_with_bounds(1, WAIT_HIST_MAX_MS, 2).unwrap_or_else(|_| unreachable!())
    }

    /// Records one wait.
    pub fn record(&mut self, wait_ms: u64) {
        let hist = self.0.get_or_insert_with(|| Box::new(Self::empty()));
        hist.saturating_record(wait_ms.clamp(1, WAIT_HIST_MAX_MS));
    }

    /// The wait at quantile `q` (0..1) in ms; `None` when empty. Waits under 1 ms read as 1.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        self.0
            .as_ref()
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(q))
    }

    /// Number of recorded waits.
    pub fn len(&self) -> u64 {
        self.0.as_ref().map_or(0, |h| h.len())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Merge for WaitHistogram {
    fn merge(&mut self, other: &Self) {
        if let Some(theirs) = &other.0 {
            let ours = self.0.get_or_insert_with(|| Box::new(Self::empty()));
            // Both sides share the same bounds, so `add` cannot run out of range; saturation
            // happened at record time.
            let _ = ours.add(theirs.as_ref());
        }
    }
}

/// One queue's call figures over a span of event time (a bucket or a merged window).
///
/// Numbers are attributed to the bucket of the event that completes them: `offered` at the
/// `call_queued` time, answers and abandons (with their wait) at the outcome time, handle
/// time at `call_completed`, CSAT at the response.
#[derive(Debug, Clone, Default)]
pub struct CallAgg {
    pub offered: u64,
    pub answered: u64,
    /// Every abandon, short ones included.
    pub abandoned: u64,
    /// Abandons with a wait under the queue's short-abandon threshold.
    pub short_abandoned: u64,
    /// Answered within each of the queue's SL thresholds, in policy order.
    pub answered_within: [u64; MAX_SL_THRESHOLDS],
    /// Sum of answered calls' waits (ms): ASA's numerator.
    pub answer_wait_ms: u64,
    /// Sum of abandoned calls' waits (ms), short ones included.
    pub abandon_wait_ms: u64,
    /// Longest wait of an answered call (ms).
    pub max_answer_wait_ms: u64,
    /// Answered-wait distribution, for percentiles.
    pub wait_hist: WaitHistogram,
    pub completed: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub acw_ms: u64,
    /// Completed calls that carried the agent's `resolved` flag, and how many said true.
    pub resolved_reported: u64,
    pub resolved_true: u64,
    pub csat_responses: u64,
    /// Responses scoring 4 or 5 (top-2-box).
    pub csat_positive: u64,
    pub csat_score_sum: u64,
}

impl CallAgg {
    /// An answered call with its wait, checked against `thresholds_ms`.
    pub fn record_answer(&mut self, wait_ms: u64, thresholds_ms: &[u64]) {
        self.answered += 1;
        self.answer_wait_ms += wait_ms;
        self.max_answer_wait_ms = self.max_answer_wait_ms.max(wait_ms);
        for (count, &limit) in self.answered_within.iter_mut().zip(thresholds_ms) {
            *count += u64::from(wait_ms <= limit);
        }
        self.wait_hist.record(wait_ms);
    }

    /// An abandoned call with its wait; `short` when under the short-abandon threshold.
    pub fn record_abandon(&mut self, wait_ms: u64, short: bool) {
        self.abandoned += 1;
        self.short_abandoned += u64::from(short);
        self.abandon_wait_ms += wait_ms;
    }

    /// A completed call's handle-time parts.
    pub fn record_completed(
        &mut self,
        talk_ms: u64,
        hold_ms: u64,
        acw_ms: u64,
        resolved: Option<bool>,
    ) {
        self.completed += 1;
        self.talk_ms += talk_ms;
        self.hold_ms += hold_ms;
        self.acw_ms += acw_ms;
        if let Some(resolved) = resolved {
            self.resolved_reported += 1;
            self.resolved_true += u64::from(resolved);
        }
    }

    /// A CSAT response (score already validated to 1..=5).
    pub fn record_csat(&mut self, score: u8) {
        self.csat_responses += 1;
        self.csat_positive += u64::from(score >= 4);
        self.csat_score_sum += u64::from(score);
    }

    /// Abandons that count against the service level: all but the short ones.
    pub fn counted_abandons(&self) -> u64 {
        self.abandoned - self.short_abandoned
    }

    /// The service-level denominator: answered plus abandons that are not short.
    pub fn sl_denominator(&self) -> u64 {
        self.answered + self.counted_abandons()
    }

    /// Total handle time (talk + hold + after-call work), ms.
    pub fn handle_ms(&self) -> u64 {
        self.talk_ms + self.hold_ms + self.acw_ms
    }
}

impl Merge for CallAgg {
    fn merge(&mut self, other: &Self) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.short_abandoned += other.short_abandoned;
        for (ours, theirs) in self.answered_within.iter_mut().zip(other.answered_within) {
            *ours += theirs;
        }
        self.answer_wait_ms += other.answer_wait_ms;
        self.abandon_wait_ms += other.abandon_wait_ms;
        self.max_answer_wait_ms = self.max_answer_wait_ms.max(other.max_answer_wait_ms);
        self.wait_hist.merge(&other.wait_hist);
        self.completed += other.completed;
        self.talk_ms += other.talk_ms;
        self.hold_ms += other.hold_ms;
        self.acw_ms += other.acw_ms;
        self.resolved_reported += other.resolved_reported;
        self.resolved_true += other.resolved_true;
        self.csat_responses += other.csat_responses;
        self.csat_positive += other.csat_positive;
        self.csat_score_sum += other.csat_score_sum;
    }
}

/// Lifetime counters of one queue: what becomes Prometheus `_total` counters and the wait
/// histogram. Only ever grows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTotals {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub answered_within: [u64; MAX_SL_THRESHOLDS],
    pub answer_wait_ms: u64,
    pub abandon_wait_ms: u64,
    pub completed: u64,
    pub handle_ms: u64,
    pub csat_responses: u64,
    pub csat_positive: u64,
    /// Answered waits per histogram bound (non-cumulative): `wait_le[i]` counts waits in
    /// `(bound[i-1], bound[i]]`; the last slot holds waits above every bound.
    pub wait_le: Vec<u64>,
}

impl CallTotals {
    /// Adds one answered wait into the Prometheus-style buckets with `bounds_ms`.
    pub fn record_wait_bucket(&mut self, wait_ms: u64, bounds_ms: &[u64]) {
        if self.wait_le.len() != bounds_ms.len() + 1 {
            self.wait_le.resize(bounds_ms.len() + 1, 0);
        }
        let slot = bounds_ms.partition_point(|&bound| bound < wait_ms);
        self.wait_le[slot] += 1;
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &CallTotals) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.short_abandoned += other.short_abandoned;
        for (ours, theirs) in self.answered_within.iter_mut().zip(other.answered_within) {
            *ours += theirs;
        }
        self.answer_wait_ms += other.answer_wait_ms;
        self.abandon_wait_ms += other.abandon_wait_ms;
        self.completed += other.completed;
        self.handle_ms += other.handle_ms;
        self.csat_responses += other.csat_responses;
        self.csat_positive += other.csat_positive;
        if self.wait_le.len() < other.wait_le.len() {
            self.wait_le.resize(other.wait_le.len(), 0);
        }
        for (ours, theirs) in self.wait_le.iter_mut().zip(&other.wait_le) {
            *ours += theirs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_counts_each_threshold_inclusively() {
        let mut agg = CallAgg::default();
        for wait in [0, 10_000, 20_000, 20_001, 60_000] {
            agg.record_answer(wait, &[20_000, 60_000]);
        }
        assert_eq!(agg.answered_within, [3, 5, 0, 0]);
        assert_eq!(agg.answer_wait_ms, 110_001);
        assert_eq!(agg.max_answer_wait_ms, 60_000);
        assert_eq!(agg.wait_hist.len(), 5);
        let p50 = agg.wait_hist.quantile_ms(0.5).expect("non-empty");
        assert!((19_800..=20_200).contains(&p50), "p50 {p50}");
    }

    #[test]
    fn merge_adds_and_maxes() {
        let mut a = CallAgg::default();
        a.record_answer(5_000, &[20_000]);
        a.record_abandon(3_000, true);
        let mut b = CallAgg::default();
        b.record_answer(30_000, &[20_000]);
        b.record_abandon(40_000, false);
        b.record_csat(4);
        b.record_completed(1, 2, 3, Some(true));
        a.merge(&b);
        assert_eq!((a.answered, a.abandoned, a.short_abandoned), (2, 2, 1));
        assert_eq!(a.sl_denominator(), 3);
        assert_eq!(a.answered_within[0], 1);
        assert_eq!(a.max_answer_wait_ms, 30_000);
        assert_eq!(a.wait_hist.len(), 2);
        assert_eq!(
            (a.csat_responses, a.csat_positive, a.csat_score_sum),
            (1, 1, 4)
        );
        assert_eq!((a.completed, a.handle_ms(), a.resolved_true), (1, 6, 1));
    }

    #[test]
    fn wait_buckets_are_upper_inclusive() {
        let mut t = CallTotals::default();
        let bounds = [5_000, 20_000];
        for wait in [0, 5_000, 5_001, 20_000, 20_001] {
            t.record_wait_bucket(wait, &bounds);
        }
        assert_eq!(t.wait_le, [2, 2, 1]);
    }
}
