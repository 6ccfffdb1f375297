//! First contact resolution per agent and team, for the staff reports: the repeat-contact
//! kind, by the one definition (`fcr.rs`). The calls go through the same ledger as the
//! queue report's (pairing, transfers, out-of-order completions, the contacts followed),
//! into the same tracker; only the unit an outcome is counted for differs: the agent who
//! completed the contact, in its team then, in the interval of the completion (the
//! interval the call is booked in).
//!
//! Live, per agent, it is left out on purpose: with the default 24-hour window a call's
//! outcome is known the next day, so "today" would always be yesterday's, and the tracker
//! would carry an agent on each of up to a million pending contacts (docs/quality.md).

use std::sync::Arc;

use callpulse_events::{Event, Ts};
use rustc_hash::FxHashMap;

use crate::dedupe::key_hash;
use crate::fcr::{FcrFact, FcrTracker};
use crate::ledger::{Applied, CallEvent, CallLedger, CallSink, Completion, ContactFact};
use crate::ledger::{LegOutcome, Survey};
use crate::live::Names;
use crate::partition::PartitionCounters;
use crate::policy::MetricsPolicy;
use crate::report::settling::FcrSettling;

/// (team, agent): whom an outcome is counted for.
pub(super) type Unit = (Arc<str>, Arc<str>);

/// One FCR outcome for a staff row (`None`: still open at the end of the history).
pub(super) struct AgentOutcome {
    pub(super) key: Ts,
    pub(super) unit: Unit,
    pub(super) success: Option<bool>,
}

/// The calls of a history as FCR follows them, by agent.
#[derive(Debug)]
pub(super) struct AgentFcr {
    policy: Arc<MetricsPolicy>,
    queues: Names,
    ledger: CallLedger,
    ledger_counters: PartitionCounters,
    settling: FcrSettling,
    /// The unit of each agent's latest completion, by hashed agent id (the ledger carries
    /// the hash).
    by_agent: FxHashMap<u64, Arc<str>>,
    /// The tracker names a unit by a label of its own.
    labels: FxHashMap<Unit, Arc<str>>,
    units: FxHashMap<Arc<str>, Unit>,
    swept_bucket: i64,
    /// Completed contacts whose agent the report could not name, and events whose queue
    /// is past the queue cap: not followed.
    pub(super) untracked: u64,
}

impl AgentFcr {
    pub(super) fn new(policy: &MetricsPolicy) -> Self {
        AgentFcr {
            queues: Names::default(),
            ledger: CallLedger::new(policy.ledger_limits(), None),
            ledger_counters: PartitionCounters::default(),
            // One bucket per unit: a report reads no sliding windows, and a ring per agent
            // of the live length would cost more than the rest of the report.
            settling: FcrSettling::new(FcrTracker::new(
                policy.fcr_window_secs,
                policy.max_fcr_customers,
                policy.bucket_ms(),
                1,
            )),
            by_agent: FxHashMap::default(),
            labels: FxHashMap::default(),
            units: FxHashMap::default(),
            swept_bucket: i64::MIN,
            untracked: 0,
            policy: Arc::new(policy.clone()),
        }
    }

    /// Contacts not followed: here, and by the ledger (at its call cap).
    pub(super) fn untracked(&self) -> u64 {
        self.untracked + self.ledger_counters.fcr_untracked
    }

    /// Customers evicted at the tracker's cap with contacts pending.
    pub(super) fn evicted(&self) -> u64 {
        self.settling.evicted()
    }

    /// Notes that `agent`, in `team` now, completed a call (before the ledger takes it).
    pub(super) fn completed_by(&mut self, agent: &Arc<str>, team: &Arc<str>) {
        let unit = (Arc::clone(team), Arc::clone(agent));
        let label = match self.labels.get(&unit) {
            Some(label) => Arc::clone(label),
            None => {
                let label: Arc<str> = Arc::from(self.labels.len().to_string());
                self.units.insert(Arc::clone(&label), unit.clone());
                self.labels.insert(unit, Arc::clone(&label));
                label
            }
        };
        self.by_agent.insert(key_hash(agent.as_ref()), label);
    }

