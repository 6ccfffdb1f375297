//! First contact resolution, live: a completed contact is resolved first time when the same
//! customer makes no further contact (a call or a ticket, any queue) within the FCR window
//! after its completion.
//!
//! The one definition, shared with the interval report ([`is_repeat`]): a *repeat* of a
//! contact completed at `done` is another contact of the same customer offered at or after
//! `done` and at most the FCR window after it. A contact placed while the first is still in
//! progress (a second call on another line, a ticket opened during the call) is a parallel
//! contact, not evidence that the first failed; one offered in the very second the first
//! completed is a repeat (second-resolution PBX logs stamp an immediate call-back so). This
//! is the repeat-contact method of FCR (as SQM Group and the vendors' FCR analytics measure
//! it): no further contact within a period after the contact was handled.
//!
//! A customer's contacts spread over every partition (calls are keyed by call id), so the
//! partitions only report facts ([`FcrFact`]: "customer X made contact at t", "X's contact
//! offered at t1 completed at t2 in queue Q"). Live, the engine re-keys them by customer
//! through a repartition topic (as Kafka Streams does): each of its partitions holds the
//! tracker of the customers hashed to it ([`FcrPartition`]), checkpointed like the event
//! partitions, so a customer's contacts meet in one tracker whichever instance read them.
//! `replay` and reports feed one tracker directly. An outcome is counted when it becomes known: a failure at the repeat contact, a
//! success when the window closes (event time: the newest fact's time). Until then the
//! contact is pending, which gives the provisional figure.
//!
//! Memory is bounded: a customer is forgotten once nothing of theirs is pending and their
//! last contact is older than the window, and at `max_customers` the customer idle longest
//! is evicted (their pending contacts are dropped, not counted, and `evicted` says so).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use callpulse_events::Ts;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::policy::MetricsPolicy;
use crate::window::{BucketRing, Merge};

/// Windows close this far behind the newest fact, so a partition slightly behind the others
/// can still report the repeat contact that fails one.
pub const SETTLE_LAG_MS: i64 = 60_000;

/// Whether a contact offered at `contact` repeats (and so fails) a contact of the same
/// customer offered at `offered` and completed at `done`, with an FCR window of
/// `window_ms`: offered at or after the completion, no later than the window after it, and
/// not the contact's own offer (which only a zero-length contact could confuse).
pub(crate) fn is_repeat(contact: Ts, offered: Ts, done: Ts, window_ms: i64) -> bool {
    contact > offered && contact >= done && contact.millis() <= done.millis() + window_ms
}

/// What a partition tells the tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FcrFact {
    /// The customer (hashed id) made a contact offered at `at`.
    Contact { customer: u64, at: Ts },
    /// The customer's contact offered at `offered` was completed at `done` in `queue`.
    /// `key` is the instant a report attributes its outcome to (its offer or its
    /// completion); live windows count the outcome when it becomes known instead.
    Completed {
        customer: u64,
        offered: Ts,
        done: Ts,
        queue: Arc<str>,
        key: Ts,
    },
}

/// FCR outcomes over a span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FcrCounts {
    /// Completed contacts whose outcome is known.
    pub eligible: u64,
    /// Of those, resolved first time.
    pub success: u64,
}

impl FcrCounts {
    /// Adds `other`'s outcomes.
    pub fn add(&mut self, other: &FcrCounts) {
        self.eligible += other.eligible;
        self.success += other.success;
    }
}

impl Merge for FcrCounts {
    fn merge(&mut self, other: &Self) {
        self.add(other);
    }
}

/// One queue's FCR as readers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct FcrQueueView {
    /// Outcomes known within each window (policy order).
    pub windows: Vec<FcrCounts>,
    /// Since the instance started.
    pub totals: FcrCounts,
    /// Completed contacts whose window is still open with no repeat contact yet.
    pub pending: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Pending {
    offered: Ts,
    done: Ts,
    queue: u32,
    /// `key - done` in ms: fits the padding after `queue`, so a report's key costs a live
    /// tracker (a million pending contacts) nothing. A key further than ±24 days from its
    /// completion (no contact's offer is) is taken as the completion.
    key_from_done_ms: i32,
}

