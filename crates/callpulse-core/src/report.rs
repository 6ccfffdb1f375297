//! Interval reports: the figures of a finite history per queue and calendar interval, plus
//! the whole center (queue `*`), as `callpulse replay --report` writes them.
//!
//! Unlike the live windows, a report sees the whole history before it answers, so it keeps
//! every call's facts (a few dozen bytes per call) and settles them at the end: out-of-order
//! events need no parking, and a contact's numbers can all go to the interval it was offered
//! in. The formulas are the live ones ([`CallAgg`], [`window_metrics`]); `docs/reports.md`
//! documents the format.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::{Envelope, Event, Rejection, Ts};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::calendar::{Calendar, PeriodCache};
use crate::calls::{CallAgg, MAX_SL_THRESHOLDS};
use crate::dedupe::Dedupe;
use crate::fcr::is_repeat;
use crate::policy::{MetricsPolicy, QueuePolicy};
use crate::snapshot::{WindowMetrics, window_metrics};

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
    /// of `fcr_eligible`), and those without a `customer_id` (never eligible).
    pub fcr_open: u64,
    pub fcr_unknown_customer: u64,
}

/// Events a report took in, by fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReportCounters {
    pub applied: u64,
    pub duplicates: u64,
    /// Valid events a call report has no use for (agent states, ticket updates).
    pub ignored: u64,
    /// Answers and abandons of calls never queued in the history.
    pub orphaned: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Abandoned,
}

/// One time a call was queued (a transfer queues it again) and how that ended.
#[derive(Debug)]
struct Leg {
    queue: Arc<str>,
    queued: Ts,
    outcome: Option<(Outcome, Ts)>,
    /// `transferred_from`, when the producer marked this queueing as a transfer.
    from: Option<Arc<str>>,
}

#[derive(Debug)]
struct Completion {
    queue: Arc<str>,
    at: Ts,
    talk_ms: u64,
    hold_ms: u64,
    acw_ms: u64,
    resolved: Option<bool>,
}

#[derive(Debug, Default)]
struct CallFacts {
    legs: Vec<Leg>,
    outcomes: Vec<(Outcome, Ts)>,
    customer: Option<Arc<str>>,
    completion: Option<Completion>,
}

#[derive(Debug)]
struct Csat {
    interaction: String,
    queue: Arc<str>,
    at: Ts,
    score: u8,
}

#[derive(Debug)]
struct Row {
    agg: CallAgg,
    fcr_success: u64,
    fcr_eligible: u64,
    fcr_open: u64,
    fcr_unknown_customer: u64,
}

/// A row's definitions: the queue's policy with the report's threshold override applied.
#[derive(Debug)]
struct RowPolicy {
    policy: QueuePolicy,
    thresholds_ms: Vec<u64>,
    short_abandon_ms: u64,
}

/// Collects a history, then settles it into rows.
#[derive(Debug)]
pub struct ReportBuilder {
    policy: Arc<MetricsPolicy>,
    spec: ReportSpec,
    seen: Dedupe,
    names: FxHashMap<String, Arc<str>>,
    calls: FxHashMap<String, CallFacts>,
    csat: Vec<Csat>,
    /// Ticket contacts: (customer, created).
    tickets: Vec<(Arc<str>, Ts)>,
    high_water: Option<Ts>,
    counters: ReportCounters,
}

impl ReportBuilder {
    /// An empty report under `policy` (validated) and `spec`.
    pub fn new(policy: Arc<MetricsPolicy>, spec: ReportSpec) -> Self {
        ReportBuilder {
            policy,
            spec,
            // The whole history is held anyway: remember every id, exactly.
            seen: Dedupe::new(usize::MAX),
            names: FxHashMap::default(),
            calls: FxHashMap::default(),
            csat: Vec::new(),
            tickets: Vec::new(),
            high_water: None,
            counters: ReportCounters::default(),
        }
    }

    fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(name.to_owned(), Arc::clone(&n));
        n
    }

    /// Takes one decoded event, in any order.
    ///
    /// # Errors
    /// [`Rejection::Duplicate`] for an `event_id` already taken.
    pub fn apply(&mut self, env: &Envelope) -> Result<(), Rejection> {
        if !self.seen.insert(&env.event_id, 0) {
            self.counters.duplicates += 1;
            return Err(Rejection::Duplicate);
        }
        let ts = env.ts;
        self.high_water = Some(self.high_water.map_or(ts, |hw| hw.max(ts)));
        match &env.event {
            Event::CallQueued(e) => {
                let queue = self.name(&e.queue);
                let customer = e.customer_id.as_deref().map(|c| self.name(c));
                let from = e.transferred_from.as_deref().map(|q| self.name(q));
                let call = self.calls.entry(e.call_id.clone()).or_default();
                call.legs.push(Leg {
                    queue,
                    queued: ts,
                    outcome: None,
                    from,
                });
                call.customer = call.customer.take().or(customer);
            }
            Event::CallAnswered(e) => self.outcome(&e.call_id, Outcome::Answered, ts),
            Event::CallAbandoned(e) => self.outcome(&e.call_id, Outcome::Abandoned, ts),
            Event::CallCompleted(e) => {
                let queue = self.name(&e.queue);
                let call = self.calls.entry(e.call_id.clone()).or_default();
                // A second completion of the same call (a redelivery under a new id) is not
                // a second contact handled.
                if call.completion.is_none() {
                    call.completion = Some(Completion {
                        queue,
                        at: ts,
                        talk_ms: e.talk_ms.max(0) as u64,
                        hold_ms: e.hold_ms.max(0) as u64,
                        acw_ms: e.acw_ms.max(0) as u64,
                        resolved: e.resolved,
                    });
                }
            }
            Event::CsatResponse(e) => {
                let queue = self.name(&e.queue);
                self.csat.push(Csat {
                    interaction: e.interaction_id.clone(),
                    queue,
                    at: ts,
                    score: e.score,
                });
            }
            Event::TicketCreated(e) => match e.customer_id.as_deref() {
                Some(customer) => {
                    let customer = self.name(customer);
                    self.tickets.push((customer, ts));
                }
                None => self.counters.ignored += 1,
            },
            Event::AgentState(_)
            | Event::TicketFirstResponse(_)
            | Event::TicketResolved(_)
            | Event::TicketReopened(_) => {
                self.counters.ignored += 1;
                return Ok(());
            }
        }
        self.counters.applied += 1;
        Ok(())
    }

    fn outcome(&mut self, call_id: &str, outcome: Outcome, ts: Ts) {
        let call = self.calls.entry(call_id.to_owned()).or_default();
        call.outcomes.push((outcome, ts));
    }

    /// The counters so far.
    pub fn counters(&self) -> ReportCounters {
        self.counters
    }

    /// Settles every call and returns the rows, sorted by interval then queue (`*` first),
    /// with the final counters.
    pub fn finish(mut self) -> (Vec<ReportRow>, ReportCounters) {
        let fcr_window_ms = i64::from(self.policy.fcr_window_secs) * 1000;
        let end = self.high_water.unwrap_or_default();
        // Every customer's contacts (a call counts once, at its first queueing), sorted.
        let mut contacts: FxHashMap<Arc<str>, Vec<Ts>> = FxHashMap::default();
        for call in self.calls.values_mut() {
            call.legs.sort_by_key(|leg| leg.queued);
            call.outcomes.sort_by_key(|(_, at)| *at);
            if let (Some(customer), Some(first)) = (&call.customer, call.legs.first()) {
                contacts
                    .entry(Arc::clone(customer))
                    .or_default()
                    .push(first.queued);
            }
        }
        for (customer, at) in &self.tickets {
            contacts.entry(Arc::clone(customer)).or_default().push(*at);
        }
        for list in contacts.values_mut() {
            list.sort_unstable();
        }

        let mut rows = Rows::new(&self.policy, &self.spec);
        let offered_mode = self.spec.attribution == Attribution::Offered;
        let mut offered_at: FxHashMap<&str, Ts> = FxHashMap::default();
        let mut orphaned = 0;
        for (call_id, call) in &mut self.calls {
            orphaned += settle_outcomes(call);
            // Transfers as the live path sees them (partition.rs `on_queued`): a leg marked
            // `transferred_from`, or queued again while the previous leg was still waiting.
            // Queues count legs; the center counts the contact once, with its first outcome
            // and the wait from its first queueing (`contact`, while that outcome is due).
            let mut contact: Option<Ts> = None;
            let mut previous: Option<&Leg> = None;
            for leg in &call.legs {
                let waiting_before = previous.filter(|p| p.outcome.is_none());
                let transfer = leg.from.is_some() || waiting_before.is_some();
                let source = leg
                    .from
                    .clone()
                    .or_else(|| waiting_before.map(|p| Arc::clone(&p.queue)));
                rows.one(leg.queued, &leg.queue, |row, _| {
                    row.agg.counts.offered += 1;
                    row.agg.counts.transferred_in += u64::from(transfer);
                });
                if let Some(source) = source.filter(|_| transfer) {
                    rows.one(leg.queued, &source, |row, _| {
                        row.agg.counts.transferred_out += 1;
                    });
                }
                if !transfer {
                    contact = Some(leg.queued);
                    rows.center(leg.queued, |row| row.agg.counts.offered += 1);
                } else if waiting_before.is_none() {
                    // Transferred after an answer: the center has that answer.
                    contact = None;
                }
                previous = Some(leg);
                let Some((outcome, at)) = leg.outcome else {
                    continue;
                };
                let wait = at.millis_since(leg.queued).max(0) as u64;
                let key = if offered_mode { leg.queued } else { at };
                let record = |row: &mut Row, p: &RowPolicy, wait: u64| match outcome {
                    Outcome::Answered => row.agg.record_answer(wait, &p.thresholds_ms),
                    Outcome::Abandoned => row
                        .agg
                        .counts
                        .record_abandon(wait, wait < p.short_abandon_ms),
                };
                rows.one(key, &leg.queue, |row, p| record(row, p, wait));
                if let Some(first) = contact.take() {
                    let wait = at.millis_since(first).max(0) as u64;
                    let key = if offered_mode { first } else { at };
                    // Short abandons as the queue the call was abandoned in defines them.
                    let short_ms = rows.row_policy(&leg.queue).short_abandon_ms;
                    rows.center_with(key, |row, p| match outcome {
                        Outcome::Answered => row.agg.record_answer(wait, &p.thresholds_ms),
                        Outcome::Abandoned => {
                            row.agg.counts.record_abandon(wait, wait < short_ms);
                        }
                    });
                }
            }
            // The leg a contact is reported under: the one answered last, else the last.
            let home = call
                .legs
                .iter()
                .rev()
                .find(|leg| matches!(leg.outcome, Some((Outcome::Answered, _))))
                .or(call.legs.last())
                .map(|leg| leg.queued);
            if let Some(home) = home {
                offered_at.insert(call_id.as_str(), home);
            }
            let Some(done) = &call.completion else {
                continue;
            };
            let key = match home {
                Some(home) if offered_mode => home,
                _ => done.at,
            };
            let fcr = match (&call.customer, call.legs.first()) {
                (Some(customer), Some(first)) => {
                    let deadline = done.at.millis() + fcr_window_ms;
                    if deadline > end.millis() {
                        Fcr::Open
                    } else {
                        // The first other contact at or after the completion decides (fcr.rs).
                        let list = &contacts[customer];
                        let after = list.partition_point(|t| *t < done.at);
                        let repeat = list[after..]
                            .iter()
                            .find(|t| **t > first.queued)
                            .is_some_and(|t| is_repeat(*t, first.queued, done.at, fcr_window_ms));
                        Fcr::Closed { success: !repeat }
                    }
                }
                _ => Fcr::UnknownCustomer,
            };
            rows.each(key, &done.queue, |row, _| {
                row.agg.counts.record_completed(
                    done.talk_ms,
                    done.hold_ms,
                    done.acw_ms,
                    done.resolved,
                );
                match fcr {
                    Fcr::Open => row.fcr_open += 1,
                    Fcr::UnknownCustomer => row.fcr_unknown_customer += 1,
                    Fcr::Closed { success } => {
                        row.fcr_eligible += 1;
                        row.fcr_success += u64::from(success);
                    }
                }
            });
        }
        for response in &self.csat {
            let key = match offered_at.get(response.interaction.as_str()) {
                Some(home) if offered_mode => *home,
                _ => response.at,
            };
            rows.each(key, &response.queue, |row, _| {
                row.agg.counts.record_csat(response.score);
            });
        }
        self.counters.orphaned = orphaned;
        (rows.into_rows(), self.counters)
    }
}