    /// Takes one event stamped `at`, event time being `clock` (the newest stamp so far);
    /// whether it was one FCR follows (a call's or a ticket's).
    pub(super) fn take(&mut self, event: &Event, at: Ts, clock: Ts) -> bool {
        let (policy, queues) = (&self.policy, &mut self.queues);
        let event = CallEvent::of(event, at, |name| {
            queues
                .id(name, policy.max_queues, || policy.configures_queue(name))
                .ok_or(callpulse_events::Rejection::TooManyNames("queue"))
        });
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => return false,
            Err(_) => {
                self.untracked += 1;
                return false;
            }
        };
        let mut sink = FactSink {
            settling: &mut self.settling,
            by_agent: &self.by_agent,
            untracked: &mut self.untracked,
        };
        self.ledger
            .take(event, &mut sink, &mut self.ledger_counters);
        // Forgetting by event time once per bucket, as the queue report does.
        let bucket = clock.millis().div_euclid(self.policy.bucket_ms());
        if bucket > self.swept_bucket {
            self.swept_bucket = bucket;
            self.ledger
                .expire(clock, &mut sink, &mut self.ledger_counters);
        }
        true
    }

    /// The outcomes final at event time `hw`.
    pub(super) fn settle(&mut self, hw: Ts) -> Vec<AgentOutcome> {
        let settled = self.settling.settle(hw);
        self.name(settled)
    }

    /// Ends the history at `end`: what waits for its queueing is released, then every
    /// outcome, open ones included.
    pub(super) fn finish(&mut self, end: Ts) -> Vec<AgentOutcome> {
        let mut sink = FactSink {
            settling: &mut self.settling,
            by_agent: &self.by_agent,
            untracked: &mut self.untracked,
        };
        self.ledger
            .release_all(&mut sink, &mut self.ledger_counters);
        let settled = self.settling.finish(end);
        self.name(settled)
    }

    fn name(&self, settled: Vec<crate::report::settling::Outcome>) -> Vec<AgentOutcome> {
        settled
            .into_iter()
            .filter_map(|o| {
                self.units.get(&o.unit).map(|unit| AgentOutcome {
                    key: o.key,
                    unit: unit.clone(),
                    success: o.success,
                })
            })
            .collect()
    }
}

/// Takes only the ledger's FCR facts: the staff report books the calls' figures itself.
struct FactSink<'a> {
    settling: &'a mut FcrSettling,
    by_agent: &'a FxHashMap<u64, Arc<str>>,
    untracked: &'a mut u64,
}

impl CallSink for FactSink<'_> {
    fn offered(&mut self, _: u32, _: Ts, _: bool, _: Option<u32>) -> Applied {
        Applied::Counted
    }

    fn outcome(&mut self, _: &LegOutcome) -> Applied {
        Applied::Counted
    }

    fn completed(&mut self, _: &Completion, _: Option<Ts>) -> Applied {
        Applied::Counted
    }

    fn surveyed(&mut self, _: &Survey, _: Option<Ts>) -> Applied {
        Applied::Counted
    }

    fn contact(&mut self, fact: ContactFact) {
        match fact {
            ContactFact::Contact { customer, at } => {
                self.settling.apply(&FcrFact::Contact { customer, at });
            }
            ContactFact::Completed {
                customer,
                offered,
                done,
                agent,
                ..
            } => match self.by_agent.get(&agent) {
                Some(label) => self.settling.apply(&FcrFact::Completed {
                    customer,
                    offered,
                    done,
                    queue: Arc::clone(label),
                    // In the interval the call is booked in: its completion's.
                    key: done,
                }),
                None => *self.untracked += 1,
            },
        }
    }
}
