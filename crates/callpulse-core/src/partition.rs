//! The state one Kafka partition owns, and the only place events change it.
//!
//! One task owns one `PartitionState` (`&mut self`, no locks, no atomics): that is the whole
//! concurrency story of the core. Readers never see this type; they see the immutable
//! [`PartitionSnapshot`] it publishes on each tick.
//!
//! Out-of-order calls: an answer or abandon that arrives before its `call_queued` is parked
//! until the queued event comes (then counted at the outcome's own time), or dropped as an
//! orphan after `orphan_timeout_secs` of event time. Lateness: an event older than the ring
//! still updates lifetime totals and live state, but no window (counted as `late`).

use std::sync::Arc;

use callpulse_events::{AgentState, Envelope, Event, Rejection, Ts};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::calls::{CallAgg, CallTotals, MAX_SL_THRESHOLDS};
use crate::dedupe::{Dedupe, key_hash};
use crate::fcr::FcrFact;
use crate::live::{
    AgentCallBook, AgentCalls, AgentUpdate, AgentView, Agents, Names, TeamStates, Waiting,
};
use crate::occupancy::StateTimes;
use crate::periods::Periods;
use crate::policy::MetricsPolicy;
use crate::tickets::{TicketAgg, TicketLive, TicketQueue, TicketUpdate, Tickets};
use crate::window::BucketRing;

/// What applying an accepted event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Counted in lifetime totals, windows and live state.
    Counted,
    /// Counted in totals and live state, but older than every window (see module docs).
    Late,
    /// An outcome waiting for its `call_queued`.
    Parked,
    /// Valid, but changes nothing: an agent state older than the one known, a second outcome
    /// for the same call, a ticket event for a ticket this partition does not know, or a
    /// repeat of one it already applied.
    Ignored,
}

/// Monotonic counters of the partition's own bookkeeping (exported as `_total` counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
}

impl PartitionCounters {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &PartitionCounters) {
        self.applied += other.applied;
        self.late += other.late;
        self.parked += other.parked;
        self.ignored += other.ignored;
        self.orphaned += other.orphaned;
        self.stale_waiting += other.stale_waiting;
        self.clock_skew += other.clock_skew;
        self.dedupe_evicted += other.dedupe_evicted;
        self.ticket_evicted += other.ticket_evicted;
        self.fcr_evicted += other.fcr_evicted;
        self.agent_evicted += other.agent_evicted;
        self.call_evicted += other.call_evicted;
        self.fcr_untracked += other.fcr_untracked;
        self.agent_calls_untracked += other.agent_calls_untracked;
        self.fcr_facts_dropped += other.fcr_facts_dropped;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Abandoned,
}

/// A call this partition is tracking: waiting (queued, no outcome) or parked (outcome, no
/// queued). A call with both is finished and removed.
#[derive(Debug)]
struct CallRec {
    queue: u32,
    queued: Option<Ts>,
    parked: Option<(Outcome, Ts)>,
    /// When the contact was first queued, if the center still waits for its outcome: the
    /// center counts a contact once, its wait from the first queue on. `None` for a leg
    /// transferred after an answer (the center counted that answer).
    contact_queued: Option<Ts>,
}

#[derive(Debug)]
struct QueueState {
    name: Arc<str>,
    thresholds_ms: [u64; MAX_SL_THRESHOLDS],
    threshold_count: usize,
    short_abandon_ms: u64,
    wait_bounds_ms: Vec<u64>,
    windows: CallWindows,
    totals: CallTotals,
    waiting: Waiting,
}

/// The sliding (bucket ring) and calendar windows of call figures, as a queue and the
/// center each keep them.
#[derive(Debug)]
struct CallWindows {
    ring: BucketRing<CallAgg>,
    periods: Periods,
}

