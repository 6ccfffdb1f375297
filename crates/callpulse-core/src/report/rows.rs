//! The rows a report fills, and the sink through which the call ledger fills them: each
//! figure in the interval its attribution names, in its queue's row and the center's.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::Ts;
use rustc_hash::FxHashMap;

use super::{Attribution, CENTER, ReportRow, ReportSpec};
use crate::calendar::PeriodCache;
use crate::calls::{CallAgg, MAX_SL_THRESHOLDS};
use crate::fcr::FcrFact;

use super::settling::FcrSettling;
use crate::ledger::{Applied, CallSink, Completion, ContactFact, LegOutcome, Outcome, Survey};
use crate::live::Names;
use crate::policy::{ExitSet, MetricsPolicy, QueuePolicy};
use crate::snapshot::window_metrics;

#[derive(Debug, Default)]
pub(super) struct Row {
    pub(super) agg: CallAgg,
    pub(super) fcr_success: u64,
    pub(super) fcr_eligible: u64,
    pub(super) fcr_open: u64,
    /// Completions whose contact is followed for FCR (the rest have no known customer).
    pub(super) fcr_followed: u64,
}

/// A row's definitions: the queue's policy with the report's threshold override applied.
#[derive(Debug)]
pub(super) struct RowPolicy {
    policy: QueuePolicy,
    thresholds_ms: Vec<u64>,
    short_abandon_ms: u64,
    exits_not_abandoned: ExitSet,
}

/// The rows being filled, per (interval start, queue), each number also going to `*`; rows
/// of intervals before `written_before` were handed out and take nothing more.
#[derive(Debug)]
pub(super) struct Rows {
    policy: Arc<MetricsPolicy>,
    spec: ReportSpec,
    rows: BTreeMap<(Ts, Arc<str>), Row>,
    policies: FxHashMap<Arc<str>, Arc<RowPolicy>>,
    center: Arc<str>,
    /// The last interval asked about: a contact's numbers mostly fall in one.
    interval: PeriodCache,
    written_before: Option<Ts>,
}

impl Rows {
    pub(super) fn new(policy: Arc<MetricsPolicy>, spec: ReportSpec) -> Self {
        let interval = PeriodCache::new(spec.calendar, spec.interval_secs);
        Rows {
            policy,
            spec,
            rows: BTreeMap::new(),
            policies: FxHashMap::default(),
            center: Arc::from(CENTER),
            interval,
            written_before: None,
        }
    }

    pub(super) fn offered_mode(&self) -> bool {
        self.spec.attribution == Attribution::Offered
    }

    /// Rows held now.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    fn row_policy(&mut self, queue: &Arc<str>) -> Arc<RowPolicy> {
        if let Some(p) = self.policies.get(queue) {
            return Arc::clone(p);
        }
        let mut policy = if **queue == *CENTER {
            self.policy.default_queue.clone()
        } else {
            self.policy.queue(queue).clone()
        };
        if let Some(thresholds) = &self.spec.sl_thresholds_override {
            policy.sl_thresholds_secs.clone_from(thresholds);
        }
        policy.sl_thresholds_secs.truncate(MAX_SL_THRESHOLDS);
        let p = Arc::new(RowPolicy {
            thresholds_ms: policy
                .sl_thresholds_secs
                .iter()
                .map(|s| u64::from(*s) * 1000)
                .collect(),
            short_abandon_ms: u64::from(policy.short_abandon_secs) * 1000,
            exits_not_abandoned: ExitSet::of(&policy.exits_not_abandoned),
            policy,
        });
        self.policies.insert(Arc::clone(queue), Arc::clone(&p));
        p
    }

    /// Runs `f` on the row of `queue` and on the center's row, in the interval of `at`;
    /// `Late` (and nothing runs) when that interval was already written.
    pub(super) fn each(
        &mut self,
        at: Ts,
        queue: &Arc<str>,
        mut f: impl FnMut(&mut Row, &RowPolicy),
    ) -> Applied {
        let applied = self.one(at, queue, &mut f);
        let center = Arc::clone(&self.center);
        let _ = self.one(at, &center, f);
        applied
    }

    /// Runs `f` on the row of `name` (a queue, or the center) in the interval of `at`.
    pub(super) fn one(
        &mut self,
        at: Ts,
        name: &Arc<str>,
        f: impl FnOnce(&mut Row, &RowPolicy),
    ) -> Applied {
        let start = self.interval.start_of(at);
        if self.written_before.is_some_and(|before| start < before) {
            return Applied::Late;
        }
        let policy = self.row_policy(name);
        let row = self.rows.entry((start, Arc::clone(name))).or_default();
        f(row, &policy);
        Applied::Counted
    }

    /// Runs `f` on the center's row and its policy in the interval of `at`.
    fn center_with(&mut self, at: Ts, f: impl FnOnce(&mut Row, &RowPolicy)) -> Applied {
        let center = Arc::clone(&self.center);
        self.one(at, &center, f)
    }

    /// Hands out every row of an interval that ends at or before `through`, in order; those
    /// intervals take nothing more.
    pub(super) fn write_through(&mut self, through: Ts) -> Vec<ReportRow> {
        let before = self.interval.start_of(through);
        if self.written_before.is_some_and(|b| b >= before) {
            return Vec::new();
        }
        self.written_before = Some(before);
        let keep = self.rows.split_off(&(before, Arc::from("")));
        let done = std::mem::replace(&mut self.rows, keep);
        self.render(done)
    }

    /// Every row left, in order.
    pub(super) fn write_all(&mut self) -> Vec<ReportRow> {
        let done = std::mem::take(&mut self.rows);
        self.render(done)
    }

    fn render(&mut self, rows: BTreeMap<(Ts, Arc<str>), Row>) -> Vec<ReportRow> {
        let label = crate::policy::window_label(self.spec.interval_secs.div_ceil(60));
        rows.into_iter()
            .map(|((start, queue), row)| {
                let policy = self.row_policy(&queue);
                let cal = &self.spec.calendar;
                ReportRow {
                    interval_start: cal.rfc3339(start),
                    interval_end: cal
                        .rfc3339(cal.next_period_start(start, self.spec.interval_secs)),
                    queue: queue.to_string(),
                    metrics: window_metrics(&label, &row.agg, &policy.policy),
                    sl_formula: policy.policy.sl_formula.as_str(),
                    fcr_success: row.fcr_success,
                    fcr_eligible: row.fcr_eligible,
                    fcr: (row.fcr_eligible > 0)
                        .then(|| row.fcr_success as f64 / row.fcr_eligible as f64),
                    fcr_open: row.fcr_open,
                    fcr_unknown_customer: row.agg.counts.completed.saturating_sub(row.fcr_followed),
                }
            })
            .collect()
    }
}

