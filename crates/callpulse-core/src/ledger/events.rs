//! The one mapping from the event contract to the ledger, for the live partition and the
//! report alike.

use callpulse_events::{Event, ExitReason, Rejection, Ts};

use super::{Completion, Outcome, Queueing, Survey};
use crate::dedupe::key_hash;

/// An event as the ledger takes it, names made ids: the one mapping from the event
/// contract to the ledger, for the live partition and the report alike.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallEvent {
    Queued(Queueing),
    Outcome {
        call: u64,
        queue: u32,
        outcome: Outcome,
        at: Ts,
    },
    Completed {
        call: u64,
        done: Completion,
    },
    Surveyed {
        call: u64,
        survey: Survey,
    },
    /// A contact that is not a call (a ticket a customer opened).
    Contact {
        customer: u64,
        at: Ts,
    },
}

impl CallEvent {
    /// The ledger's view of `event` at `ts`, naming queues through `queue_id`; `None` for
    /// what the ledger does not take (agent states, ticket updates, a ticket without a
    /// customer).
    ///
    /// # Errors
    /// What `queue_id` refuses (a queue past the cap).
    pub(crate) fn of(
        event: &Event,
        at: Ts,
        mut queue_id: impl FnMut(&str) -> Result<u32, Rejection>,
    ) -> Result<Option<CallEvent>, Rejection> {
        Ok(Some(match event {
            Event::CallQueued(e) => {
                let queue = queue_id(&e.queue)?;
                // A source past the queue cap is still a transfer, only its source goes
                // uncounted.
                let from = e
                    .transferred_from
                    .as_deref()
                    .map(|name| queue_id(name).ok());
                CallEvent::Queued(Queueing {
                    call: key_hash(e.call_id.as_str()),
                    queue,
                    at,
                    from,
                    customer: e.customer_id.as_deref().map(key_hash),
                })
            }
            Event::CallAnswered(e) => CallEvent::Outcome {
                call: key_hash(e.call_id.as_str()),
                queue: queue_id(&e.queue)?,
                outcome: Outcome::Answered,
                at,
            },
            Event::CallAbandoned(e) => CallEvent::Outcome {
                call: key_hash(e.call_id.as_str()),
                queue: queue_id(&e.queue)?,
                outcome: Outcome::Abandoned(e.reason.unwrap_or(ExitReason::Hangup)),
                at,
            },
            Event::CallCompleted(e) => CallEvent::Completed {
                call: key_hash(e.call_id.as_str()),
                done: Completion {
                    queue: queue_id(&e.queue)?,
                    at,
                    talk_ms: e.talk_ms.max(0) as u64,
                    hold_ms: e.hold_ms.max(0) as u64,
                    acw_ms: e.acw_ms.max(0) as u64,
                    resolved: e.resolved,
                    agent: key_hash(e.agent_id.as_str()),
                },
            },
            Event::CsatResponse(e) => CallEvent::Surveyed {
                call: key_hash(e.interaction_id.as_str()),
                survey: Survey {
                    queue: queue_id(&e.queue)?,
                    at,
                    score: e.score,
                    nps: e.nps,
                },
            },
            Event::TicketCreated(e) => match e.customer_id.as_deref() {
                Some(customer) => CallEvent::Contact {
                    customer: key_hash(customer),
                    at,
                },
                None => return Ok(None),
            },
            Event::AgentState(_)
            | Event::AgentSchedule(_)
            | Event::TicketFirstResponse(_)
            | Event::TicketResolved(_)
            | Event::TicketReopened(_)
            | Event::QaEvaluation(_) => return Ok(None),
        }))
    }
}
