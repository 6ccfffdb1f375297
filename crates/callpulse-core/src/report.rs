//! Interval reports: the figures of a history per queue and calendar interval, plus the
//! whole center (queue `*`), as `callpulse replay --report` writes them.
//!
//! A report reads the history through the same per-call ledger as the live partitions
//! (`ledger.rs`: pairing, parking, transfers, FCR contacts), with the same dedupe and the
//! same FCR tracker, so a report and the live figures of the same events cannot disagree on
//! what happened; they differ only in which interval a figure is put in (its offer, or its
//! own time: [`Attribution`]). The formulas are the live ones ([`crate::CallAgg`] and the
//! snapshot's derived figures).
//!
//! Memory is bounded by time, not by the history's length: a row is written once event
//! time is past its end by [`ReportBuilder::settle_ms`] (the FCR window, the orphan timeout,
//! the allowed skew and, by offered interval, the longest wait and [`HANDLING_ALLOWANCE_MS`]),
//! after which nothing can change it; anything that still would is counted `late`.
//! `docs/reports.md` documents the format.

use std::collections::BTreeSet;
use std::sync::Arc;

use callpulse_events::{Envelope, Rejection, Ts};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::calls::MAX_SL_THRESHOLDS;
use crate::dedupe::Dedupe;
use crate::fcr::{FcrTracker, SETTLE_LAG_MS};
use crate::ledger::{Applied, CallEvent, CallLedger};
use crate::live::Names;
use crate::partition::PartitionCounters;
use crate::policy::MetricsPolicy;
use crate::snapshot::WindowMetrics;
use settling::FcrSettling;

use rows::{RowSink, Rows};

/// By offered interval, how long after its outcome a contact's completion (talk, hold and
/// wrap-up) may come and still be placed in its row.
pub const HANDLING_ALLOWANCE_MS: i64 = 2 * 3600 * 1000;

/// The queue name of the whole-center rows.
pub const CENTER: &str = "*";

/// Which interval a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// Every number of a contact goes to the interval it was offered to the queue in (its
    /// answer, abandon, handle time, CSAT and FCR), as vendors' interval reports do.
    Offered,
    /// Each event counts in the interval of its own timestamp, as the live windows do.
    Event,
}

/// What to report and how.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    /// Interval length in seconds; divides a day or is one day (see [`Calendar`]).
    pub interval_secs: u32,
    pub calendar: Calendar,
    pub attribution: Attribution,
    /// Replaces every queue's configured SL thresholds when set.
    pub sl_thresholds_override: Option<Vec<u32>>,
}

/// One report line: a queue (or `*`) in one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// RFC 3339 in the report's zone.
    pub interval_start: String,
    pub interval_end: String,
    pub queue: String,
    /// The live window figures of this interval (`window` is the interval length).
    #[serde(flatten)]
    pub metrics: WindowMetrics,
    /// The SL formula the row's `service_level` used.
    pub sl_formula: &'static str,
    /// Completed contacts whose FCR window has closed within the history, and those of them
    /// whose customer made no further contact in it.
    pub fcr_success: u64,
    pub fcr_eligible: u64,
    pub fcr: Option<f64>,
    /// Completed contacts whose FCR window was still open where the history ends (left out
    /// of `fcr_eligible`), and those not followed for FCR (no `customer_id`, or a queueing
    /// not in the history): never eligible.
    pub fcr_open: u64,
    pub fcr_unknown_customer: u64,
}

/// Events a report took in, by fate (the live partition's counters, where they apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReportCounters {
    /// Counted in a row.
    pub applied: u64,
    pub duplicates: u64,
    /// Valid events a call report has no use for (agent states, ticket updates) or that
    /// change nothing (a second outcome of a call).
    pub ignored: u64,
    /// Figures for a row already written (see the module docs), left out.
    pub late: u64,
    /// Answers and abandons of calls never queued within the orphan timeout.
    pub orphaned: u64,
    /// Calls still waiting after `max_wait_secs`: their outcome never came.
    pub stale_waiting: u64,
    /// Outcomes stamped before their queueing (wait counted as 0).
    pub clock_skew: u64,
    /// Calls or homes forgotten at `max_calls`, contacts not followed for FCR at the cap,
    /// customers forgotten at `max_fcr_customers` with contacts pending, and ids forgotten
    /// early at `dedupe_capacity`: 0 unless a cap bit.
    pub call_evicted: u64,
    pub fcr_untracked: u64,
    pub fcr_evicted: u64,
    pub dedupe_evicted: u64,
}

