//! After a call's outcome, and before its queueing: completions, surveys, the homes they go
//! to, the contacts FCR follows, and the events that arrive before their call's queueing.

use callpulse_events::Ts;

use super::{Applied, CallLedger, CallSink, Completion, ContactFact, Early, Home, LegOutcome};
use super::{Outcome, Survey};
use crate::partition::PartitionCounters;

impl CallLedger {
    /// Starts following a contact for FCR (once per call: a transfer is the same contact).
    pub(super) fn follow(
        &mut self,
        call: u64,
        customer: u64,
        ts: Ts,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) {
        if self.contacts.contains_key(&call) {
            return;
        }
        // The contact still counts as a repeat for earlier ones; only its own outcome goes
        // unfollowed at the cap.
        sink.contact(ContactFact::Contact { customer, at: ts });
        // A completion stamped after this queueing that arrived before it (out of order)
        // settles now; one stamped earlier ended another contact.
        let early = self
            .early
            .get(&call)
            .and_then(|e| e.completion)
            .filter(|done| done.at >= ts);
        if let Some(done) = early {
            let home = self.home_of(call);
            sink.contact(ContactFact::Completed {
                customer,
                offered: ts,
                done: done.at,
                queue: done.queue,
                agent: done.agent,
                home,
            });
        } else if self.contacts.len() >= self.limits.max_calls {
            counters.fcr_untracked += 1;
        } else {
            self.contacts.insert(call, (customer, ts));
        }
    }

    /// Hands what came before the call's queueing to the sink: figures not yet counted go
    /// to `home` (the queueing, or the call's own home when one is known). A queueing that
    /// cannot name the customer (a marked transfer: `awaits_contact`) leaves the completion
    /// waiting, counted, for the one that does.
    pub(super) fn release_early(
        &mut self,
        call: u64,
        queued: Option<Ts>,
        awaits_contact: bool,
        sink: &mut impl CallSink,
    ) {
        let Some(early) = self.early.remove(&call) else {
            return;
        };
        let home = self.home_of(call).or(queued);
        if let Some(done) = early.completion.filter(|_| !early.counted) {
            // A completion stamped before this queueing ended an earlier leg we never saw.
            let home = home.filter(|h| done.at >= *h);
            let _ = sink.completed(&done, home);
        }
        for survey in &early.surveys {
            let _ = sink.surveyed(survey, home);
        }
        if let Some(done) = early.completion.filter(|_| awaits_contact) {
            self.early.insert(
                call,
                Early {
                    completion: Some(done),
                    counted: true,
                    surveys: Vec::new(),
                    since: early.since,
                },
            );
        }
    }

    /// Remembers the leg a finished call's completion and surveys belong to: the leg
    /// answered last, else the last one abandoned (only when homes are kept).
    pub(super) fn set_home(
        &mut self,
        call: u64,
        leg: &LegOutcome,
        counters: &mut PartitionCounters,
    ) {
        if self.home_retention_ms.is_none() {
            return;
        }
        let answered = leg.outcome == Outcome::Answered;
        let full = self.homes.len() >= self.limits.max_calls;
        match self.homes.get_mut(&call) {
            Some(home) if answered || !home.answered => {
                *home = Home {
                    queued: leg.queued,
                    answered,
                    set: leg.at,
                };
            }
            Some(_) => {}
            None if full => counters.call_evicted += 1,
            None => {
                self.homes.insert(
                    call,
                    Home {
                        queued: leg.queued,
                        answered,
                        set: leg.at,
                    },
                );
            }
        }
    }

    /// The queueing a call's completion or survey belongs to, when homes are kept: the leg
    /// answered last, else the one waiting now, else the last abandoned.
    fn home_of(&self, call: u64) -> Option<Ts> {
        self.home_retention_ms?;
        let home = self.homes.get(&call);
        let waiting = self.calls.get(&call).and_then(|rec| rec.queued);
        match home {
            Some(h) if h.answered => Some(h.queued),
            _ => waiting.or(home.map(|h| h.queued)),
        }
    }

    /// A `call_completed`. Counted at once (its FCR fact too, when the contact is
    /// followed); one that came before its call's queueing keeps its FCR fact until that
    /// queueing names the customer and, when homes are kept, waits for it to be placed.
    pub(crate) fn completed(
        &mut self,
        call: u64,
        done: Completion,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        let followed = self.contacts.remove(&call);
        let home = self.home_of(call);
        let queued_seen = followed.is_some()
            || home.is_some()
            || self
                .calls
                .get(&call)
                .is_some_and(|rec| rec.queued.is_some());
        if !queued_seen {
            let holds = self.home_retention_ms.is_some();
            if let Some(early) = self.early_slot(call, done.at, counters)
                && early.completion.is_none()
            {
                early.completion = Some(done);
                early.counted = !holds;
                if holds {
                    return Applied::Parked;
                }
            }
            // Counted now, at its own time: live windows do not wait, and a report that
            // has no room to wait does not lose it.
            return sink.completed(&done, None);
        }
        let applied = sink.completed(&done, home);
        match followed {
            Some((customer, offered)) => sink.contact(ContactFact::Completed {
                customer,
                offered,
                done: done.at,
                queue: done.queue,
                agent: done.agent,
                home,
            }),
            // Not followed yet: the queueing that names the customer may still come (a
            // transfer's queueing, its answer and the completion can all arrive before
            // it). The completion, counted now, waits for it as an early event waits. At
            // the cap it is not kept, and not counted as untracked: most such calls have
            // no customer to follow.
            None if self.early.len() < self.limits.max_calls || self.early.contains_key(&call) => {
                let early = self.early.entry(call).or_insert_with(|| Early {
                    since: done.at,
                    ..Early::default()
                });
                if early.completion.is_none() {
                    early.completion = Some(done);
                    early.counted = true;
                }
            }
            None => {}
        }
        applied
    }

    /// A `csat_response` for the interaction `call` (a call id, or a ticket's). Counted at
    /// once, except when homes are kept and the call has not been placed yet: then it
    /// waits for the call's queueing (at most the orphan timeout).
    pub(crate) fn surveyed(
        &mut self,
        call: u64,
        survey: Survey,
        sink: &mut impl CallSink,
        counters: &mut PartitionCounters,
    ) -> Applied {
        if self.home_retention_ms.is_none() {
            return sink.surveyed(&survey, None);
        }
        if let Some(home) = self.home_of(call) {
            return sink.surveyed(&survey, Some(home));
        }
        match self.early_slot(call, survey.at, counters) {
            Some(early) => {
                early.surveys.push(survey);
                Applied::Parked
            }
            None => sink.surveyed(&survey, None),
        }
    }

    /// A contact that is not a call (a ticket opened by `customer` at `at`): a repeat for
    /// FCR like any other.
    pub(crate) fn other_contact(&mut self, customer: u64, at: Ts, sink: &mut impl CallSink) {
        sink.contact(ContactFact::Contact { customer, at });
    }

    /// The early entry of `call`, created at `at` if there is room.
    fn early_slot(
        &mut self,
        call: u64,
        at: Ts,
        counters: &mut PartitionCounters,
    ) -> Option<&mut Early> {
        if !self.early.contains_key(&call) && self.early.len() >= self.limits.max_calls {
            counters.fcr_untracked += 1;
            return None;
        }
        let early = self.early.entry(call).or_insert_with(|| Early {
            since: at,
            ..Early::default()
        });
        early.since = early.since.min(at);
        Some(early)
    }
}