#[derive(Debug, Clone, Copy)]
enum Fcr {
    Open,
    UnknownCustomer,
    Closed { success: bool },
}

/// Pairs each outcome with the leg it ended: the latest leg queued at or before it that has
/// no outcome yet (an outcome stamped before every leg, a clock skew, takes the first free
/// leg). Returns how many outcomes had no leg at all.
fn settle_outcomes(call: &mut CallFacts) -> u64 {
    let mut orphaned = 0;
    for &(outcome, at) in &call.outcomes {
        match pick_leg(&mut call.legs, at) {
            Some(leg) => leg.outcome = Some((outcome, at)),
            None => orphaned += 1,
        }
    }
    orphaned
}

fn pick_leg(legs: &mut [Leg], at: Ts) -> Option<&mut Leg> {
    let index = legs
        .iter()
        .rposition(|leg| leg.outcome.is_none() && leg.queued <= at)
        .or_else(|| legs.iter().position(|leg| leg.outcome.is_none()))?;
    legs.get_mut(index)
}

/// The rows being filled: per (interval start, queue), each number also going to `*`.
struct Rows<'a> {
    policy: &'a MetricsPolicy,
    spec: &'a ReportSpec,
    rows: BTreeMap<(Ts, Arc<str>), Row>,
    policies: FxHashMap<Arc<str>, Arc<RowPolicy>>,
    center: Arc<str>,
    /// The last interval asked about: a contact's numbers mostly fall in one.
    interval: PeriodCache,
}

