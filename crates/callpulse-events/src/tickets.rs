//! Events of the `tickets` topic: non-voice interactions (email, chat, social, web).

use serde::{Deserialize, Serialize};

/// The channel a ticket came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    Email,
    Chat,
    Social,
    Web,
}

impl TicketChannel {
    /// The contract's snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TicketChannel::Email => "email",
            TicketChannel::Chat => "chat",
            TicketChannel::Social => "social",
            TicketChannel::Web => "web",
        }
    }
}

/// A ticket was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketCreated {
    pub ticket_id: String,
    pub queue: String,
    pub channel: TicketChannel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

/// An agent answered the ticket for the first time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketFirstResponse {
    pub ticket_id: String,
    pub agent_id: String,
}

/// The ticket was closed as resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketResolved {
    pub ticket_id: String,
    pub agent_id: String,
}

/// A resolved ticket was opened again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketReopened {
    pub ticket_id: String,
}
