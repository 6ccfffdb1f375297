//! Events of the `agents` topic: an agent's state changes.

use serde::{Deserialize, Serialize};

/// The states an agent can be in. Occupancy counts `on_call` and `wrap_up` as busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    OnCall,
    WrapUp,
    Aux,
    Offline,
}

impl AgentState {
    /// Every state, in display order.
    pub const ALL: [AgentState; 5] = [
        AgentState::Available,
        AgentState::OnCall,
        AgentState::WrapUp,
        AgentState::Aux,
        AgentState::Offline,
    ];

    /// The contract's snake_case name, also the Prometheus label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgentState::Available => "available",
            AgentState::OnCall => "on_call",
            AgentState::WrapUp => "wrap_up",
            AgentState::Aux => "aux",
            AgentState::Offline => "offline",
        }
    }

    /// Position in [`AgentState::ALL`], for array-indexed counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// An agent entered `state` at the event's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStateChanged {
    pub agent_id: String,
    pub team: String,
    pub state: AgentState,
    /// Free-text reason code (e.g. the aux reason); informational only, never a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