/// The report's rows, its queue names and its FCR tracker, borrowed for one event.
pub(super) struct RowSink<'a> {
    pub(super) rows: &'a mut Rows,
    pub(super) names: &'a Names,
    pub(super) fcr: &'a mut FcrSettling,
}

impl RowSink<'_> {
    /// The interval instant of a figure: its home (the contact's offer) by offered
    /// attribution when known, else its own time.
    fn key(&self, home: Option<Ts>, own: Ts) -> Ts {
        match home {
            Some(home) if self.rows.offered_mode() => home,
            _ => own,
        }
    }
}

impl CallSink for RowSink<'_> {
    fn offered(&mut self, queue: u32, at: Ts, transfer: bool, source: Option<u32>) -> Applied {
        let applied = self.rows.one(at, self.names.name(queue), |row, _| {
            row.agg.counts.offered += 1;
            row.agg.counts.transferred_in += u64::from(transfer);
        });
        if let Some(source) = source {
            let _ = self.rows.one(at, self.names.name(source), |row, _| {
                row.agg.counts.transferred_out += 1;
            });
        }
        if !transfer {
            let _ = self
                .rows
                .center_with(at, |row, _| row.agg.counts.offered += 1);
        }
        applied
    }

    fn outcome(&mut self, leg: &LegOutcome) -> Applied {
        let queue = self.names.name(leg.queue);
        let wait = leg.wait_ms();
        let key = self.key(Some(leg.queued), leg.at);
        let outcome = leg.outcome;
        // Short abandons and exits as the queue the call left defines them.
        let queue_policy = self.rows.row_policy(queue);
        let (short_ms, exits) = (
            queue_policy.short_abandon_ms,
            queue_policy.exits_not_abandoned,
        );
        let record = |agg: &mut CallAgg, wait: u64, thresholds_ms: &[u64]| match outcome {
            Outcome::Answered => agg.record_answer(wait, thresholds_ms),
            Outcome::Abandoned(reason) if exits.contains(reason) => agg.counts.exited += 1,
            Outcome::Abandoned(_) => {
                agg.counts
                    .record_abandon(wait, wait < short_ms, thresholds_ms);
            }
        };
        let applied = self.rows.one(key, queue, |row, p| {
            record(&mut row.agg, wait, &p.thresholds_ms);
        });
        if let Some(wait) = leg.contact_wait_ms() {
            let key = self.key(leg.contact_queued, leg.at);
            let _ = self
                .rows
                .center_with(key, |row, p| record(&mut row.agg, wait, &p.thresholds_ms));
        }
        applied
    }

    fn completed(&mut self, done: &Completion, home: Option<Ts>) -> Applied {
        let key = self.key(home, done.at);
        self.rows.each(key, self.names.name(done.queue), |row, _| {
            row.agg
                .counts
                .record_completed(done.talk_ms, done.hold_ms, done.acw_ms, done.resolved);
        })
    }

    fn surveyed(&mut self, survey: &Survey, home: Option<Ts>) -> Applied {
        let key = self.key(home, survey.at);
        self.rows
            .each(key, self.names.name(survey.queue), |row, _| {
                row.agg.counts.record_survey(survey.score, survey.nps);
            })
    }

    fn contact(&mut self, fact: ContactFact) {
        match fact {
            ContactFact::Contact { customer, at } => {
                self.fcr.apply(&FcrFact::Contact { customer, at });
            }
            ContactFact::Completed {
                customer,
                offered,
                done,
                queue,
                home,
                ..
            } => {
                let key = self.key(home, done);
                let queue = self.names.name(queue);
                let _ = self.rows.each(key, queue, |row, _| row.fcr_followed += 1);
                self.fcr.apply(&FcrFact::Completed {
                    customer,
                    offered,
                    done,
                    queue: Arc::clone(queue),
                    key,
                });
            }
        }
    }
}
