//! The state one Kafka partition owns, and the only place events change it.
//!
//! One task owns one `PartitionState` (`&mut self`, no locks, no atomics): that is the whole
//! concurrency story of the core. Readers never see this type; they see the immutable
//! [`PartitionSnapshot`] it publishes on each tick.
//!
//! What a call's events mean (pairing an outcome with its queueing, parking one that comes
//! first, transfers, contacts for FCR) is decided by the per-call ledger (`ledger.rs`),
//! which interval reports share; the partition records what it settles into windows at each
//! event's own time. Lateness: an event older than the ring still updates lifetime totals
//! and live state, but no window (counted as `late`).
//!
//! Here: the state and `apply`, which dispatches each event. Beside it, along the seams:
//! `calls.rs` (the ledger's sink into the windows), `windows.rs` (what a queue and the
//! center keep), `names.rs` (queues admitted, and evicted when idle), `housekeeping.rs` (forgetting by event time) and `read.rs` (the snapshot at
//! an instant).

use std::sync::Arc;

use callpulse_events::{AgentState, Envelope, Event, Rejection, Ts};
use serde::{Deserialize, Serialize};

use crate::calls::CallTotals;
use crate::dedupe::{Dedupe, key_hash};
use crate::fcr::FcrFact;
use crate::ledger::{CallEvent, CallLedger};
use crate::live::{AgentCallBook, AgentCalls, AgentLimits, AgentUpdate, Agents, Names};

pub use crate::ledger::Applied;
use crate::policy::MetricsPolicy;
use crate::tickets::{TicketQueue, TicketUpdate, Tickets};

/// Monotonic counters of the partition's own bookkeeping (exported as `_total` counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCounters {
    pub applied: u64,
    pub late: u64,
    pub parked: u64,
    pub ignored: u64,
    /// Parked outcomes whose `call_queued` never came.
    pub orphaned: u64,
    /// Waiting calls whose outcome never came within `max_wait_secs`.
    pub stale_waiting: u64,
    /// Outcomes timestamped before their `call_queued` (producer clocks disagree); wait = 0.
    pub clock_skew: u64,
    /// `event_id`s forgotten early because the dedupe capacity was reached.
    pub dedupe_evicted: u64,
    /// Resolved tickets forgotten early because `max_tickets` was reached.
    pub ticket_evicted: u64,
    /// Customers with pending FCR contacts forgotten at `max_fcr_customers` (filled in by
    /// the instance's tracker, not by partitions).
    pub fcr_evicted: u64,
    /// Agents forgotten to make room at `max_agents`.
    pub agent_evicted: u64,
    /// Calls (waiting or parked) forgotten to make room at `max_calls`.
    pub call_evicted: u64,
    /// Contacts not followed for FCR because `max_calls` calls were remembered.
    pub fcr_untracked: u64,
    /// Call figures of an agent not kept because that day already had `max_agents`.
    pub agent_calls_untracked: u64,
    /// FCR facts dropped because the instance's tracker fell behind (filled in by the
    /// engine, not by partitions).
    pub fcr_facts_dropped: u64,
    /// Idle unconfigured queues evicted at `max_queues` to admit a new name.
    pub queue_evicted: u64,
    /// Idle unconfigured teams (no agent in them) evicted at `max_teams` likewise.
    pub team_evicted: u64,
}

/// Every counter's value by name, in one list: `merge` and `remove` walk it.
macro_rules! each_counter {
    ($a:ident, $b:ident, $op:expr) => {{
        let op = $op;
        op(&mut $a.applied, $b.applied);
        op(&mut $a.late, $b.late);
        op(&mut $a.parked, $b.parked);
        op(&mut $a.ignored, $b.ignored);
        op(&mut $a.orphaned, $b.orphaned);
        op(&mut $a.stale_waiting, $b.stale_waiting);
        op(&mut $a.clock_skew, $b.clock_skew);
        op(&mut $a.dedupe_evicted, $b.dedupe_evicted);
        op(&mut $a.ticket_evicted, $b.ticket_evicted);
        op(&mut $a.fcr_evicted, $b.fcr_evicted);
        op(&mut $a.agent_evicted, $b.agent_evicted);
        op(&mut $a.call_evicted, $b.call_evicted);
        op(&mut $a.fcr_untracked, $b.fcr_untracked);
        op(&mut $a.agent_calls_untracked, $b.agent_calls_untracked);
        op(&mut $a.fcr_facts_dropped, $b.fcr_facts_dropped);
        op(&mut $a.queue_evicted, $b.queue_evicted);
        op(&mut $a.team_evicted, $b.team_evicted);
    }};
}

