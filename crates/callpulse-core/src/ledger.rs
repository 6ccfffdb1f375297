//! The per-call ledger: one set of rules, shared by the live partitions and the interval
//! reports, for what a call's events mean.
//!
//! It pairs each outcome with the queueing it ends (parking an outcome that arrives before
//! its `call_queued`), recognises transfers, counts a contact once for the center, follows
//! contacts for FCR, and keeps the calls waiting now. What it settles it hands to a
//! [`CallSink`]: the live partition records into sliding and calendar windows at each
//! event's own time, a report into rows by the attribution it was asked for. Because the
//! rules live here once, the live figures and a report of the same history cannot disagree
//! on what happened, only on where (which interval) they count it.
//!
//! Bounded: every map here is capped at `max_calls` (a counter says when the cap bit), and
//! entries expire by event time: parked outcomes and early completions after
//! `orphan_timeout_secs`, waiting calls after `max_wait_secs`, followed contacts a day after
//! that, remembered homes after `home_retention_ms`.

use callpulse_events::{ExitReason, Ts};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::live::Waiting;

use crate::partition::PartitionCounters;
pub(crate) use events::CallEvent;

/// What applying an accepted event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Counted in lifetime totals, windows and live state.
    Counted,
    /// Counted in totals and live state, but older than every window (the partition's ring,
    /// or a report row already written).
    Late,
    /// Waiting for another event of its call (an outcome for its `call_queued`; in a report
    /// by offered interval, a completion or survey for the queueing that places it).
    Parked,
    /// Valid, but changes nothing: an agent state older than the one known, a second outcome
    /// for the same call, a ticket event for a ticket this partition does not know, or a
    /// repeat of one it already applied.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Answered,
    /// Left unanswered, and how (a hang-up when the producer did not say).
    Abandoned(ExitReason),
}

/// An outcome paired with the queueing it ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegOutcome {
    /// The queue the outcome event names.
    pub(crate) queue: u32,
    pub(crate) outcome: Outcome,
    /// When this leg was queued.
    pub(crate) queued: Ts,
    pub(crate) at: Ts,
    /// When the contact was first queued, if the center counts this outcome (it counts a
    /// contact once: `None` for a leg transferred after the contact was answered).
    pub(crate) contact_queued: Option<Ts>,
}

impl LegOutcome {
    /// Time in this leg's queue (0 when the clocks put the outcome first).
    pub(crate) fn wait_ms(&self) -> u64 {
        self.at.millis_since(self.queued).max(0) as u64
    }

    /// Time since the contact's first queueing, if the center counts this outcome.
    pub(crate) fn contact_wait_ms(&self) -> Option<u64> {
        self.contact_queued
            .map(|first| self.at.millis_since(first).max(0) as u64)
    }
}

/// A `call_queued`, with names already made ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queueing {
    /// The call id, hashed.
    pub(crate) call: u64,
    pub(crate) queue: u32,
    pub(crate) at: Ts,
    /// `Some` for a transfer the producer marked (`transferred_from`), with the source
    /// queue's id when within the queue cap.
    pub(crate) from: Option<Option<u32>>,
    /// The customer id, hashed.
    pub(crate) customer: Option<u64>,
}

/// A `call_completed`'s figures.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Completion {
    pub(crate) queue: u32,
    pub(crate) at: Ts,
    pub(crate) talk_ms: u64,
    pub(crate) hold_ms: u64,
    pub(crate) acw_ms: u64,
    pub(crate) resolved: Option<bool>,
    /// The agent id, hashed: only the agent report reads it (FCR per agent).
    pub(crate) agent: u64,
}

/// A `csat_response`'s figures.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Survey {
    pub(crate) queue: u32,
    pub(crate) at: Ts,
    pub(crate) score: Option<u8>,
    pub(crate) nps: Option<u8>,
}

/// What FCR needs to know (see `fcr.rs`; the tracker settles these across partitions).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ContactFact {
    /// The customer (hashed id) made a contact offered at `at`.
    Contact { customer: u64, at: Ts },
    /// The customer's contact offered at `offered` was completed at `done` in `queue` by
    /// `agent` (hashed); `home` is the queueing its figures are attributed to (see
    /// [`CallSink::completed`]).
    Completed {
        customer: u64,
        offered: Ts,
        done: Ts,
        queue: u32,
        agent: u64,
        home: Option<Ts>,
    },
}