/// Reads a history in file order, writing rows as they become final.
#[derive(Debug)]
pub struct ReportBuilder {
    policy: Arc<MetricsPolicy>,
    spec: ReportSpec,
    seen: Dedupe,
    names: Names,
    ledger: CallLedger,
    fcr: FcrSettling,
    rows: Rows,
    settle_ms: i64,
    high_water: Option<Ts>,
    swept_bucket: i64,
    ledger_counters: PartitionCounters,
    counters: ReportCounters,
}

impl ReportBuilder {
    /// An empty report under `policy` (validated) and `spec`.
    pub fn new(policy: Arc<MetricsPolicy>, spec: ReportSpec) -> Self {
        let settle_ms = Self::settle_ms(&policy, spec.attribution);
        let ledger = CallLedger::new(policy.ledger_limits(), Some(settle_ms));
        ReportBuilder {
            seen: Dedupe::new(policy.dedupe_capacity),
            names: Names::default(),
            ledger,
            fcr: FcrSettling::new(FcrTracker::for_policy(&policy)),
            rows: Rows::new(Arc::clone(&policy), spec.clone()),
            settle_ms,
            high_water: None,
            swept_bucket: i64::MIN,
            ledger_counters: PartitionCounters::default(),
            counters: ReportCounters::default(),
            policy,
            spec,
        }
    }

    /// How far event time must be past an interval's end before its rows are final: the
    /// FCR window and the tracker's settle lag, the orphan timeout and the allowed future
    /// skew, and by offered interval also the longest wait and the handling allowance (a
    /// contact offered in the interval may be answered and completed that much later).
    pub fn settle_ms(policy: &MetricsPolicy, attribution: Attribution) -> i64 {
        let base = i64::from(policy.fcr_window_secs) * 1000
            + SETTLE_LAG_MS
            + i64::from(policy.orphan_timeout_secs) * 1000
            + policy.future_skew_ms();
        match attribution {
            Attribution::Event => base,
            Attribution::Offered => {
                base + i64::from(policy.max_wait_secs) * 1000 + HANDLING_ALLOWANCE_MS
            }
        }
    }

    /// The SL thresholds (seconds) any row can show: the override, or every configured
    /// queue's and the default's. A CSV header names them before the first row is written.
    pub fn thresholds(&self) -> BTreeSet<u32> {
        if let Some(thresholds) = &self.spec.sl_thresholds_override {
            return thresholds.iter().take(MAX_SL_THRESHOLDS).copied().collect();
        }
        std::iter::once(&self.policy.default_queue)
            .chain(self.policy.queues.values())
            .flat_map(|q| q.sl_thresholds_secs.iter().take(MAX_SL_THRESHOLDS).copied())
            .collect()
    }

    fn queue_id(&mut self, name: &str) -> Result<u32, Rejection> {
        self.names
            .id(name, self.policy.max_queues, || {
                self.policy.configures_queue(name)
            })
            .ok_or(Rejection::TooManyNames("queue"))
    }

    /// Takes one decoded event, in file order.
    ///
    /// # Errors
    /// [`Rejection::Duplicate`] for an `event_id` already taken, and
    /// [`Rejection::TooManyNames`] past the queue cap, as the live partition rejects them.
    pub fn apply(&mut self, env: &Envelope) -> Result<Applied, Rejection> {
        let bucket_ms = self.policy.bucket_ms();
        let generation = self.high_water.unwrap_or(env.ts).max(env.ts).millis() / bucket_ms;
        if !self.seen.insert(&env.event_id, generation) {
            self.counters.duplicates += 1;
            return Err(Rejection::Duplicate);
        }
        let ts = env.ts;
        let applied = match CallEvent::of(&env.event, ts, |name| self.queue_id(name))? {
            Some(event) => {
                let (ledger, mut sink, counters) = self.split();
                ledger.take(event, &mut sink, counters)
            }
            // Agent states and ticket updates: a call report has no use for them.
            None => Applied::Ignored,
        };
        self.high_water = Some(self.high_water.map_or(ts, |hw| hw.max(ts)));
        self.settle();
        self.housekeeping();
        let counter = match applied {
            // A parked event is counted in a row once its call comes.
            Applied::Counted | Applied::Parked => &mut self.counters.applied,
            Applied::Late => &mut self.counters.late,
            Applied::Ignored => &mut self.counters.ignored,
        };
        *counter += 1;
        Ok(applied)
    }