impl CallWindows {
    fn new(policy: &MetricsPolicy, ring_capacity: usize) -> Self {
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
    fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) -> Applied {
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
    fn read(&mut self, now: Ts, lens: &[usize]) -> Vec<CallAgg> {
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
#[derive(Debug)]
struct Center {
    windows: CallWindows,
    thresholds_ms: [u64; MAX_SL_THRESHOLDS],
    threshold_count: usize,
}

impl Center {
    fn new(policy: &MetricsPolicy, ring_capacity: usize) -> Self {
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
    fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) {
        let _ = self.windows.record(ts, f);
    }
}

impl QueueState {
    fn record(&mut self, ts: Ts, f: impl Fn(&mut CallAgg)) -> Applied {
        self.windows.record(ts, f)
    }
}

/// One queue's part of a partition snapshot.
#[derive(Debug, Clone)]
pub struct QueueSnapshot {
    pub name: Arc<str>,
    /// One aggregate per policy window, in policy order.
    pub windows: Vec<CallAgg>,
    pub waiting: u64,
    pub oldest_waiting: Option<Ts>,
    pub totals: CallTotals,
    /// The queue's tickets, if it has had any: one aggregate per sliding window, and now.
    pub tickets: Option<(Vec<TicketAgg>, TicketLive)>,
}

/// What a partition publishes on each tick: immutable, cheap to merge.
#[derive(Debug, Clone, Default)]
pub struct PartitionSnapshot {
    /// The `now` the windows were read at.
    pub at: Ts,
    /// The newest event time applied.
    pub high_water: Option<Ts>,
    pub queues: Vec<QueueSnapshot>,
    /// The whole center's windows (as [`QueueSnapshot::windows`]).
    pub center: Vec<CallAgg>,
    /// Today's call figures of agents whose calls this partition saw.
    pub agent_calls: Vec<(Arc<str>, AgentCalls)>,
    pub teams: Vec<(Arc<str>, TeamStates)>,
    /// Per team, time in state over each policy window (policy order), running states
    /// included.
    pub team_time: Vec<(Arc<str>, Vec<StateTimes>)>,
    pub agents: Vec<AgentView>,
    pub counters: PartitionCounters,
}

/// The single-writer state of one partition.
#[derive(Debug)]
pub struct PartitionState {
    policy: Arc<MetricsPolicy>,
    window_lens: Vec<usize>,
    ring_capacity: usize,
    queue_names: Names,
    queues: Vec<QueueState>,
    calls: FxHashMap<u64, CallRec>,
    /// Call -> (customer, first offered) for calls with a `customer_id`, until completed or
    /// abandoned: what an FCR `Completed` fact needs.
    call_customers: FxHashMap<u64, (u64, Ts)>,
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
        PartitionState {
            policy,
            window_lens,
            ring_capacity,
            queue_names: Names::default(),
            queues: Vec::new(),
            calls: FxHashMap::default(),
            call_customers: FxHashMap::default(),
            fcr_facts: Vec::new(),
            center,
            agent_calls,
            tickets: Tickets::default(),
            ticket_queues: Vec::new(),
            agents,
            dedupe,
            high_water: None,
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
            Event::CallQueued(e) => {
                let queue = self.queue_id(&e.queue)?;
                let call = key_hash(e.call_id.as_str());
                // The queue a transfer came from; a name past the queue cap is still a
                // transfer, only its source goes uncounted.
                let from = e
                    .transferred_from
                    .as_deref()
                    .map(|name| self.queue_id(name).ok());
                if let (Some(customer), None) = (&e.customer_id, &e.transferred_from) {
                    let full = self.call_customers.len() >= self.policy.max_calls;
                    // A transfer queues the call again: still the same contact.
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        self.call_customers.entry(call)
                    {
                        let customer = key_hash(customer.as_str());
                        // The contact still counts as a repeat for earlier ones; only its
                        // own outcome goes unfollowed.
                        self.fcr_facts.push(FcrFact::Contact { customer, at: ts });
                        if full {
                            self.counters.fcr_untracked += 1;
                        } else {
                            slot.insert((customer, ts));
                        }
                    }
                }
                self.on_queued(queue, call, ts, from)
            }
            Event::CallAnswered(e) => {
                let queue = self.queue_id(&e.queue)?;
                if let Some(agent) = self
                    .agent_calls
                    .entry(&e.agent_id, ts, self.policy.max_agents)
                {
                    agent.answered += 1;
                }
                self.on_outcome(queue, key_hash(e.call_id.as_str()), Outcome::Answered, ts)
            }
            Event::CallAbandoned(e) => {
                let queue = self.queue_id(&e.queue)?;
                let call = key_hash(e.call_id.as_str());
                self.call_customers.remove(&call);
                self.on_outcome(queue, call, Outcome::Abandoned, ts)
            }
            Event::CallCompleted(e) => {
                let queue = self.queue_id(&e.queue)?;
                if let Some((customer, offered)) =
                    self.call_customers.remove(&key_hash(e.call_id.as_str()))
                {
                    self.fcr_facts.push(FcrFact::Completed {
                        customer,
                        offered,
                        done: ts,
                        queue: Arc::clone(self.queue_names.name(queue)),
                    });
                }
                let (talk, hold, acw) = (e.talk_ms as u64, e.hold_ms as u64, e.acw_ms as u64);
                if let Some(agent) = self
                    .agent_calls
                    .entry(&e.agent_id, ts, self.policy.max_agents)
                {
                    agent.completed += 1;
                    agent.talk_ms += talk;
                    agent.hold_ms += hold;
                    agent.acw_ms += acw;
                    agent.resolved_reported += u64::from(e.resolved.is_some());
                    agent.resolved_true += u64::from(e.resolved == Some(true));
                }
                let q = &mut self.queues[queue as usize];
                q.totals
                    .counts
                    .record_completed(talk, hold, acw, e.resolved);
                let applied = q.record(ts, |b| {
                    b.counts.record_completed(talk, hold, acw, e.resolved);
                });
                self.center.record(ts, |b| {
                    b.counts.record_completed(talk, hold, acw, e.resolved);
                });
                applied
            }
            Event::CsatResponse(e) => {
                let queue = self.queue_id(&e.queue)?;
                if let Some(agent) = e
                    .agent_id
                    .as_deref()
                    .and_then(|agent| self.agent_calls.entry(agent, ts, self.policy.max_agents))
                {
                    agent.csat_responses += 1;
                    agent.csat_positive += u64::from(e.score >= 4);
                }
                let q = &mut self.queues[queue as usize];
                q.totals.counts.record_csat(e.score);
                let applied = q.record(ts, |b| {
                    b.counts.record_csat(e.score);
                });
                self.center.record(ts, |b| b.counts.record_csat(e.score));
                applied
            }
            Event::AgentState(e) => {
                let caps = (self.policy.max_teams, self.policy.max_agents);
                match self.agents.apply(&e.agent_id, &e.team, e.state, ts, caps) {
                    AgentUpdate::Applied => Applied::Counted,
                    AgentUpdate::Stale => Applied::Ignored,
                    AgentUpdate::TooManyTeams => return Err(Rejection::TooManyNames("team")),
                    AgentUpdate::TooManyAgents => return Err(Rejection::TooManyNames("agent")),
                }
            }
            Event::TicketCreated(e) => {
                let queue = self.queue_id(&e.queue)?;
                if let Some(customer) = &e.customer_id {
                    self.fcr_facts.push(FcrFact::Contact {
                        customer: key_hash(customer.as_str()),
                        at: ts,
                    });
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
        };
        self.high_water = Some(self.high_water.map_or(ts, |hw| hw.max(ts)));
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

    fn queue_id(&mut self, name: &str) -> Result<u32, Rejection> {
        let id = self
            .queue_names
            .id(name, self.policy.max_queues)
            .ok_or(Rejection::TooManyNames("queue"))?;
        if id as usize == self.queues.len() {
            self.ticket_queues.push(None);
            let queue_policy = self.policy.queue(name);
            let mut thresholds_ms = [0u64; MAX_SL_THRESHOLDS];
            for (slot, secs) in thresholds_ms
                .iter_mut()
                .zip(&queue_policy.sl_thresholds_secs)
            {
                *slot = u64::from(*secs) * 1000;
            }
            self.queues.push(QueueState {
                name: Arc::clone(self.queue_names.name(id)),
                thresholds_ms,
                threshold_count: queue_policy.sl_thresholds_secs.len().min(MAX_SL_THRESHOLDS),
                short_abandon_ms: u64::from(queue_policy.short_abandon_secs) * 1000,
                wait_bounds_ms: self
                    .policy
                    .wait_bounds(queue_policy)
                    .iter()
                    .map(|s| u64::from(*s) * 1000)
                    .collect(),
                windows: CallWindows::new(&self.policy, self.ring_capacity),
                totals: CallTotals::default(),
                waiting: Waiting::default(),
            });
        }
        // A queue first seen now still knows how far event time has got, so an old event
        // is recognised as late even on a fresh ring.
        if let Some(high_water) = self.high_water {
            self.queues[id as usize]
                .windows
                .ring
                .advance(high_water.millis());
        }
        Ok(id)
    }

    /// A call queued in `queue`. `from` is `Some` for a transfer the producer marked
    /// (`transferred_from`; the source queue's id if within the cap); a call queued again
    /// while still waiting elsewhere is a transfer from there. A transfer is offered to its
    /// new queue and counted as transferred in and out, but the center counts the contact
    /// once, with its first queue's outcome.
    fn on_queued(&mut self, queue: u32, call: u64, ts: Ts, from: Option<Option<u32>>) -> Applied {
        let waiting_in = match self.calls.get(&call) {
            Some(CallRec {
                queue: old_queue,
                queued: Some(_),
                contact_queued,
                ..
            }) => Some((*old_queue, *contact_queued)),
            _ => None,
        };
        let transfer = from.is_some() || waiting_in.is_some();
        let source = from.flatten().or(waiting_in.map(|(old, _)| old));
        // The center's view of the contact: a new one starts now; one transferred while
        // waiting keeps its first queueing time; one transferred after its answer is done.
        let contact_queued = match waiting_in {
            Some((_, first)) => first,
            None if transfer => None,
            None => Some(ts),
        };
        let q = &mut self.queues[queue as usize];
        q.totals.counts.offered += 1;
        q.totals.counts.transferred_in += u64::from(transfer);
        let applied = q.record(ts, |b| {
            b.counts.offered += 1;
            b.counts.transferred_in += u64::from(transfer);
        });
        if let Some(source) = source.filter(|_| transfer) {
            let s = &mut self.queues[source as usize];
            s.totals.counts.transferred_out += 1;
            let _ = s.record(ts, |b| b.counts.transferred_out += 1);
        }
        if !transfer {
            self.center.record(ts, |b| b.counts.offered += 1);
        }
        match self.calls.remove(&call) {
            Some(CallRec {
                queue: outcome_queue,
                parked: Some((outcome, at)),
                ..
            }) => {
                // The outcome came first and was parked; now the call is complete. Its
                // outcome counts at the outcome's time, whatever this event's lateness.
                self.finish(outcome_queue, outcome, ts, at, contact_queued);
            }
            Some(CallRec {
                queue: old_queue,
                queued: Some(old_ts),
                ..
            }) => {
                // Transferred while waiting: it waits from now on in the new queue.
                self.queues[old_queue as usize].waiting.remove(old_ts, call);
                self.track_waiting(queue, call, ts, contact_queued);
            }
            _ => self.track_waiting(queue, call, ts, contact_queued),
        }
        applied
    }

    /// At `max_calls` tracked calls, forgets the longest-waiting one (or, with none waiting,
    /// a parked outcome, which the orphan timeout would drop soon anyway).
    fn make_room_for_call(&mut self) {
        if self.calls.len() < self.policy.max_calls.max(1) {
            return;
        }
        let oldest_waiting = self.queues.iter().filter_map(|q| q.waiting.first()).min();
        let victim = match oldest_waiting {
            Some((_, call)) => Some(call),
            None => self.calls.keys().next().copied(),
        };
        if let Some(rec) = victim.and_then(|call| self.calls.remove(&call).map(|r| (call, r))) {
            let (call, rec) = rec;
            if let Some(queued) = rec.queued {
                self.queues[rec.queue as usize].waiting.remove(queued, call);
            }
            self.counters.call_evicted += 1;
        }
    }

    fn track_waiting(&mut self, queue: u32, call: u64, ts: Ts, contact_queued: Option<Ts>) {
        self.make_room_for_call();
        self.queues[queue as usize].waiting.add(ts, call);
        self.calls.insert(
            call,
            CallRec {
                queue,
                queued: Some(ts),
                parked: None,
                contact_queued,
            },
        );
    }

    fn on_outcome(&mut self, queue: u32, call: u64, outcome: Outcome, ts: Ts) -> Applied {
        match self.calls.get(&call) {
            Some(CallRec {
                queue: waiting_in,
                queued: Some(queued),
                contact_queued,
                ..
            }) => {
                let (waiting_in, queued, contact) = (*waiting_in, *queued, *contact_queued);
                self.calls.remove(&call);
                self.queues[waiting_in as usize]
                    .waiting
                    .remove(queued, call);
                self.finish(queue, outcome, queued, ts, contact)
            }
            // A second outcome for a call whose first is still parked: keep the first.
            Some(_) => Applied::Ignored,
            None => {
                self.make_room_for_call();
                self.calls.insert(
                    call,
                    CallRec {
                        queue,
                        queued: None,
                        parked: Some((outcome, ts)),
                        contact_queued: None,
                    },
                );
                Applied::Parked
            }
        }
    }

    /// Records a call's outcome at the outcome's time with wait = outcome - queued in its
    /// queue, and in the center with the wait since `contact_queued` (the contact's first
    /// queueing) unless the center already counted the contact's outcome (`None`).
    fn finish(
        &mut self,
        queue: u32,
        outcome: Outcome,
        queued: Ts,
        at: Ts,
        contact_queued: Option<Ts>,
    ) -> Applied {
        let raw_wait = at.millis_since(queued);
        if raw_wait < 0 {
            self.counters.clock_skew += 1;
        }
        let wait = raw_wait.max(0) as u64;
        let contact_wait = contact_queued.map(|first| at.millis_since(first).max(0) as u64);
        let q = &mut self.queues[queue as usize];
        match outcome {
            Outcome::Answered => {
                let (thresholds, n) = (q.thresholds_ms, q.threshold_count);
                q.totals
                    .record_answer(wait, &thresholds[..n], &q.wait_bounds_ms);
                let applied = q.record(at, |b| b.record_answer(wait, &thresholds[..n]));
                if let Some(wait) = contact_wait {
                    let (center, cn) = (self.center.thresholds_ms, self.center.threshold_count);
                    self.center
                        .record(at, |b| b.record_answer(wait, &center[..cn]));
                }
                applied
            }
            Outcome::Abandoned => {
                let short = wait < q.short_abandon_ms;
                q.totals.counts.record_abandon(wait, short);
                let applied = q.record(at, |b| b.counts.record_abandon(wait, short));
                if let Some(wait) = contact_wait {
                    // Short as the queue it was abandoned in defines it.
                    let short = wait < q.short_abandon_ms;
                    self.center
                        .record(at, |b| b.counts.record_abandon(wait, short));
                }
                applied
            }
        }
    }

    /// Whether [`PartitionState::snapshot`] at `now` would differ from the last one: an event
    /// was applied since, or `now` is in another bucket (windows slide, housekeeping runs).
    pub fn changed_since_snapshot(&self, now: Ts) -> bool {
        self.changed || now.millis().div_euclid(self.policy.bucket_ms()) != self.snapshot_bucket
    }

    /// Reads every window and the live state at the instant `now` and publishes the
    /// partition's view. Reading changes no state: the same state read at the same instant
    /// gives the same snapshot, whenever it is taken.
    pub fn snapshot(&mut self, now: Ts) -> PartitionSnapshot {
        self.changed = false;
        self.snapshot_bucket = now.millis().div_euclid(self.policy.bucket_ms());
        self.housekeeping();
        let window_lens = &self.window_lens;
        let center = self.center.windows.read(now, window_lens);
        let ticket_live =
            self.tickets
                .live(&self.ticket_queues, now, self.policy.ticket_at_risk_share);
        let ticket_queues = &mut self.ticket_queues;
        let max_wait_ms = i64::from(self.policy.max_wait_secs) * 1000;
        let queues = self
            .queues
            .iter_mut()
            .enumerate()
            .map(|(id, q)| {
                let tickets = ticket_queues.get_mut(id).and_then(Option::as_mut).map(|t| {
                    t.ring.for_each_closed(|agg| {
                        agg.first_response_hist.compact();
                        agg.resolution_hist.compact();
                    });
                    let windows = t.ring.windows(now.millis(), window_lens);
                    let live = ticket_live.get(&(id as u32)).copied().unwrap_or_default();
                    (windows, live)
                });
                let (waiting, oldest_waiting) = q.waiting.at(now, max_wait_ms);
                QueueSnapshot {
                    name: Arc::clone(&q.name),
                    tickets,
                    windows: q.windows.read(now, window_lens),
                    waiting,
                    oldest_waiting,
                    totals: q.totals.clone(),
                }
            })
            .collect();
        let view = self.agents.view(now, &self.window_lens);
        let mut counters = self.counters;
        counters.dedupe_evicted = self.dedupe.evicted_early;
        counters.ticket_evicted = self.tickets.evicted;
        counters.agent_evicted = self.agents.evicted;
        counters.agent_calls_untracked = self.agent_calls.untracked;
        PartitionSnapshot {
            at: now,
            high_water: self.high_water,
            queues,
            center,
            agent_calls: self.agent_calls.view(now),
            teams: view.teams,
            team_time: view.team_time,
            agents: view.agents,
            counters,
        }
    }

    /// Expiry driven by the partition's own watermark (the newest event time it applied),
    /// never by the read instant or a wall clock: what a partition forgets depends only on
    /// the events it was given, so the same events at any pace leave the same state.
    fn housekeeping(&mut self) {
        let bucket_ms = self.policy.bucket_ms();
        let Some(clock) = self.high_water else {
            return;
        };
        let bucket = clock.millis().div_euclid(bucket_ms);
        if bucket == self.swept_bucket {
            return;
        }
        self.swept_bucket = bucket;
        for q in &mut self.queues {
            q.windows.ring.advance(clock.millis());
        }
        for t in self.ticket_queues.iter_mut().flatten() {
            t.ring.advance(clock.millis());
        }
        self.center.windows.ring.advance(clock.millis());
        self.tickets
            .expire(clock.plus_millis(-i64::from(self.policy.ticket_retention_secs) * 1000));
        let orphan_before = clock.plus_millis(-i64::from(self.policy.orphan_timeout_secs) * 1000);
        // A call still unfinished a day past the longest wait will not complete.
        let customer_before =
            clock.plus_millis(-(i64::from(self.policy.max_wait_secs) + 86_400) * 1000);
        self.call_customers
            .retain(|_, (_, offered)| *offered >= customer_before);
        self.agents.expire_offline(
            clock.plus_millis(-i64::from(self.policy.agent_offline_retention_secs) * 1000),
        );
        let stale_before = clock.plus_millis(-i64::from(self.policy.max_wait_secs) * 1000);
        let (queues, counters) = (&mut self.queues, &mut self.counters);
        self.calls
            .retain(|call, rec| match (rec.queued, rec.parked) {
                (None, Some((_, at))) if at < orphan_before => {
                    counters.orphaned += 1;
                    false
                }
                (Some(queued), None) if queued < stale_before => {
                    queues[rec.queue as usize].waiting.remove(queued, *call);
                    counters.stale_waiting += 1;
                    false
                }
                _ => true,
            });
        // Remember ids as long as a redelivery could still change a window or a parked call.
        let keep_ms = (self.ring_capacity as i64) * bucket_ms
            + i64::from(self.policy.orphan_timeout_secs) * 1000;
        self.dedupe
            .expire((clock.millis() - keep_ms).div_euclid(bucket_ms));
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
        self.calls.len()
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

#[cfg(test)]
mod tests;