/// Where settled facts go. `home` is when the leg a completion or survey belongs to was
/// queued (the leg answered last, else the one waiting, else the last abandoned): known
/// only to a ledger that keeps homes ([`CallLedger::new`]), for reports by offered interval.
pub(crate) trait CallSink {
    /// A queueing: offered to `queue`; a transfer (from `source` when known) when
    /// `transfer`; the center counts it as a new contact unless it is a transfer.
    fn offered(&mut self, queue: u32, at: Ts, transfer: bool, source: Option<u32>) -> Applied;
    /// An outcome paired with its queueing.
    fn outcome(&mut self, outcome: &LegOutcome) -> Applied;
    fn completed(&mut self, done: &Completion, home: Option<Ts>) -> Applied;
    fn surveyed(&mut self, survey: &Survey, home: Option<Ts>) -> Applied;
    fn contact(&mut self, fact: ContactFact);
}

/// A call being tracked: waiting (queued, no outcome) or parked (outcome, no queued). A
/// call with both is finished and removed.
#[derive(Debug, Serialize, Deserialize)]
struct CallRec {
    queue: u32,
    queued: Option<Ts>,
    parked: Option<(Outcome, Ts)>,
    /// When the contact was first queued, if the center still waits for its outcome.
    contact_queued: Option<Ts>,
}

/// The queueing a finished call's later events belong to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Home {
    queued: Ts,
    answered: bool,
    /// When it was set (its outcome's time), for expiry.
    set: Ts,
}

/// Events of a call that came before any of its queueings: a completion (kept for its FCR
/// fact, and when homes are kept, for its figures) and surveys (when homes are kept).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Early {
    completion: Option<Completion>,
    /// Whether the completion's figures were already handed to the sink.
    counted: bool,
    surveys: Vec<Survey>,
    /// The first of these events' times, for the orphan timeout.
    since: Ts,
}

/// The ledger's limits, from the policy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct LedgerLimits {
    pub(crate) max_calls: usize,
    pub(crate) orphan_timeout_ms: i64,
    pub(crate) max_wait_ms: i64,
}

/// The per-call state of one partition (or of one report).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CallLedger {
    limits: LedgerLimits,
    /// `Some(retention)` when homes are kept (a report by offered interval).
    home_retention_ms: Option<i64>,
    calls: FxHashMap<u64, CallRec>,
    /// Per queue id, the calls waiting there now.
    waiting: Vec<Waiting>,
    /// Call -> (customer, first offered) for calls with a `customer_id`, until completed or
    /// abandoned: what an FCR `Completed` fact needs.
    contacts: FxHashMap<u64, (u64, Ts)>,
    homes: FxHashMap<u64, Home>,
    early: FxHashMap<u64, Early>,
    /// When `contacts` and `homes` were last swept.
    long_swept: Option<Ts>,
}

/// How long past the longest wait a followed contact is kept for its completion.
const CONTACT_GRACE_MS: i64 = 86_400_000;

impl CallLedger {
    /// An empty ledger; `home_retention_ms` keeps homes for that long after a call's outcome
    /// (reports by offered interval), `None` keeps none (live windows count at event time).
    pub(crate) fn new(limits: LedgerLimits, home_retention_ms: Option<i64>) -> Self {
        CallLedger {
            limits,
            home_retention_ms,
            calls: FxHashMap::default(),
            waiting: Vec::new(),
            contacts: FxHashMap::default(),
            homes: FxHashMap::default(),
            early: FxHashMap::default(),
            long_swept: None,
        }
    }

    /// Calls tracked now (waiting or parked).
    pub(crate) fn tracked_calls(&self) -> usize {
        self.calls.len()
    }

    /// The calls waiting in `queue` now.
    pub(crate) fn waiting(&self, queue: u32) -> Option<&Waiting> {
        self.waiting.get(queue as usize)
    }

    fn waiting_mut(&mut self, queue: u32) -> &mut Waiting {
        let i = queue as usize;
        if i >= self.waiting.len() {
            self.waiting.resize_with(i + 1, Waiting::default);
        }
        &mut self.waiting[i]
    }

    /// Takes one event (see [`CallEvent::of`]).
    pub(crate) fn take(
        &mut self,
        event: CallEvent,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        match event {
            CallEvent::Queued(queueing) => self.queued(queueing, sink, counters),
            CallEvent::Outcome {
                call,
                queue,
                outcome,
                at,
            } => self.outcome(call, queue, outcome, at, sink, counters),
            CallEvent::Completed { call, done } => self.completed(call, done, sink, counters),
            CallEvent::Surveyed { call, survey } => self.surveyed(call, survey, sink, counters),
            CallEvent::Contact { customer, at } => {
                self.other_contact(customer, at, sink);
                Applied::Counted
            }
        }
    }