impl PartitionCounters {
    /// Takes `other` (a part of `self`) out of `self`.
    pub fn remove(&mut self, other: &PartitionCounters) {
        let this = self;
        each_counter!(this, other, |a: &mut u64, b: u64| *a = a.saturating_sub(b));
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &PartitionCounters) {
        let this = self;
        each_counter!(this, other, |a: &mut u64, b: u64| *a += b);
    }
}

/// The single-writer state of one partition.
///
/// Serializable whole (see `checkpoint.rs`), but for the policy, which a restore is given.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartitionState {
    #[serde(skip)]
    policy: Arc<MetricsPolicy>,
    window_lens: Vec<usize>,
    ring_capacity: usize,
    queue_names: Names,
    /// Per queue id (`queue_names`); an evicted queue's slot is empty until its id is reused.
    queues: Vec<QueueState>,
    /// Lifetime totals of queues evicted while idle (`names.rs`), newest last.
    evicted_queues: Vec<(Arc<str>, CallTotals)>,
    /// The per-call rules shared with reports: pairing, parking, transfers, FCR contacts.
    ledger: CallLedger,
    /// FCR facts since the last drain (see `fcr.rs`).
    fcr_facts: Vec<FcrFact>,
    center: Center,
    agent_calls: AgentCallBook,
    tickets: Tickets,
    /// Per queue id, its ticket windows once it has had a ticket.
    ticket_queues: Vec<Option<Box<TicketQueue>>>,
    agents: Agents,
    dedupe: Dedupe,
    high_water: Option<Ts>,
    /// The oldest event time this state has applied: where its history begins. A state
    /// started mid-day (no checkpoint) has seen today only from then on, which the
    /// reforecast must not read as a quiet morning.
    low_water: Option<Ts>,
    /// Bucket number of the last housekeeping pass; it runs once per bucket, not per tick.
    swept_bucket: i64,
    /// Whether anything changed since the last snapshot, and the bucket it was read in: an
    /// unchanged partition read in the same bucket has the same windows, so the worker can
    /// keep publishing the previous snapshot.
    changed: bool,
    snapshot_bucket: i64,
    counters: PartitionCounters,
}

impl PartitionState {
    /// Empty state under `policy` (which must have passed [`MetricsPolicy::validate`]).
    pub fn new(policy: Arc<MetricsPolicy>) -> Self {
        let window_lens = policy.window_buckets();
        let ring_capacity = policy.ring_capacity();
        let dedupe = Dedupe::new(policy.dedupe_capacity);
        let agents = Agents::new(policy.bucket_ms(), ring_capacity, policy.calendar());
        let center = Center::new(&policy, ring_capacity);
        let agent_calls = AgentCallBook::new(policy.calendar(), policy.future_skew_ms());
        let ledger = CallLedger::new(policy.ledger_limits(), None);
        PartitionState {
            policy,
            window_lens,
            ring_capacity,
            queue_names: Names::default(),
            queues: Vec::new(),
            evicted_queues: Vec::new(),
            ledger,
            fcr_facts: Vec::new(),
            center,
            agent_calls,
            tickets: Tickets::default(),
            ticket_queues: Vec::new(),
            agents,
            dedupe,
            high_water: None,
            low_water: None,
            swept_bucket: i64::MIN,
            changed: true,
            snapshot_bucket: i64::MIN,
            counters: PartitionCounters::default(),
        }
    }

