//! The call, handling and CSAT aggregates: what one bucket (or one window, or a lifetime)
//! knows about a queue, and how two of them merge.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::policy::SlFormula;
use crate::window::Merge;

/// How many SL thresholds a queue may have; fixed so that recording never allocates.
pub const MAX_SL_THRESHOLDS: usize = 4;

/// Longest wait the percentile histogram resolves (2 h, in ms); longer waits saturate.
const WAIT_HIST_MAX_MS: u64 = 2 * 3600 * 1000;

/// Answered-wait distribution in milliseconds with 2 significant digits (1 % error).
///
/// Three shapes, because most of them sit in closed buckets that only get read: `Empty`
/// costs nothing; `Full` is a dense HdrHistogram (~9 KB), used while recording and merging;
/// `Compact` is the sorted list of recorded (value, count) pairs of a Full one, a few bytes
/// per distinct wait. Compacting keeps HdrHistogram's own bucketing (values are its highest
/// equivalent values), so expanding again and recording land in the same buckets.
///
/// Serialized as its sparse form, the `(value, count)` pairs, which restore exactly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<(u64, u32)>", into = "Vec<(u64, u32)>")]
pub struct WaitHistogram(Repr);

impl From<WaitHistogram> for Vec<(u64, u32)> {
    fn from(mut hist: WaitHistogram) -> Self {
        hist.compact();
        match hist.0 {
            Repr::Compact(pairs) => pairs.into_vec(),
            Repr::Empty | Repr::Full(_) => Vec::new(),
        }
    }
}

impl From<Vec<(u64, u32)>> for WaitHistogram {
    fn from(pairs: Vec<(u64, u32)>) -> Self {
        WaitHistogram(if pairs.is_empty() {
            Repr::Empty
        } else {
            Repr::Compact(pairs.into_boxed_slice())
        })
    }
}

#[derive(Debug, Clone, Default)]
enum Repr {
    #[default]
    Empty,
    Full(Box<Histogram<u32>>),
    Compact(Box<[(u64, u32)]>),
}

impl WaitHistogram {
    fn dense() -> Histogram<u32> {
        // The bounds are constants known to be valid, so construction cannot fail.
        Histogram::new_with_bounds(1, WAIT_HIST_MAX_MS, 2).unwrap_or_else(|_| unreachable!())
    }

    /// The dense form, expanding or creating it as needed.
    fn full(&mut self) -> &mut Histogram<u32> {
        if !matches!(self.0, Repr::Full(_)) {
            let mut hist = Box::new(Self::dense());
            if let Repr::Compact(pairs) = &self.0 {
                for (value, count) in pairs.iter() {
                    hist.saturating_record_n(*value, *count);
                }
            }
            self.0 = Repr::Full(hist);
        }
        match &mut self.0 {
            Repr::Full(hist) => hist,
            Repr::Empty | Repr::Compact(_) => unreachable!("made dense just above"),
        }
    }

    /// Records one wait.
    pub fn record(&mut self, wait_ms: u64) {
        self.full()
            .saturating_record(wait_ms.clamp(1, WAIT_HIST_MAX_MS));
    }

    /// Switches to the sparse form (for buckets that are no longer written).
    pub fn compact(&mut self) {
        if let Repr::Full(hist) = &self.0 {
            let pairs: Box<[(u64, u32)]> = hist
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            self.0 = if pairs.is_empty() {
                Repr::Empty
            } else {
                Repr::Compact(pairs)
            };
        }
    }