    /// A call queued. A call queued again while still waiting elsewhere is a transfer from
    /// there, like one the producer marked. A transfer is offered to its new queue and
    /// counted as transferred in and out, but the center counts the contact once, with its
    /// first queue's outcome. The customer is followed for FCR unless this queueing is a
    /// marked transfer (still the same contact).
    pub(crate) fn queued(
        &mut self,
        queueing: Queueing,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        let Queueing {
            call,
            queue,
            at: ts,
            from,
            customer,
        } = queueing;
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
        let applied = sink.offered(queue, ts, transfer, source);
        match self.calls.remove(&call) {
            Some(CallRec {
                queue: outcome_queue,
                parked: Some((outcome, at)),
                ..
            }) => {
                // The outcome came first and was parked; now the call is complete. Its
                // outcome counts at the outcome's time, whatever this event's lateness.
                self.finish(
                    call,
                    LegOutcome {
                        queue: outcome_queue,
                        outcome,
                        queued: ts,
                        at,
                        contact_queued,
                    },
                    sink,
                    counters,
                );
            }
            Some(CallRec {
                queue: old_queue,
                queued: Some(old_ts),
                ..
            }) => {
                // Transferred while waiting: it waits from now on in the new queue.
                self.waiting_mut(old_queue).remove(old_ts, call);
                self.track_waiting(queue, call, ts, contact_queued, counters);
            }
            _ => self.track_waiting(queue, call, ts, contact_queued, counters),
        }
        if let Some(customer) = customer.filter(|_| from.is_none()) {
            self.follow(call, customer, ts, sink, counters);
        }
        self.release_early(call, Some(ts), from.is_some(), sink);
        applied
    }

    /// At `max_calls` tracked calls, forgets the longest-waiting one (or, with none waiting,
    /// a parked outcome, which the orphan timeout would drop soon anyway).
    fn make_room(&mut self, counters: &mut PartitionCounters) {
        if self.calls.len() < self.limits.max_calls.max(1) {
            return;
        }
        let oldest_waiting = self.waiting.iter().filter_map(Waiting::first).min();
        let victim = match oldest_waiting {
            Some((_, call)) => Some(call),
            None => self.calls.keys().next().copied(),
        };
        let Some(call) = victim else {
            return;
        };
        if let Some(rec) = self.calls.remove(&call) {
            if let Some(queued) = rec.queued {
                self.waiting_mut(rec.queue).remove(queued, call);
            }
            counters.call_evicted += 1;
        }
    }

    /// Forgets the calls waiting in `queue`, whose id is about to go to another name;
    /// returns how many there were.
    pub(crate) fn forget_queue(&mut self, queue: u32) -> u64 {
        let Some(waiting) = self.waiting.get_mut(queue as usize) else {
            return 0;
        };
        let mut forgotten = 0;
        for call in waiting.drain().collect::<Vec<_>>() {
            forgotten += u64::from(self.calls.remove(&call).is_some());
        }
        forgotten
    }

    fn track_waiting(
        &mut self,
        queue: u32,
        call: u64,
        ts: Ts,
        contact_queued: Option<Ts>,
        counters: &mut PartitionCounters,
    ) {
        self.make_room(counters);
        self.waiting_mut(queue).add(ts, call);
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

    /// An answer or abandon of `call` in `queue` at `ts`.
    pub(crate) fn outcome(
        &mut self,
        call: u64,
        queue: u32,
        outcome: Outcome,
        ts: Ts,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        if matches!(outcome, Outcome::Abandoned(_)) {
            // An abandoned contact completes nothing.
            self.contacts.remove(&call);
        }
        match self.calls.get(&call) {
            Some(CallRec {
                queue: waiting_in,
                queued: Some(queued),
                contact_queued,
                ..
            }) => {
                let (waiting_in, queued, contact_queued) = (*waiting_in, *queued, *contact_queued);
                self.calls.remove(&call);
                self.waiting_mut(waiting_in).remove(queued, call);
                self.finish(
                    call,
                    LegOutcome {
                        queue,
                        outcome,
                        queued,
                        at: ts,
                        contact_queued,
                    },
                    sink,
                    counters,
                )
            }
            // A second outcome for a call whose first is still parked: keep the first.
            Some(_) => Applied::Ignored,
            None => {
                self.make_room(counters);
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

    fn finish(
        &mut self,
        call: u64,
        leg: LegOutcome,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        if leg.at < leg.queued {
            counters.clock_skew += 1;
        }
        self.set_home(call, &leg, counters);
        sink.outcome(&leg)
    }
}

mod completion;
mod events;
mod expiry;
#[cfg(test)]
mod tests;