    /// Applies one decoded event.
    ///
    /// # Errors
    /// [`Rejection::Duplicate`] for an `event_id` already applied, and
    /// [`Rejection::TooManyNames`] past the queue, team or agent caps. A rejected event
    /// changes nothing but the dedupe memory.
    pub fn apply(&mut self, env: &Envelope) -> Result<Applied, Rejection> {
        let generation =
            self.high_water.unwrap_or(env.ts).max(env.ts).millis() / self.policy.bucket_ms();
        if !self.dedupe.insert(&env.event_id, generation) {
            return Err(Rejection::Duplicate);
        }
        self.changed = true;
        let ts = env.ts;
        let applied = match &env.event {
            Event::AgentState(e) => {
                let limits = self.agent_limits(ts);
                let policy = &self.policy;
                let configured = |team: &str| policy.configures_team(team);
                let activity = policy.adherence.actual(e.state, e.reason.as_deref());
                match self.agents.apply(
                    &e.agent_id,
                    &e.team,
                    (e.state, activity),
                    ts,
                    &limits,
                    configured,
                ) {
                    AgentUpdate::Applied => Applied::Counted,
                    AgentUpdate::Stale => Applied::Ignored,
                    AgentUpdate::TooManyTeams => return Err(Rejection::TooManyNames("team")),
                    AgentUpdate::TooManyAgents => return Err(Rejection::TooManyNames("agent")),
                }
            }
            Event::AgentSchedule(e) => {
                let limits = self.agent_limits(ts);
                let policy = &self.policy;
                match self
                    .agents
                    .schedule(e, &limits, |team| policy.configures_team(team))
                {
                    AgentUpdate::TooManyAgents => return Err(Rejection::TooManyNames("agent")),
                    AgentUpdate::TooManyTeams => return Err(Rejection::TooManyNames("team")),
                    AgentUpdate::Applied | AgentUpdate::Stale => Applied::Counted,
                }
            }
            Event::TicketCreated(e) => {
                let queue = self.queue_id(&e.queue, ts)?;
                // The customer's contact, for FCR.
                if let Some(contact) = CallEvent::of(&env.event, ts, |_| Ok(queue))? {
                    let (ledger, mut sink, counters) = self.split();
                    ledger.take(contact, &mut sink, counters);
                }
                if self.ticket_queues[queue as usize].is_none() {
                    let policy = self.policy.queue(&e.queue);
                    self.ticket_queues[queue as usize] = Some(Box::new(TicketQueue::new(
                        policy,
                        self.policy.bucket_ms(),
                        self.ring_capacity,
                    )));
                }
                let ticket = key_hash(e.ticket_id.as_str());
                let update = self.tickets.created(
                    &mut self.ticket_queues,
                    queue,
                    ticket,
                    (e.channel, e.priority),
                    ts,
                    self.policy.max_tickets,
                );
                ticket_applied(update)?
            }
            Event::TicketFirstResponse(e) => ticket_applied(self.tickets.first_response(
                &mut self.ticket_queues,
                key_hash(e.ticket_id.as_str()),
                ts,
            ))?,
            Event::TicketResolved(e) => ticket_applied(self.tickets.resolved(
                &mut self.ticket_queues,
                key_hash(e.ticket_id.as_str()),
                ts,
            ))?,
            Event::TicketReopened(e) => ticket_applied(self.tickets.reopened(
                &mut self.ticket_queues,
                key_hash(e.ticket_id.as_str()),
                ts,
            ))?,
            Event::QaEvaluation(e) => {
                let pass_mark = self.policy.qa_pass_mark;
                match self
                    .agent_calls
                    .entry(&e.agent_id, ts, self.policy.max_agents)
                {
                    Some(agent) => {
                        agent.book(&env.event, pass_mark);
                        Applied::Counted
                    }
                    // A day already closed, or past the cap of agents (counted there).
                    None => Applied::Late,
                }
            }
            call => {
                let event = CallEvent::of(call, ts, |name| self.queue_id(name, ts))?;
                self.book_agent_calls(call, ts);
                match event {
                    Some(event) => {
                        let (ledger, mut sink, counters) = self.split();
                        ledger.take(event, &mut sink, counters)
                    }
                    None => Applied::Ignored,
                }
            }
        };
        self.high_water = Some(self.high_water.map_or(ts, |hw| hw.max(ts)));
        self.low_water = Some(self.low_water.map_or(ts, |lw| lw.min(ts)));
        self.housekeeping();
        let counter = match applied {
            Applied::Counted => &mut self.counters.applied,
            Applied::Late => &mut self.counters.late,
            Applied::Parked => &mut self.counters.parked,
            Applied::Ignored => &mut self.counters.ignored,
        };
        *counter += 1;
        Ok(applied)
    }

