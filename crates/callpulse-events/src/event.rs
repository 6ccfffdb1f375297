//! The typed event union and the topic each event belongs to.

use serde::{Deserialize, Serialize};

use crate::{
    AgentSchedule, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    CsatResponse, QaEvaluation, TicketCreated, TicketFirstResponse, TicketReopened, TicketResolved,
};

/// The four topics of the contract. Their Kafka names are configurable; these are the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Calls,
    Agents,
    Tickets,
    Surveys,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 4] = [Topic::Calls, Topic::Agents, Topic::Tickets, Topic::Surveys];

    /// The default Kafka topic name.
    pub const fn default_name(self) -> &'static str {
        match self {
            Topic::Calls => "calls",
            Topic::Agents => "agents",
            Topic::Tickets => "tickets",
            Topic::Surveys => "surveys",
        }
    }
}

/// Every event type of contract v1. The serde form is the wire form's payload: an internally
/// tagged object whose `type` is the snake_case variant name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    CallQueued(CallQueued),
    CallAnswered(CallAnswered),
    CallAbandoned(CallAbandoned),
    CallCompleted(CallCompleted),
    AgentState(AgentStateChanged),
    TicketCreated(TicketCreated),
    TicketFirstResponse(TicketFirstResponse),
    TicketResolved(TicketResolved),
    TicketReopened(TicketReopened),
    CsatResponse(CsatResponse),
    QaEvaluation(QaEvaluation),
    AgentSchedule(AgentSchedule),
}

/// The `type` field's values, as a fieldless enum for dispatch and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    CallQueued,
    CallAnswered,
    CallAbandoned,
    CallCompleted,
    AgentState,
    TicketCreated,
    TicketFirstResponse,
    TicketResolved,
    TicketReopened,
    CsatResponse,
    QaEvaluation,
    AgentSchedule,
}

impl EventKind {
    /// Every kind, in contract order.
    pub const ALL: [EventKind; 12] = [
        EventKind::CallQueued,
        EventKind::CallAnswered,
        EventKind::CallAbandoned,
        EventKind::CallCompleted,
        EventKind::AgentState,
        EventKind::TicketCreated,
        EventKind::TicketFirstResponse,
        EventKind::TicketResolved,
        EventKind::TicketReopened,
        EventKind::CsatResponse,
        EventKind::QaEvaluation,
        EventKind::AgentSchedule,
    ];

    /// The wire name (`type` field).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::CallQueued => "call_queued",
            EventKind::CallAnswered => "call_answered",
            EventKind::CallAbandoned => "call_abandoned",
            EventKind::CallCompleted => "call_completed",
            EventKind::AgentState => "agent_state",
            EventKind::TicketCreated => "ticket_created",
            EventKind::TicketFirstResponse => "ticket_first_response",
            EventKind::TicketResolved => "ticket_resolved",
            EventKind::TicketReopened => "ticket_reopened",
            EventKind::CsatResponse => "csat_response",
            EventKind::QaEvaluation => "qa_evaluation",
            EventKind::AgentSchedule => "agent_schedule",
        }
    }

    /// Looks up a wire name; `None` for a type this contract version does not know.
    pub fn from_wire(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The topic this kind is produced to.
    pub const fn topic(self) -> Topic {
        match self {
            EventKind::CallQueued
            | EventKind::CallAnswered
            | EventKind::CallAbandoned
            | EventKind::CallCompleted => Topic::Calls,
            EventKind::AgentState | EventKind::AgentSchedule => Topic::Agents,
            EventKind::TicketCreated
            | EventKind::TicketFirstResponse
            | EventKind::TicketResolved
            | EventKind::TicketReopened => Topic::Tickets,
            EventKind::CsatResponse | EventKind::QaEvaluation => Topic::Surveys,
        }
    }
}

impl Event {
    /// This event's kind.
    pub const fn kind(&self) -> EventKind {
        match self {
            Event::CallQueued(_) => EventKind::CallQueued,
            Event::CallAnswered(_) => EventKind::CallAnswered,
            Event::CallAbandoned(_) => EventKind::CallAbandoned,
            Event::CallCompleted(_) => EventKind::CallCompleted,
            Event::AgentState(_) => EventKind::AgentState,
            Event::TicketCreated(_) => EventKind::TicketCreated,
            Event::TicketFirstResponse(_) => EventKind::TicketFirstResponse,
            Event::TicketResolved(_) => EventKind::TicketResolved,
            Event::TicketReopened(_) => EventKind::TicketReopened,
            Event::CsatResponse(_) => EventKind::CsatResponse,
            Event::QaEvaluation(_) => EventKind::QaEvaluation,
            Event::AgentSchedule(_) => EventKind::AgentSchedule,
        }
    }

    /// The Kafka message key the contract asks producers to use: the interaction id, or the
    /// agent id for agent events. Keying keeps one interaction's events on one partition,
    /// which is what lets one partition own that interaction's state.
    pub fn key(&self) -> &str {
        match self {
            Event::CallQueued(e) => &e.call_id,
            Event::CallAnswered(e) => &e.call_id,
            Event::CallAbandoned(e) => &e.call_id,
            Event::CallCompleted(e) => &e.call_id,
            Event::AgentState(e) => &e.agent_id,
            Event::TicketCreated(e) => &e.ticket_id,
            Event::TicketFirstResponse(e) => &e.ticket_id,
            Event::TicketResolved(e) => &e.ticket_id,
            Event::TicketReopened(e) => &e.ticket_id,
            Event::CsatResponse(e) => &e.interaction_id,
            Event::QaEvaluation(e) => &e.evaluation_id,
            Event::AgentSchedule(e) => &e.agent_id,
        }
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    event_id: &'a str,
    ts: String,
    #[serde(flatten)]
    event: &'a Event,
}

impl crate::Envelope {
    /// The contract's wire form: one JSON object with `type`, `event_id`, `ts` and the fields.
    pub fn to_json(&self) -> String {
        let wire = WireOut {
            event_id: &self.event_id,
            ts: self.ts.to_rfc3339(),
            event: &self.event,
        };
        // Serializing plain structs of strings and numbers into a String cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }
}