    /// The wait at quantile `q` (0..1) in ms; `None` when empty. Waits under 1 ms read as 1.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        match &self.0 {
            Repr::Empty => None,
            Repr::Full(hist) => (!hist.is_empty()).then(|| hist.value_at_quantile(q)),
            Repr::Compact(_) => {
                let mut dense = self.clone();
                let hist = dense.full();
                (!hist.is_empty()).then(|| hist.value_at_quantile(q))
            }
        }
    }

    /// Number of recorded waits.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Repr::Empty => 0,
            Repr::Full(hist) => hist.len(),
            Repr::Compact(pairs) => pairs.iter().map(|(_, n)| u64::from(*n)).sum(),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held on the heap (for memory accounting in benches).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Empty => 0,
            Repr::Full(hist) => hist.distinct_values() * 4 + 64,
            Repr::Compact(pairs) => std::mem::size_of_val(&**pairs),
        }
    }
}

impl Merge for WaitHistogram {
    fn merge(&mut self, other: &Self) {
        match &other.0 {
            Repr::Empty => {}
            // Both sides share the same bounds, so `add` cannot run out of range; saturation
            // happened at record time.
            Repr::Full(theirs) => {
                let _ = self.full().add(theirs.as_ref());
            }
            Repr::Compact(pairs) => {
                let ours = self.full();
                for (value, count) in pairs.iter() {
                    ours.saturating_record_n(*value, *count);
                }
            }
        }
    }
}

