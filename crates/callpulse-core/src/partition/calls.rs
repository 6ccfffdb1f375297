//! The per-call ledger: calls waiting or parked, transfers, and each outcome counted once
//! in its queue and once per contact in the center.

use callpulse_events::Ts;

use super::{Applied, PartitionState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Answered,
    Abandoned,
}

/// A call this partition is tracking: waiting (queued, no outcome) or parked (outcome, no
/// queued). A call with both is finished and removed.
#[derive(Debug)]
pub(super) struct CallRec {
    pub(super) queue: u32,
    pub(super) queued: Option<Ts>,
    pub(super) parked: Option<(Outcome, Ts)>,
    /// When the contact was first queued, if the center still waits for its outcome: the
    /// center counts a contact once, its wait from the first queue on. `None` for a leg
    /// transferred after an answer (the center counted that answer).
    pub(super) contact_queued: Option<Ts>,
}

impl PartitionState {
    /// A call queued in `queue`. `from` is `Some` for a transfer the producer marked
    /// (`transferred_from`; the source queue's id if within the cap); a call queued again
    /// while still waiting elsewhere is a transfer from there. A transfer is offered to its
    /// new queue and counted as transferred in and out, but the center counts the contact
    /// once, with its first queue's outcome.
    pub(super) fn on_queued(
        &mut self,
        queue: u32,
        call: u64,
        ts: Ts,
        from: Option<Option<u32>>,
    ) -> Applied {
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
        let applied = self.queues[queue as usize].count(ts, |c| {
            c.offered += 1;
            c.transferred_in += u64::from(transfer);
        });
        // Only a transfer has a source.
        if let Some(source) = source {
            let _ = self.queues[source as usize].count(ts, |c| c.transferred_out += 1);
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
    pub(super) fn make_room_for_call(&mut self) {
        if self.calls.len() < self.policy.max_calls.max(1) {
            return;
        }
        let oldest_waiting = self.queues.iter().filter_map(|q| q.waiting.first()).min();
        let victim = match oldest_waiting {
            Some((_, call)) => Some(call),
            None => self.calls.keys().next().copied(),
        };
        let Some(call) = victim else {
            return;
        };
        if let Some(rec) = self.calls.remove(&call) {
            if let Some(queued) = rec.queued {
                self.queues[rec.queue as usize].waiting.remove(queued, call);
            }
            self.counters.call_evicted += 1;
        }
    }

    pub(super) fn track_waiting(
        &mut self,
        queue: u32,
        call: u64,
        ts: Ts,
        contact_queued: Option<Ts>,
    ) {
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

    pub(super) fn on_outcome(
        &mut self,
        queue: u32,
        call: u64,
        outcome: Outcome,
        ts: Ts,
    ) -> Applied {
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
    pub(super) fn finish(
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
                let applied = q.count(at, |c| c.record_abandon(wait, short));
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
}