impl<'a> Rows<'a> {
    fn new(policy: &'a MetricsPolicy, spec: &'a ReportSpec) -> Self {
        Rows {
            policy,
            spec,
            rows: BTreeMap::new(),
            policies: FxHashMap::default(),
            center: Arc::from(CENTER),
            interval: PeriodCache::new(spec.calendar, spec.interval_secs),
        }
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
            policy,
        });
        self.policies.insert(Arc::clone(queue), Arc::clone(&p));
        p
    }

    /// Runs `f` on the row of `queue` and on the center's row, in the interval of `at`.
    fn each(&mut self, at: Ts, queue: &Arc<str>, mut f: impl FnMut(&mut Row, &RowPolicy)) {
        self.one(at, queue, &mut f);
        let center = Arc::clone(&self.center);
        self.one(at, &center, f);
    }

    /// Runs `f` on the row of `name` (a queue, or the center) in the interval of `at`.
    fn one(&mut self, at: Ts, name: &Arc<str>, f: impl FnOnce(&mut Row, &RowPolicy)) {
        let start = self.interval.start_of(at);
        let policy = self.row_policy(name);
        let row = self
            .rows
            .entry((start, Arc::clone(name)))
            .or_insert_with(|| Row {
                agg: CallAgg::default(),
                fcr_success: 0,
                fcr_eligible: 0,
                fcr_open: 0,
                fcr_unknown_customer: 0,
            });
        f(row, &policy);
    }

    /// Runs `f` on the center's row in the interval of `at`.
    fn center(&mut self, at: Ts, f: impl FnOnce(&mut Row)) {
        self.center_with(at, |row, _| f(row));
    }

    /// Runs `f` on the center's row and its policy in the interval of `at`.
    fn center_with(&mut self, at: Ts, f: impl FnOnce(&mut Row, &RowPolicy)) {
        let center = Arc::clone(&self.center);
        self.one(at, &center, f);
    }

    fn into_rows(mut self) -> Vec<ReportRow> {
        let label = crate::policy::window_label(self.spec.interval_secs.div_ceil(60));
        let rows = std::mem::take(&mut self.rows);
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
                    fcr_unknown_customer: row.fcr_unknown_customer,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
