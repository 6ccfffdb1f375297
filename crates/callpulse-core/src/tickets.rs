//! Tickets (email, chat, social, web): backlog, first response and resolution.
//!
//! Ticket events only name their queue when the ticket is created, so a partition keeps one
//! small record per ticket it has seen (tickets are keyed by `ticket_id`, so all of a
//! ticket's events share a partition). Open tickets are kept as long as they are open;
//! resolved ones for `ticket_retention_secs` of event time (a reopen after that is not
//! recognised), and the oldest resolved ones go first when `max_tickets` is reached.
//!
//! Windowed figures are attributed like call figures: created at creation, first response
//! time at the first response, resolution time at resolution, reopens at the reopen.

use std::collections::VecDeque;

use callpulse_events::{TicketChannel, Ts};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::calls::WaitHistogram;
use crate::policy::QueuePolicy;
use crate::window::{BucketRing, Merge};

/// One queue's ticket figures over a span (a bucket or a window). Durations are summed in
/// ms; the histograms hold whole seconds (tickets take hours, not milliseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TicketAgg {
    pub created: u64,
    pub first_responses: u64,
    pub first_response_ms: u64,
    /// First responses later than the ticket's target.
    pub first_response_breaches: u64,
    pub first_response_hist: WaitHistogram,
    pub resolved: u64,
    pub resolution_ms: u64,
    pub resolution_hist: WaitHistogram,
    pub reopened: u64,
    /// Created and resolved per channel ([`CHANNELS`] order).
    pub created_by_channel: [u64; 4],
    pub resolved_by_channel: [u64; 4],
}

/// The ticket channels, in the order of the per-channel arrays.
pub const CHANNELS: [TicketChannel; 4] = [
    TicketChannel::Email,
    TicketChannel::Chat,
    TicketChannel::Social,
    TicketChannel::Web,
];

fn channel_index(channel: TicketChannel) -> usize {
    match channel {
        TicketChannel::Email => 0,
        TicketChannel::Chat => 1,
        TicketChannel::Social => 2,
        TicketChannel::Web => 3,
    }
}

impl Merge for TicketAgg {
    fn merge(&mut self, other: &Self) {
        self.created += other.created;
        self.first_responses += other.first_responses;
        self.first_response_ms += other.first_response_ms;
        self.first_response_breaches += other.first_response_breaches;
        self.first_response_hist.merge(&other.first_response_hist);
        self.resolved += other.resolved;
        self.resolution_ms += other.resolution_ms;
        self.resolution_hist.merge(&other.resolution_hist);
        self.reopened += other.reopened;
        for i in 0..CHANNELS.len() {
            self.created_by_channel[i] += other.created_by_channel[i];
            self.resolved_by_channel[i] += other.resolved_by_channel[i];
        }
    }
}

/// The ticket state of one queue in one partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TicketQueue {
    pub(crate) ring: BucketRing<TicketAgg>,
    /// First-response target per priority (index = priority 0..=9), ms.
    targets_ms: [u64; 10],
}

impl TicketQueue {
    pub(crate) fn new(policy: &QueuePolicy, bucket_ms: i64, capacity: usize) -> Self {
        let mut targets_ms = [u64::from(policy.ticket_first_response_secs) * 1000; 10];
        for (priority, secs) in &policy.ticket_first_response_by_priority {
            if let Ok(p) = priority.parse::<usize>()
                && let Some(slot) = targets_ms.get_mut(p)
            {
                *slot = u64::from(*secs) * 1000;
            }
        }
        TicketQueue {
            ring: BucketRing::new(bucket_ms, capacity),
            targets_ms,
        }
    }