    /// The per-agent day figures of a call event (answers, handling, surveys).
    /// The caps an agent event at `ts` is applied under.
    fn agent_limits(&self, ts: Ts) -> AgentLimits {
        AgentLimits {
            max_teams: self.policy.max_teams,
            max_agents: self.policy.max_agents,
            name_idle_ms: i64::from(self.policy.name_idle_secs) * 1000,
            clock: self.high_water.map_or(ts, |hw| hw.max(ts)),
            grace_ms: self.policy.adherence.grace_ms(),
        }
    }

    fn book_agent_calls(&mut self, event: &Event, ts: Ts) {
        if let Some(agent) = AgentCalls::agent_of(event)
            && let Some(calls) = self.agent_calls.entry(agent, ts, self.policy.max_agents)
        {
            calls.book(event, self.policy.qa_pass_mark);
        }
    }

    /// The policy this state was built under.
    pub fn policy(&self) -> &MetricsPolicy {
        &self.policy
    }

    /// Attaches the policy to a state just decoded from a checkpoint, and marks it changed
    /// so that its first snapshot is taken afresh.
    pub(crate) fn restored(&mut self, policy: Arc<MetricsPolicy>) {
        self.policy = policy;
        self.changed = true;
    }

    /// The ledger, and a sink into this partition's windows, borrowed apart.
    fn split(&mut self) -> (&mut CallLedger, LiveSink<'_>, &mut PartitionCounters) {
        (
            &mut self.ledger,
            LiveSink {
                queues: &mut self.queues,
                center: &mut self.center,
                fcr_facts: &mut self.fcr_facts,
            },
            &mut self.counters,
        )
    }

    /// The FCR facts gathered since the last call, for the instance's [`crate::FcrTracker`].
    pub fn drain_fcr_facts(&mut self) -> Vec<FcrFact> {
        std::mem::take(&mut self.fcr_facts)
    }

    /// The partition's watermark: the newest event time applied (`None` before the first).
    pub fn high_water(&self) -> Option<Ts> {
        self.high_water
    }

    /// Tickets tracked right now (open, or resolved within retention), for memory accounting.
    pub fn tracked_tickets(&self) -> usize {
        self.tickets.len()
    }

    /// Calls tracked right now (waiting or parked), for memory accounting.
    pub fn tracked_calls(&self) -> usize {
        self.ledger.tracked_calls()
    }

    /// Event ids remembered for duplicate detection.
    pub fn remembered_ids(&self) -> usize {
        self.dedupe.len()
    }

    /// Number of agents known in `state`, summed over teams (for tests and benches).
    pub fn agents_in(&self, state: AgentState) -> u64 {
        self.agents.count_in(state)
    }
}

/// A ticket update as the partition reports it.
fn ticket_applied(update: TicketUpdate) -> Result<Applied, Rejection> {
    match update {
        TicketUpdate::Counted => Ok(Applied::Counted),
        TicketUpdate::Late => Ok(Applied::Late),
        TicketUpdate::Ignored => Ok(Applied::Ignored),
        TicketUpdate::Full => Err(Rejection::TooManyNames("ticket")),
    }
}

mod calls;
mod housekeeping;
mod names;
mod read;
mod windows;

pub use read::{PartitionSnapshot, QueueSnapshot};

use calls::LiveSink;
use windows::{Center, QueueState};

#[cfg(test)]
mod tests;