impl Pending {
    fn key(&self) -> Ts {
        self.done.plus_millis(i64::from(self.key_from_done_ms))
    }
}

/// One FCR outcome as a report records it: in the row of `key`, once the window that
/// closes at `deadline` has closed (a failure is known earlier, but counting failures
/// before successes would bias FCR down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcrSettled {
    pub queue: Arc<str>,
    pub key: Ts,
    pub deadline: Ts,
    pub success: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Customer {
    /// The newest contacts (offered times), newest first: enough to recognise a repeat of a
    /// completion that arrives after it.
    recent: [Option<Ts>; 2],
    pending: Vec<Pending>,
    last_activity: Ts,
}

impl Customer {
    fn note_contact(&mut self, at: Ts) {
        if self.recent[0].is_none_or(|newest| at > newest) {
            self.recent = [Some(at), self.recent[0]];
        } else if self.recent[1].is_none_or(|second| at > second) && self.recent[0] != Some(at) {
            self.recent[1] = Some(at);
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct QueueFcr {
    name: Arc<str>,
    ring: BucketRing<FcrCounts>,
    totals: FcrCounts,
    pending: u64,
}

/// An FCR tracker: of one partition of the repartition topic (live, `partition.rs`), or of
/// a whole history (`replay`, reports).
#[derive(Debug, Serialize, Deserialize)]
pub struct FcrTracker {
    window_ms: i64,
    max_customers: usize,
    bucket_ms: i64,
    ring_capacity: usize,
    customers: FxHashMap<u64, Customer>,
    /// (activity time, customer), in the order activity was seen; stale entries (the
    /// customer was active again since) are skipped when popped.
    activity: VecDeque<(Ts, u64)>,
    /// (window end, customer, offered) of every pending contact.
    deadlines: BinaryHeap<Reverse<(i64, u64, i64)>>,
    queues: Vec<QueueFcr>,
    queue_ids: FxHashMap<Arc<str>, u32>,
    high_water: Option<Ts>,
    /// Every outcome as it is counted, when a report asked for them (reports are never
    /// checkpointed).
    #[serde(skip)]
    settled: Option<Vec<FcrSettled>>,
    /// Customers evicted at the cap with contacts still pending (those are not counted).
    pub evicted: u64,
}

impl FcrTracker {
    /// A tracker with an FCR window of `window_secs`, at most `max_customers` customers,
    /// and windows read from a ring of `ring_capacity` buckets of `bucket_ms`.
    pub fn new(
        window_secs: u32,
        max_customers: usize,
        bucket_ms: i64,
        ring_capacity: usize,
    ) -> Self {
        FcrTracker {
            window_ms: i64::from(window_secs) * 1000,
            max_customers: max_customers.max(1),
            bucket_ms,
            ring_capacity,
            customers: FxHashMap::default(),
            activity: VecDeque::new(),
            deadlines: BinaryHeap::new(),
            queues: Vec::new(),
            queue_ids: FxHashMap::default(),
            high_water: None,
            settled: None,
            evicted: 0,
        }
    }

    /// Also keeps every outcome for [`FcrTracker::drain_settled`] (reports).
    #[must_use]
    pub fn logging_settlements(mut self) -> Self {
        self.settled = Some(Vec::new());
        self
    }

    /// The outcomes counted since the last call (empty unless
    /// [`FcrTracker::logging_settlements`]).
    pub fn drain_settled(&mut self) -> Vec<FcrSettled> {
        self.settled
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// At the end of a finite history ending at `end`: settles, without the lag that waits
    /// for slower partitions, every pending contact whose window closed by `end`, and
    /// returns the rest, still open, as (queue, key).
    pub fn close(&mut self, end: Ts) -> Vec<(Arc<str>, Ts)> {
        let window = self.window_ms;
        let mut open = Vec::new();
        let mut closed = Vec::new();
        for c in self.customers.values_mut() {
            for p in c.pending.drain(..) {
                if p.done.millis() + window <= end.millis() {
                    closed.push(p);
                } else {
                    open.push((Arc::clone(&self.queues[p.queue as usize].name), p.key()));
                }
            }
        }
        self.deadlines.clear();
        for p in closed {
            self.count(&p, Ts(p.done.millis() + window), true);
        }
        open
    }

    /// Customers remembered now.
    pub fn customers(&self) -> usize {
        self.customers.len()
    }

    fn queue_id(&mut self, name: &Arc<str>) -> u32 {
        if let Some(id) = self.queue_ids.get(name) {
            return *id;
        }
        let id = self.queues.len() as u32;
        self.queues.push(QueueFcr {
            name: Arc::clone(name),
            ring: BucketRing::new(self.bucket_ms, self.ring_capacity),
            totals: FcrCounts::default(),
            pending: 0,
        });
        self.queue_ids.insert(Arc::clone(name), id);
        id
    }

    fn count(&mut self, p: &Pending, at: Ts, success: bool) {
        if let Some(log) = &mut self.settled {
            log.push(FcrSettled {
                queue: Arc::clone(&self.queues[p.queue as usize].name),
                key: p.key(),
                deadline: Ts(p.done.millis() + self.window_ms),
                success,
            });
        }
        let q = &mut self.queues[p.queue as usize];
        q.pending = q.pending.saturating_sub(1);
        q.totals.eligible += 1;
        q.totals.success += u64::from(success);
        if let Some(bucket) = q.ring.bucket_mut(at.millis()) {
            bucket.eligible += 1;
            bucket.success += u64::from(success);
        }
    }

    fn customer(&mut self, id: u64, at: Ts) -> &mut Customer {
        if !self.customers.contains_key(&id) && self.customers.len() >= self.max_customers {
            self.evict_one();
        }
        self.compact_indexes();
        self.activity.push_back((at, id));
        let customer = self.customers.entry(id).or_default();
        customer.last_activity = customer.last_activity.max(at);
        customer
    }

    /// The activity queue and the deadline heap drop stale entries lazily; past twice the
    /// customer cap they are rebuilt from what is live, so their size stays proportional to
    /// the cap however many customers come and go.
    fn compact_indexes(&mut self) {
        let limit = 2 * self.max_customers + 1024;
        if self.activity.len() > limit {
            let customers = &self.customers;
            self.activity
                .retain(|(at, id)| customers.get(id).is_some_and(|c| c.last_activity == *at));
        }
        if self.deadlines.len() > limit {
            let customers = &self.customers;
            let window = self.window_ms;
            let live: Vec<_> = std::mem::take(&mut self.deadlines)
                .into_iter()
                .filter(|Reverse((deadline, id, offered))| {
                    customers.get(id).is_some_and(|c| {
                        c.pending.iter().any(|p| {
                            p.offered.millis() == *offered && p.done.millis() + window == *deadline
                        })
                    })
                })
                .collect();
            self.deadlines = live.into();
        }
    }

    fn evict_one(&mut self) {
        while let Some((at, id)) = self.activity.pop_front() {
            let current = self.customers.get(&id).map(|c| c.last_activity);
            if current == Some(at) {
                if let Some(gone) = self.customers.remove(&id) {
                    if !gone.pending.is_empty() {
                        self.evicted += 1;
                    }
                    for p in gone.pending {
                        let q = &mut self.queues[p.queue as usize];
                        q.pending = q.pending.saturating_sub(1);
                    }
                }
                return;
            }
        }
    }

    /// Takes one fact, then settles what the newest time closes.
    pub fn apply(&mut self, fact: &FcrFact) {
        match fact {
            FcrFact::Contact { customer, at } => {
                let window = self.window_ms;
                let c = self.customer(*customer, *at);
                c.note_contact(*at);
                let (repeats, keep): (Vec<Pending>, Vec<Pending>) = c
                    .pending
                    .iter()
                    .partition(|p| is_repeat(*at, p.offered, p.done, window));
                c.pending = keep;
                for p in repeats {
                    self.count(&p, *at, false);
                }
                self.advance(*at);
            }
            FcrFact::Completed {
                customer,
                offered,
                done,
                queue,
                key,
            } => {
                let queue = self.queue_id(queue);
                let window = self.window_ms;
                let c = self.customer(*customer, *done);
                let deadline = done.millis() + window;
                // A repeat contact seen before this completion arrived.
                let repeat = c
                    .recent
                    .iter()
                    .flatten()
                    .copied()
                    .find(|t| is_repeat(*t, *offered, *done, window));
                self.queues[queue as usize].pending += 1;
                let pending = Pending {
                    offered: *offered,
                    done: *done,
                    queue,
                    key_from_done_ms: i32::try_from(key.millis_since(*done)).unwrap_or(0),
                };
                match repeat {
                    Some(at) => self.count(&pending, at, false),
                    None => {
                        let c = self.customers.entry(*customer).or_default();
                        c.pending.push(pending);
                        self.deadlines
                            .push(Reverse((deadline, *customer, offered.millis())));
                    }
                }
                self.advance(*done);
            }
        }
    }

    /// Moves event time to `at`: windows ending before it close as successes, and customers
    /// with nothing pending and no contact within the window are forgotten.
    pub fn advance(&mut self, at: Ts) {
        if self.high_water.is_some_and(|hw| at <= hw) {
            return;
        }
        self.high_water = Some(at);
        let settle_before = at.millis() - SETTLE_LAG_MS;
        while let Some(Reverse((deadline, customer, offered))) = self.deadlines.peek().copied() {
            if deadline >= settle_before {
                break;
            }
            self.deadlines.pop();
            let Some(c) = self.customers.get_mut(&customer) else {
                continue; // evicted
            };
            if let Some(i) = c.pending.iter().position(|p| {
                p.offered.millis() == offered && p.done.millis() + self.window_ms == deadline
            }) {
                let p = c.pending.swap_remove(i);
                self.count(&p, Ts(deadline), true);
            }
        }
        let forget_before = at.millis() - self.window_ms;
        while let Some(&(seen, id)) = self.activity.front() {
            if seen.millis() >= forget_before {
                break;
            }
            self.activity.pop_front();
            let idle = self
                .customers
                .get(&id)
                .is_some_and(|c| c.last_activity == seen && c.pending.is_empty());
            if idle {
                self.customers.remove(&id);
            }
        }
    }

    /// Every queue's FCR at `now`: the policy's sliding windows (policy order), totals and
    /// pending.
    pub fn view(&self, now: Ts, policy: &MetricsPolicy) -> Vec<(Arc<str>, FcrQueueView)> {
        let lens = policy.window_buckets();
        self.queues
            .iter()
            .map(|q| {
                (
                    Arc::clone(&q.name),
                    FcrQueueView {
                        windows: q.ring.windows(now.millis(), &lens),
                        totals: q.totals,
                        pending: q.pending,
                    },
                )
            })
            .collect()
    }

    /// A tracker for `policy` (FCR window, customer cap, bucket width, longest window).
    pub fn for_policy(policy: &MetricsPolicy) -> Self {
        FcrTracker::new(
            policy.fcr_window_secs,
            policy.max_fcr_customers,
            policy.bucket_ms(),
            policy.ring_capacity(),
        )
    }

    /// Takes a batch of facts from several partitions, oldest first.
    pub fn apply_all(&mut self, mut facts: Vec<FcrFact>) {
        facts.sort_by_key(|f| match f {
            FcrFact::Contact { at, .. } => (*at, 0),
            FcrFact::Completed { done, .. } => (*done, 1),
        });
        for fact in &facts {
            self.apply(fact);
        }
    }
}

mod partition;

pub use partition::{FactRecord, FactRecordError, FcrPart, FcrPartition, FcrQueuePart};

#[cfg(test)]
mod tests;
