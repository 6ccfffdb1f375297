//! Where the live partition records what the call ledger settles: each figure in the
//! windows of its own event time, in its queue and (once per contact) in the center.

use std::sync::Arc;

use callpulse_events::Ts;

use super::windows::{Center, QueueState};
use crate::fcr::FcrFact;
use crate::ledger::{Applied, CallSink, Completion, ContactFact, LegOutcome, Outcome, Survey};

/// The partition's windows and FCR fact buffer, borrowed for one event.
pub(super) struct LiveSink<'a> {
    pub(super) queues: &'a mut [QueueState],
    pub(super) center: &'a mut Center,
    pub(super) fcr_facts: &'a mut Vec<FcrFact>,
}

impl CallSink for LiveSink<'_> {
    fn offered(&mut self, queue: u32, at: Ts, transfer: bool, source: Option<u32>) -> Applied {
        let applied = self.queues[queue as usize].count(at, |c| {
            c.offered += 1;
            c.transferred_in += u64::from(transfer);
        });
        if let Some(source) = source {
            let _ = self.queues[source as usize].count(at, |c| c.transferred_out += 1);
        }
        if !transfer {
            self.center.record(at, |b| b.counts.offered += 1);
        }
        applied
    }

    /// At the outcome's time, with wait = outcome - queued in its queue, and in the center
    /// with the wait since the contact's first queueing when the center counts it.
    fn outcome(&mut self, leg: &LegOutcome) -> Applied {
        let (wait, contact_wait) = (leg.wait_ms(), leg.contact_wait_ms());
        let q = &mut self.queues[leg.queue as usize];
        match leg.outcome {
            Outcome::Answered => {
                let (thresholds, n) = (q.thresholds_ms, q.threshold_count);
                q.totals
                    .record_answer(wait, &thresholds[..n], &q.wait_bounds_ms);
                let applied = q.record(leg.at, |b| b.record_answer(wait, &thresholds[..n]));
                if let Some(wait) = contact_wait {
                    let (center, cn) = (self.center.thresholds_ms, self.center.threshold_count);
                    self.center
                        .record(leg.at, |b| b.record_answer(wait, &center[..cn]));
                }
                applied
            }
            Outcome::Abandoned(reason) if q.exits_not_abandoned.contains(reason) => {
                let applied = q.count(leg.at, |c| c.exited += 1);
                if contact_wait.is_some() {
                    self.center.record(leg.at, |b| b.counts.exited += 1);
                }
                applied
            }
            Outcome::Abandoned(_) => {
                let short = wait < q.short_abandon_ms;
                let (thresholds, n) = (q.thresholds_ms, q.threshold_count);
                let applied = q.count(leg.at, |c| {
                    c.record_abandon(wait, short, &thresholds[..n]);
                });
                if let Some(wait) = contact_wait {
                    // Short as the queue it was abandoned in defines it.
                    let short = wait < q.short_abandon_ms;
                    let (center, cn) = (self.center.thresholds_ms, self.center.threshold_count);
                    self.center.record(leg.at, |b| {
                        b.counts.record_abandon(wait, short, &center[..cn]);
                    });
                }
                applied
            }
        }
    }

    fn completed(&mut self, done: &Completion, _home: Option<Ts>) -> Applied {
        let Completion {
            talk_ms,
            hold_ms,
            acw_ms,
            resolved,
            ..
        } = *done;
        let applied = self.queues[done.queue as usize].count(done.at, |c| {
            c.record_completed(talk_ms, hold_ms, acw_ms, resolved);
        });
        self.center.record(done.at, |b| {
            b.counts
                .record_completed(talk_ms, hold_ms, acw_ms, resolved);
        });
        applied
    }

    fn surveyed(&mut self, survey: &Survey, _home: Option<Ts>) -> Applied {
        let (score, nps) = (survey.score, survey.nps);
        let applied =
            self.queues[survey.queue as usize].count(survey.at, |c| c.record_survey(score, nps));
        self.center
            .record(survey.at, |b| b.counts.record_survey(score, nps));
        applied
    }

    fn contact(&mut self, fact: ContactFact) {
        self.fcr_facts.push(match fact {
            ContactFact::Contact { customer, at } => FcrFact::Contact { customer, at },
            // Live FCR counts an outcome when it becomes known, not at the contact's home.
            ContactFact::Completed {
                customer,
                offered,
                done,
                queue,
                ..
            } => FcrFact::Completed {
                customer,
                offered,
                done,
                queue: Arc::clone(&self.queues[queue as usize].name),
                key: done,
            },
        });
    }
}
