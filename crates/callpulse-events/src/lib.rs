//! The callpulse event contract, version 1.
//!
//! This crate owns what an event *is*: the serde types of every event the engine accepts
//! (one module per Kafka topic), the [`Envelope`] that carries an event with its id and
//! event time, the [`decode`] function that turns raw message bytes into an envelope,
//! and the bounded set of [`Rejection`]s for input that is not a valid event.
//!
//! It does no I/O and reads no clock: the "absurd timestamp" check takes `now` from the
//! caller, and [`Clock`] is the trait through which the binary injects its one clock. The
//! human-readable contract lives in `docs/events.md`, the machine-readable one in
//! `docs/events.schema.json`; tests validate the examples in both against this code.

mod agents;
mod calls;
pub mod clock;
mod decode;
mod envelope;
mod event;
mod rejection;
mod surveys;
mod tickets;

pub use agents::{Activity, AgentSchedule, AgentState, AgentStateChanged, ScheduleSegment};
pub use calls::{CallAbandoned, CallAnswered, CallCompleted, CallQueued, ExitReason};
pub use clock::{Clock, ManualClock, SharedClock};
pub use decode::{DecodeLimits, check, decode, decode_two_pass};
pub use envelope::{Envelope, Ts};
pub use event::{Event, EventKind, Topic};
pub use rejection::Rejection;
pub use surveys::{CsatResponse, QaEvaluation, QaSection};
pub use tickets::{
    TicketChannel, TicketCreated, TicketFirstResponse, TicketReopened, TicketResolved,
};
