//! Reading a partition at an instant: what it publishes on each tick.

use std::sync::Arc;

use callpulse_events::Ts;
use serde::{Deserialize, Serialize};

use super::{PartitionCounters, PartitionState};
use crate::calls::{CallAgg, CallTotals};
use crate::live::{AgentCalls, AgentView, TeamStates};
use crate::occupancy::AgentTime;
use crate::tickets::{TicketAgg, TicketLive};

/// One queue's part of a partition snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// What a partition publishes on each tick: immutable, cheap to merge; also what instances
/// share through the snapshot topic (`snapshot/shared.rs`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    /// The `now` the windows were read at.
    pub at: Ts,
    /// The newest event time applied, and the oldest (where the state's history begins).
    pub high_water: Option<Ts>,
    pub low_water: Option<Ts>,
    pub queues: Vec<QueueSnapshot>,
    /// The whole center's windows (as [`QueueSnapshot::windows`]).
    pub center: Vec<CallAgg>,
    /// Today's call figures of agents whose calls this partition saw.
    pub agent_calls: Vec<(Arc<str>, AgentCalls)>,
    pub teams: Vec<(Arc<str>, TeamStates)>,
    /// Per team, time in state over each policy window (policy order), running states
    /// included.
    pub team_time: Vec<(Arc<str>, Vec<AgentTime>)>,
    pub agents: Vec<AgentView>,
    /// Per team, the seconds its agents are scheduled `open` in each interval
    /// (`metrics.interval_mins`) of the local day, by index from midnight.
    pub scheduled: Vec<(Arc<str>, Vec<u32>)>,
    pub counters: PartitionCounters,
}

impl PartitionState {
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
        let window_lens = &self.window_lens;
        let center = self.center.windows.read(now, window_lens);
        let ticket_live =
            self.tickets
                .live(&self.ticket_queues, now, self.policy.ticket_at_risk_share);
        let ticket_queues = &mut self.ticket_queues;
        let ledger = &self.ledger;
        let max_wait_ms = i64::from(self.policy.max_wait_secs) * 1000;
        let mut queues: Vec<QueueSnapshot> = self
            .queues
            .iter_mut()
            .enumerate()
            .filter(|(_, q)| !q.name.is_empty())
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
                let (waiting, oldest_waiting) = ledger
                    .waiting(id as u32)
                    .map_or((0, None), |w| w.at(now, max_wait_ms));
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
        // Queues evicted while idle: their lifetime totals, nothing in any window.
        queues.extend(
            self.evicted_queues
                .iter()
                .map(|(name, totals)| QueueSnapshot {
                    name: Arc::clone(name),
                    windows: Vec::new(),
                    waiting: 0,
                    oldest_waiting: None,
                    totals: totals.clone(),
                    tickets: None,
                }),
        );
        let view = self
            .agents
            .view(now, &self.window_lens, self.policy.adherence.grace_ms());
        let mut counters = self.counters;
        counters.dedupe_evicted = self.dedupe.evicted_early;
        counters.ticket_evicted = self.tickets.evicted;
        counters.agent_evicted = self.agents.evicted;
        counters.team_evicted = self.agents.teams_evicted;
        counters.agent_calls_untracked = self.agent_calls.untracked;
        PartitionSnapshot {
            at: now,
            high_water: self.high_water,
            low_water: self.low_water,
            queues,
            center,
            agent_calls: self.agent_calls.view(now),
            teams: view.teams,
            team_time: view.team_time,
            agents: view.agents,
            scheduled: self.agents.scheduled(now, self.policy.interval_mins * 60),
            counters,
        }
    }
}