    fn target_ms(&self, priority: Option<u8>) -> u64 {
        self.targets_ms[usize::from(priority.unwrap_or(0).min(9))]
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TicketRec {
    queue: u32,
    channel: TicketChannel,
    created: Ts,
    priority: Option<u8>,
    first_response: Option<Ts>,
    resolved: Option<Ts>,
}

/// What a ticket event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketUpdate {
    /// Recorded in the bucket of its time.
    Counted,
    /// Recorded in live state only: older than the ring.
    Late,
    /// Nothing to do: unknown ticket, a repeat, or a reopen of an open ticket.
    Ignored,
    /// `max_tickets` reached and nothing resolved to forget.
    Full,
}

/// Live ticket counts of one queue, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLive {
    /// Open tickets (created or reopened, not resolved).
    pub backlog: u64,
    /// Open tickets with no first response yet.
    pub awaiting_first_response: u64,
    /// Of those, past `ticket_at_risk_share` of their first-response target, not yet past it.
    pub at_risk: u64,
    /// Of those, past their target already.
    pub breached: u64,
}

impl TicketLive {
    pub(crate) fn merge(&mut self, other: &TicketLive) {
        self.backlog += other.backlog;
        self.awaiting_first_response += other.awaiting_first_response;
        self.at_risk += other.at_risk;
        self.breached += other.breached;
    }
}

/// A partition's tickets.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Tickets {
    recs: FxHashMap<u64, TicketRec>,
    /// (resolved at, ticket) in resolution order, for retention and eviction; entries of
    /// tickets reopened since are skipped lazily.
    resolved: VecDeque<(Ts, u64)>,
    /// Per queue id, the tickets remembered in it: a queue with tickets is never evicted.
    per_queue: Vec<u32>,
    pub(crate) evicted: u64,
}

impl Tickets {
    /// Tickets remembered (open, and resolved within retention).
    pub(crate) fn len(&self) -> usize {
        self.recs.len()
    }

    pub(crate) fn created(
        &mut self,
        queues: &mut [Option<Box<TicketQueue>>],
        queue: u32,
        ticket: u64,
        (channel, priority): (TicketChannel, Option<u8>),
        ts: Ts,
        max_tickets: usize,
    ) -> TicketUpdate {
        if self.recs.contains_key(&ticket) {
            return TicketUpdate::Ignored;
        }
        if self.recs.len() >= max_tickets && !self.forget_oldest_resolved() {
            return TicketUpdate::Full;
        }
        let slot = queue as usize;
        if self.per_queue.len() <= slot {
            self.per_queue.resize(slot + 1, 0);
        }
        self.per_queue[slot] += 1;
        self.recs.insert(
            ticket,
            TicketRec {
                queue,
                channel,
                created: ts,
                priority,
                first_response: None,
                resolved: None,
            },
        );
        record(queues, queue, ts, |b| {
            b.created += 1;
            b.created_by_channel[channel_index(channel)] += 1;
        })
    }

    pub(crate) fn first_response(
        &mut self,
        queues: &mut [Option<Box<TicketQueue>>],
        ticket: u64,
        ts: Ts,
    ) -> TicketUpdate {
        let Some(rec) = self.change(ticket, |r| set_once(&mut r.first_response, ts)) else {
            return TicketUpdate::Ignored;
        };
        let took = ts.millis_since(rec.created).max(0) as u64;
        let target = target_ms(queues, &rec);
        record(queues, rec.queue, ts, |b| {
            b.first_responses += 1;
            b.first_response_ms += took;
            b.first_response_breaches += u64::from(took > target);
            b.first_response_hist.record(took / 1000);
        })
    }

    pub(crate) fn resolved(
        &mut self,
        queues: &mut [Option<Box<TicketQueue>>],
        ticket: u64,
        ts: Ts,
    ) -> TicketUpdate {
        let Some(rec) = self.change(ticket, |r| set_once(&mut r.resolved, ts)) else {
            return TicketUpdate::Ignored;
        };
        self.resolved.push_back((ts, ticket));
        let took = ts.millis_since(rec.created).max(0) as u64;
        record(queues, rec.queue, ts, |b| {
            b.resolved += 1;
            b.resolved_by_channel[channel_index(rec.channel)] += 1;
            b.resolution_ms += took;
            b.resolution_hist.record(took / 1000);
        })
    }

