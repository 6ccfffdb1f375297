//! Events of the `calls` topic: a voice interaction's life in a queue.

use serde::{Deserialize, Serialize};

/// A call entered a queue and starts waiting for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallQueued {
    pub call_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// The queue the call waited in before this one, when this queueing is a transfer: the
    /// same contact continues, so the center does not count it again and the queues count
    /// it as transferred in and out. Optional; a call queued again while still waiting
    /// elsewhere is recognised as a transfer without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_from: Option<String>,
}

/// An agent picked up a queued call; wait = this event's time - the queued time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAnswered {
    pub call_id: String,
    pub queue: String,
    pub agent_id: String,
}

/// The caller hung up before an agent answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAbandoned {
    pub call_id: String,
    pub queue: String,
}

/// The call is fully handled (sent after wrap-up), with its handle-time parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCompleted {
    pub call_id: String,
    pub queue: String,
    pub agent_id: String,
    /// Talk time in milliseconds.
    pub talk_ms: i64,
    /// Hold time in milliseconds.
    pub hold_ms: i64,
    /// After-call work (wrap-up) time in milliseconds.
    pub acw_ms: i64,
    /// The agent's own statement that the customer's issue was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<bool>,
}