    /// The ledger, and a sink into the rows, borrowed apart.
    fn split(&mut self) -> (&mut CallLedger, RowSink<'_>, &mut PartitionCounters) {
        (
            &mut self.ledger,
            RowSink {
                rows: &mut self.rows,
                names: &self.names,
                fcr: &mut self.fcr,
            },
            &mut self.ledger_counters,
        )
    }

    /// Moves the FCR outcomes whose window has closed (by the tracker's lag) into rows.
    fn settle(&mut self) {
        let Some(hw) = self.high_water else {
            return;
        };
        for o in self.fcr.settle(hw) {
            self.record_fcr(o.key, &o.unit, o.success);
        }
    }

    /// Counts one FCR outcome (`None`: still open) in the row of `key`.
    fn record_fcr(&mut self, key: Ts, queue: &Arc<str>, success: Option<bool>) {
        let applied = self.rows.each(key, queue, |row, _| match success {
            Some(success) => {
                row.fcr_eligible += 1;
                row.fcr_success += u64::from(success);
            }
            None => row.fcr_open += 1,
        });
        if applied == Applied::Late {
            self.counters.late += 1;
        }
    }

    /// Expiry by the history's own event time, once per bucket, as a live partition does.
    fn housekeeping(&mut self) {
        let Some(clock) = self.high_water else {
            return;
        };
        let bucket_ms = self.policy.bucket_ms();
        let bucket = clock.millis().div_euclid(bucket_ms);
        if bucket == self.swept_bucket {
            return;
        }
        self.swept_bucket = bucket;
        let (ledger, mut sink, counters) = self.split();
        ledger.expire(clock, &mut sink, counters);
        // Ids are remembered as long as the live partition remembers them.
        let keep_ms = (self.policy.ring_capacity() as i64) * bucket_ms
            + i64::from(self.policy.orphan_timeout_secs) * 1000;
        self.seen
            .expire((clock.millis() - keep_ms).div_euclid(bucket_ms));
    }

    /// The rows that became final since the last call, in order (interval, then queue).
    pub fn take_final(&mut self) -> Vec<ReportRow> {
        match self.high_water {
            Some(hw) => self.rows.write_through(hw.plus_millis(-self.settle_ms)),
            None => Vec::new(),
        }
    }

    /// Rows held now (not yet final), for memory accounting.
    pub fn held_rows(&self) -> usize {
        self.rows.len()
    }

    /// The counters so far.
    pub fn counters(&self) -> ReportCounters {
        let mut c = self.counters;
        let l = &self.ledger_counters;
        c.orphaned = l.orphaned;
        c.stale_waiting = l.stale_waiting;
        c.clock_skew = l.clock_skew;
        c.call_evicted = l.call_evicted;
        c.fcr_untracked = l.fcr_untracked;
        c.fcr_evicted = self.fcr.evicted();
        c.dedupe_evicted = self.seen.evicted_early;
        c
    }

    /// Ends the history: what still waits for its call is placed at its own time (outcomes
    /// without a queueing are orphans), FCR windows closed by the last event settle, the
    /// rest count as open; returns the remaining rows, in order, and the final counters.
    pub fn finish(mut self) -> (Vec<ReportRow>, ReportCounters) {
        let (ledger, mut sink, counters) = self.split();
        ledger.release_all(&mut sink, counters);
        let end = self.high_water.unwrap_or_default();
        for o in self.fcr.finish(end) {
            self.record_fcr(o.key, &o.unit, o.success);
        }
        let rows = self.rows.write_all();
        (rows, self.counters())
    }
}

mod rows;
mod settling;
mod teams;
#[cfg(test)]
mod tests;

pub use teams::{
    AgentRow, CallColumns, FcrColumns, StaffLevel, StaffRow, TeamCounters, TeamReport, TeamRow,
};