/// Declares [`CallCounts`] from one list of its additive counters: the struct and its merge
/// come from the same lines, so a new counter cannot be left out of the merge.
macro_rules! call_counts {
    ($( $(#[$doc:meta])* $field:ident ),* $(,)?) => {
        /// The counters of one queue's calls, handling and CSAT over some span: a bucket, a
        /// window or a lifetime. All of them add under merge.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct CallCounts {
            $( $(#[$doc])* pub $field: u64, )*
            /// Answered within each of the queue's SL thresholds, in policy order.
            pub answered_within: [u64; MAX_SL_THRESHOLDS],
            /// Abandoned (short ones included) within each SL threshold: the vendor
            /// formulas that count a caller who gave up early as served in time.
            pub abandoned_within: [u64; MAX_SL_THRESHOLDS],
        }

        impl CallCounts {
            /// Adds `other` into `self`.
            pub fn merge(&mut self, other: &CallCounts) {
                $( self.$field += other.$field; )*
                for (ours, theirs) in self.answered_within.iter_mut().zip(other.answered_within) {
                    *ours += theirs;
                }
                for (ours, theirs) in self.abandoned_within.iter_mut().zip(other.abandoned_within) {
                    *ours += theirs;
                }
            }

            /// Takes `other` (a part of `self`) out of `self`.
            pub fn remove(&mut self, other: &CallCounts) {
                $( self.$field = self.$field.saturating_sub(other.$field); )*
                for (ours, theirs) in self.answered_within.iter_mut().zip(other.answered_within) {
                    *ours = ours.saturating_sub(theirs);
                }
                for (ours, theirs) in self.abandoned_within.iter_mut().zip(other.abandoned_within) {
                    *ours = ours.saturating_sub(theirs);
                }
            }
        }
    };
}

call_counts! {
    offered,
    answered,
    /// Every abandon, short ones included.
    abandoned,
    /// Abandons with a wait under the queue's short-abandon threshold.
    short_abandoned,
    /// Calls that left unanswered by an exit the queue does not count as an abandon
    /// (`exits_not_abandoned`, e.g. a key pressed for voicemail).
    exited,
    /// Sum of answered calls' waits (ms): ASA's numerator.
    answer_wait_ms,
    /// Sum of abandoned calls' waits (ms), short ones included.
    abandon_wait_ms,
    completed,
    talk_ms,
    hold_ms,
    acw_ms,
    /// Completed calls with some hold time.
    held,
    /// Completed calls that carried the agent's `resolved` flag, and how many said true.
    resolved_reported,
    resolved_true,
    csat_responses,
    /// Responses scoring 4 or 5 (top-2-box).
    csat_positive,
    csat_score_sum,
    /// NPS answers (0-10), and those from promoters (9-10) and detractors (0-6).
    nps_responses,
    nps_promoters,
    nps_detractors,
    /// Calls queued here by a transfer from another queue (also in `offered`).
    transferred_in,
    /// Calls that left this queue by a transfer to another one.
    transferred_out,
}

impl CallCounts {
    /// An answered call with its wait, checked against `thresholds_ms` (inclusive).
    pub fn record_answer(&mut self, wait_ms: u64, thresholds_ms: &[u64]) {
        self.answered += 1;
        self.answer_wait_ms += wait_ms;
        for (count, &limit) in self.answered_within.iter_mut().zip(thresholds_ms) {
            *count += u64::from(wait_ms <= limit);
        }
    }

    /// An abandoned call with its wait; `short` when under the short-abandon threshold;
    /// checked against `thresholds_ms` (inclusive) like an answer.
    pub fn record_abandon(&mut self, wait_ms: u64, short: bool, thresholds_ms: &[u64]) {
        self.abandoned += 1;
        self.short_abandoned += u64::from(short);
        self.abandon_wait_ms += wait_ms;
        for (count, &limit) in self.abandoned_within.iter_mut().zip(thresholds_ms) {
            *count += u64::from(wait_ms <= limit);
        }
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
        self.held += u64::from(hold_ms > 0);
        if let Some(resolved) = resolved {
            self.resolved_reported += 1;
            self.resolved_true += u64::from(resolved);
        }
    }

    /// A survey's answers (already validated: CSAT 1..=5, NPS 0..=10).
    pub fn record_survey(&mut self, score: Option<u8>, nps: Option<u8>) {
        if let Some(score) = score {
            self.record_csat(score);
        }
        if let Some(nps) = nps {
            let (promoter, detractor) = nps_class(nps);
            self.nps_responses += 1;
            self.nps_promoters += u64::from(promoter);
            self.nps_detractors += u64::from(detractor);
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

    /// The service-level numerator under `formula`, per threshold in policy order.
    pub fn sl_numerators(&self, formula: SlFormula) -> [u64; MAX_SL_THRESHOLDS] {
        match formula {
            SlFormula::AnsweredAbandoned
            | SlFormula::Offered
            | SlFormula::OfferedMinusShort
            | SlFormula::AsteriskSl => self.answered_within,
            SlFormula::AsteriskSl2 | SlFormula::RemovedWithin => {
                std::array::from_fn(|i| self.answered_within[i] + self.abandoned_within[i])
            }
        }
    }

    /// The service-level denominator under `formula`.
    pub fn sl_denominator(&self, formula: SlFormula) -> u64 {
        match formula {
            SlFormula::AnsweredAbandoned => self.answered + self.counted_abandons(),
            SlFormula::Offered | SlFormula::RemovedWithin => self.offered,
            SlFormula::OfferedMinusShort => self.offered.saturating_sub(self.short_abandoned),
            SlFormula::AsteriskSl => self.answered,
            SlFormula::AsteriskSl2 => self.answered + self.abandoned,
        }
    }

    /// The abandonment rate's numerator and denominator: abandoned over offered, short
    /// abandons left out of both when `exclude_short`.
    pub fn abandon_parts(&self, exclude_short: bool) -> (u64, u64) {
        if exclude_short {
            (
                self.counted_abandons(),
                self.offered.saturating_sub(self.short_abandoned),
            )
        } else {
            (self.abandoned, self.offered)
        }
    }

    /// Total handle time (talk + hold + after-call work), ms.
    pub fn handle_ms(&self) -> u64 {
        self.talk_ms + self.hold_ms + self.acw_ms
    }
}

/// Whether an NPS answer (0-10) is a promoter's (9-10) and whether a detractor's (0-6);
/// 7-8 are passives, counted in the responses only.
pub fn nps_class(answer: u8) -> (bool, bool) {
    (answer >= 9, answer <= 6)
}

/// Net Promoter Score: the share of promoters minus the share of detractors, in points
/// (-100 to 100); `None` without responses.
pub fn nps_score(promoters: u64, detractors: u64, responses: u64) -> Option<f64> {
    (responses > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / responses as f64)
}

/// One queue's figures over a span of event time (a bucket or a merged window): the counts
/// plus what only windows need, the longest answered wait and the wait distribution.
///
/// Numbers are attributed to the bucket of the event that completes them: `offered` at the
/// `call_queued` time, answers and abandons (with their wait) at the outcome time, handle
/// time at `call_completed`, CSAT at the response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallAgg {
    pub counts: CallCounts,
    /// Longest wait of an answered call (ms).
    pub max_answer_wait_ms: u64,
    /// Shortest wait of an answered call (ms); `None` before the first answer.
    pub min_answer_wait_ms: Option<u64>,
    /// Answered-wait distribution, for percentiles.
    pub wait_hist: WaitHistogram,
}

impl CallAgg {
    /// An answered call: counted, and its wait kept for the maximum and the percentiles.
    pub fn record_answer(&mut self, wait_ms: u64, thresholds_ms: &[u64]) {
        self.counts.record_answer(wait_ms, thresholds_ms);
        self.max_answer_wait_ms = self.max_answer_wait_ms.max(wait_ms);
        self.min_answer_wait_ms = Some(self.min_answer_wait_ms.map_or(wait_ms, |m| m.min(wait_ms)));
        self.wait_hist.record(wait_ms);
    }

    /// The answered wait at quantile `q` (0..1) in ms, `None` before the first answer. The
    /// histogram answers with its bucket's highest equivalent value (within 1 %), which can
    /// pass the exact maximum or fall under the exact minimum: clamped to both, so p99 is
    /// never above the max.
    pub fn wait_quantile_ms(&self, q: f64) -> Option<u64> {
        let min = self.min_answer_wait_ms?;
        self.wait_hist
            .quantile_ms(q)
            .map(|v| v.clamp(min, self.max_answer_wait_ms.max(min)))
    }
}

impl Merge for CallAgg {
    fn merge(&mut self, other: &Self) {
        self.counts.merge(&other.counts);
        self.max_answer_wait_ms = self.max_answer_wait_ms.max(other.max_answer_wait_ms);
        self.min_answer_wait_ms = match (self.min_answer_wait_ms, other.min_answer_wait_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.wait_hist.merge(&other.wait_hist);
    }
}

/// Lifetime figures of one queue: what becomes Prometheus `_total` counters and the wait
/// histogram. Only ever grows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTotals {
    pub counts: CallCounts,
    /// Answered waits per histogram bound (non-cumulative): `wait_le[i]` counts waits in
    /// `(bound[i-1], bound[i]]`; the last slot holds waits above every bound.
    pub wait_le: Vec<u64>,
}

impl CallTotals {
    /// An answered call: counted, and its wait put in the Prometheus-style bucket.
    pub fn record_answer(&mut self, wait_ms: u64, thresholds_ms: &[u64], bounds_ms: &[u64]) {
        self.counts.record_answer(wait_ms, thresholds_ms);
        if self.wait_le.len() != bounds_ms.len() + 1 {
            self.wait_le.resize(bounds_ms.len() + 1, 0);
        }
        let slot = bounds_ms.partition_point(|&bound| bound < wait_ms);
        self.wait_le[slot] += 1;
    }

    /// Takes `other` (a part of `self`) out of `self`.
    pub fn remove(&mut self, other: &CallTotals) {
        self.counts.remove(&other.counts);
        for (ours, theirs) in self.wait_le.iter_mut().zip(&other.wait_le) {
            *ours = ours.saturating_sub(*theirs);
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &CallTotals) {
        self.counts.merge(&other.counts);
        if self.wait_le.len() < other.wait_le.len() {
            self.wait_le.resize(other.wait_le.len(), 0);
        }
        for (ours, theirs) in self.wait_le.iter_mut().zip(&other.wait_le) {
            *ours += theirs;
        }
    }
}

#[cfg(test)]
mod tests;
