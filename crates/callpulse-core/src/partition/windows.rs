//! What a queue and the center keep: sliding and calendar windows of call figures.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use callpulse_events::Ts;

use super::Applied;
use crate::calls::{CallAgg, CallCounts, CallTotals, MAX_SL_THRESHOLDS};
use crate::periods::Periods;
use crate::policy::{ExitSet, MetricsPolicy};
use crate::window::BucketRing;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct QueueState {
    pub(super) name: Arc<str>,
    pub(super) thresholds_ms: [u64; MAX_SL_THRESHOLDS],
    pub(super) threshold_count: usize,
    pub(super) short_abandon_ms: u64,
    pub(super) exits_not_abandoned: ExitSet,
    pub(super) wait_bounds_ms: Vec<u64>,
    pub(super) windows: CallWindows,
    pub(super) totals: CallTotals,
    /// The partition's event time when an event last named the queue (`names.rs`).
    pub(super) last_event: Ts,
}

impl QueueState {
    /// The slot of an evicted queue until its id goes to a new name: no name, a one-bucket
    /// ring, nothing counted.
    pub(super) fn vacant(policy: &MetricsPolicy) -> Self {
        QueueState {
            name: Arc::from(""),
            thresholds_ms: [0; MAX_SL_THRESHOLDS],
            threshold_count: 0,
            short_abandon_ms: 0,
            exits_not_abandoned: ExitSet::default(),
            wait_bounds_ms: Vec::new(),
            windows: CallWindows::new(policy, 1),
            totals: CallTotals::default(),
            last_event: Ts(i64::MIN),
        }
    }
}

/// The sliding (bucket ring) and calendar windows of call figures, as a queue and the
/// center each keep them.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CallWindows {
    pub(super) ring: BucketRing<CallAgg>,
    pub(super) periods: Periods,
}

impl CallWindows {
    pub(super) fn new(policy: &MetricsPolicy, ring_capacity: usize) -> Self {
        CallWindows {
            ring: BucketRing::new(policy.bucket_ms(), ring_capacity),
            periods: Periods::new(
                policy.calendar(),
                policy.interval_mins.saturating_mul(60),
                policy.future_skew_ms(),
            ),
        }
    }

    /// Records into the bucket of `ts` and the calendar periods it falls in; `Late` when the
    /// ring no longer holds that bucket.
    pub(super) fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) -> Applied {
        self.periods.record(ts, &f);
        match self.ring.bucket_mut(ts.millis()) {
            Some(bucket) => {
                f(bucket);
                Applied::Counted
            }
            None => Applied::Late,
        }
    }

    /// The sliding windows of `lens` buckets (policy order), then the calendar ones.
    pub(super) fn read(&mut self, now: Ts, lens: &[usize]) -> Vec<CallAgg> {
        // Closed buckets are read at every tick and rarely written: keep their histograms
        // sparse. Done per snapshot, not per minute, because a backlog being caught up
        // closes many buckets between two wall-clock minutes; a bucket already sparse
        // costs nothing here.
        self.ring.for_each_closed(|agg| agg.wait_hist.compact());
        let mut windows = self.ring.windows(now.millis(), lens);
        for window in &mut windows {
            window.wait_hist.compact();
        }
        windows.extend(self.periods.read(now));
        windows
    }
}

/// The whole center: every queue's calls in one set of windows, answered-within counted at
/// the default queue's thresholds, short abandons as each queue defines them.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Center {
    pub(super) windows: CallWindows,
    pub(super) thresholds_ms: [u64; MAX_SL_THRESHOLDS],
    pub(super) threshold_count: usize,
}

impl Center {
    pub(super) fn new(policy: &MetricsPolicy, ring_capacity: usize) -> Self {
        let mut thresholds_ms = [0u64; MAX_SL_THRESHOLDS];
        for (slot, secs) in thresholds_ms
            .iter_mut()
            .zip(&policy.default_queue.sl_thresholds_secs)
        {
            *slot = u64::from(*secs) * 1000;
        }
        Center {
            windows: CallWindows::new(policy, ring_capacity),
            thresholds_ms,
            threshold_count: policy
                .default_queue
                .sl_thresholds_secs
                .len()
                .min(MAX_SL_THRESHOLDS),
        }
    }

    /// Records like a queue does; lateness is the queue's to report.
    pub(super) fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) {
        let _ = self.windows.record(ts, f);
    }
}

impl QueueState {
    pub(super) fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) -> Applied {
        self.windows.record(ts, f)
    }

    /// Counts into the lifetime totals and the windows of `ts` alike.
    pub(super) fn count(&mut self, ts: Ts, f: impl Fn(&mut CallCounts)) -> Applied {
        f(&mut self.totals.counts);
        self.windows.record(ts, |b| f(&mut b.counts))
    }
}
