//! Queue names from input: interned up to `max_queues` per partition (configured queues
//! always), and at that cap an idle unconfigured queue makes room for a new name.
//!
//! A flood of junk names fills the cap; without eviction a real queue the configuration
//! does not name would then be refused for as long as the partition lives. A queue is idle
//! when the partition's event time is `name_idle_secs` past the last event that named it
//! and no ticket is remembered in it: by then its sliding windows are empty and nothing
//! parked names it (the policy keeps `name_idle_secs` above both). Its calls still waiting
//! (presumed lost: nothing happened in the queue for that long) are dropped and counted as
//! `call_evicted`. Its lifetime totals stay in the snapshot as a totals-only entry, so the
//! `_total` counters never go down, and come back to the queue if its name returns. Those
//! entries are bounded too: past `max_queues` of them the oldest is dropped, and its series
//! ends (a series that ends is not a counter reset).

use std::sync::Arc;

use callpulse_events::{Rejection, Ts};

use super::PartitionState;
use super::windows::{CallWindows, QueueState};
use crate::calls::{CallTotals, MAX_SL_THRESHOLDS};
use crate::policy::ExitSet;

impl PartitionState {
    /// The id of queue `name`, admitting it if there is room (making room if an idle queue
    /// can go), for an event at `ts`.
    pub(super) fn queue_id(&mut self, name: &str, ts: Ts) -> Result<u32, Rejection> {
        let cap = self.policy.max_queues;
        // The partition's clock with this event applied. Idle is measured on it: a late
        // event still says the queue is in use now.
        let now = self.high_water.map_or(ts, |hw| hw.max(ts));
        let id = match self
            .queue_names
            .id(name, cap, || self.policy.configures_queue(name))
        {
            Some(id) => id,
            // The new name takes the evicted one's place (configured names past the cap
            // may keep the count above it).
            None if self.evict_idle_queue(now) => self
                .queue_names
                .id(name, cap, || true)
                .ok_or(Rejection::TooManyNames("queue"))?,
            None => return Err(Rejection::TooManyNames("queue")),
        };
        let slot = id as usize;
        if slot == self.queues.len() {
            self.ticket_queues.push(None);
            let queue = self.new_queue(id);
            self.queues.push(queue);
        } else if self.queues[slot].name.is_empty() {
            self.ticket_queues[slot] = None;
            self.queues[slot] = self.new_queue(id);
        }
        let queue = &mut self.queues[slot];
        queue.last_event = queue.last_event.max(now);
        // A queue first seen now still knows how far event time has got, so an old event
        // is recognised as late even on a fresh ring.
        if let Some(high_water) = self.high_water {
            queue.windows.ring.advance(high_water.millis());
        }
        Ok(id)
    }

    /// A fresh queue for the name just interned as `id`, with the lifetime totals it had
    /// when it was evicted, if it was.
    fn new_queue(&mut self, id: u32) -> QueueState {
        let name = Arc::clone(self.queue_names.name(id));
        let totals = match self.evicted_queues.iter().position(|(n, _)| *n == name) {
            Some(i) => self.evicted_queues.remove(i).1,
            None => CallTotals::default(),
        };
        let queue_policy = self.policy.queue(&name);
        let mut thresholds_ms = [0u64; MAX_SL_THRESHOLDS];
        for (slot, secs) in thresholds_ms
            .iter_mut()
            .zip(&queue_policy.sl_thresholds_secs)
        {
            *slot = u64::from(*secs) * 1000;
        }
        QueueState {
            name,
            thresholds_ms,
            threshold_count: queue_policy.sl_thresholds_secs.len().min(MAX_SL_THRESHOLDS),
            short_abandon_ms: u64::from(queue_policy.short_abandon_secs) * 1000,
            exits_not_abandoned: ExitSet::of(&queue_policy.exits_not_abandoned),
            wait_bounds_ms: self
                .policy
                .wait_bounds(queue_policy)
                .iter()
                .map(|s| u64::from(*s) * 1000)
                .collect(),
            windows: CallWindows::new(&self.policy, self.ring_capacity),
            totals,
            last_event: Ts(i64::MIN),
        }
    }

    /// Evicts the unconfigured queue idle longest at `now`, if one has been idle
    /// `name_idle_secs`; whether one was.
    fn evict_idle_queue(&mut self, now: Ts) -> bool {
        let idle_before = now.plus_millis(-i64::from(self.policy.name_idle_secs) * 1000);
        let victim = self
            .queues
            .iter()
            .enumerate()
            .filter(|(id, q)| {
                !q.name.is_empty()
                    && q.last_event < idle_before
                    && !self.policy.configures_queue(&q.name)
                    && !self.tickets.in_queue(*id as u32)
            })
            .min_by_key(|(_, q)| q.last_event)
            .map(|(id, _)| id);
        let Some(slot) = victim else {
            return false;
        };
        let id = slot as u32;
        self.counters.call_evicted += self.ledger.forget_queue(id);
        let queue = std::mem::replace(&mut self.queues[slot], QueueState::vacant(&self.policy));
        self.ticket_queues[slot] = None;
        self.queue_names.remove(id);
        self.evicted_queues.push((queue.name, queue.totals));
        if self.evicted_queues.len() > self.policy.max_queues {
            self.evicted_queues.remove(0);
        }
        self.counters.queue_evicted += 1;
        true
    }
}