    pub(crate) fn reopened(
        &mut self,
        queues: &mut [Option<Box<TicketQueue>>],
        ticket: u64,
        ts: Ts,
    ) -> TicketUpdate {
        let Some(rec) = self.change(ticket, |r| r.resolved.take().is_some()) else {
            return TicketUpdate::Ignored;
        };
        record(queues, rec.queue, ts, |b| b.reopened += 1)
    }

    /// Applies `change` to a known ticket and returns the ticket as changed; `None` for an
    /// unknown ticket or when `change` says the event changes nothing.
    fn change(
        &mut self,
        ticket: u64,
        change: impl FnOnce(&mut TicketRec) -> bool,
    ) -> Option<TicketRec> {
        let rec = self.recs.get_mut(&ticket)?;
        change(rec).then_some(*rec)
    }

    /// Forgets resolved tickets resolved before `before`.
    pub(crate) fn expire(&mut self, before: Ts) {
        while let Some(&(at, ticket)) = self.resolved.front() {
            if at >= before {
                break;
            }
            self.resolved.pop_front();
            self.forget_if_resolved_at(ticket, at);
        }
    }

    fn forget_oldest_resolved(&mut self) -> bool {
        while let Some((at, ticket)) = self.resolved.pop_front() {
            if self.forget_if_resolved_at(ticket, at) {
                self.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Removes `ticket` if it is still resolved at `at` (not reopened since).
    fn forget_if_resolved_at(&mut self, ticket: u64, at: Ts) -> bool {
        if self
            .recs
            .get(&ticket)
            .is_some_and(|r| r.resolved == Some(at))
        {
            if let Some(rec) = self.recs.remove(&ticket) {
                self.per_queue[rec.queue as usize] -= 1;
            }
            return true;
        }
        false
    }

    /// Whether any remembered ticket is in `queue`.
    pub(crate) fn in_queue(&self, queue: u32) -> bool {
        self.per_queue.get(queue as usize).is_some_and(|n| *n > 0)
    }

    /// Live counts per queue id at `now`.
    pub(crate) fn live(
        &self,
        queues: &[Option<Box<TicketQueue>>],
        now: Ts,
        at_risk_share: f64,
    ) -> FxHashMap<u32, TicketLive> {
        let mut out: FxHashMap<u32, TicketLive> = FxHashMap::default();
        for rec in self.recs.values().filter(|r| r.resolved.is_none()) {
            let live = out.entry(rec.queue).or_default();
            live.backlog += 1;
            if rec.first_response.is_some() {
                continue;
            }
            live.awaiting_first_response += 1;
            let target = target_ms(queues, rec) as f64;
            let age = now.millis_since(rec.created).max(0) as f64;
            if age > target {
                live.breached += 1;
            } else if age >= target * at_risk_share {
                live.at_risk += 1;
            }
        }
        out
    }
}

/// Sets a time that happens once per ticket (first response, resolution); false if it was set.
fn set_once(slot: &mut Option<Ts>, ts: Ts) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(ts);
    true
}

/// The first-response target of a ticket, by its queue and priority.
fn target_ms(queues: &[Option<Box<TicketQueue>>], rec: &TicketRec) -> u64 {
    queues
        .get(rec.queue as usize)
        .and_then(Option::as_ref)
        .map_or(u64::MAX, |q| q.target_ms(rec.priority))
}

fn record(
    queues: &mut [Option<Box<TicketQueue>>],
    queue: u32,
    ts: Ts,
    f: impl FnOnce(&mut TicketAgg),
) -> TicketUpdate {
    let Some(q) = queues.get_mut(queue as usize).and_then(Option::as_mut) else {
        return TicketUpdate::Ignored;
    };
    match q.ring.bucket_mut(ts.millis()) {
        Some(bucket) => {
            f(bucket);
            TicketUpdate::Counted
        }
        None => TicketUpdate::Late,
    }
}
