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

/// What an agent is scheduled to do, or is doing, as workforce management counts it.
/// Schedules name these directly; agent states and aux reasons map onto them through
/// `[metrics.adherence]` (`docs/adherence.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Open for contacts: available, on a call, in wrap-up.
    Open,
    Break,
    Lunch,
    Training,
    Coaching,
    Meeting,
    /// Any other paid, non-productive time (an aux reason no rule names).
    Other,
    /// Not working: unscheduled time, or logged off.
    Off,
}

impl Activity {
    /// Every activity, in display order.
    pub const ALL: [Activity; 8] = [
        Activity::Open,
        Activity::Break,
        Activity::Lunch,
        Activity::Training,
        Activity::Coaching,
        Activity::Meeting,
        Activity::Other,
        Activity::Off,
    ];

    /// The contract's snake_case name, also the Prometheus label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Activity::Open => "open",
            Activity::Break => "break",
            Activity::Lunch => "lunch",
            Activity::Training => "training",
            Activity::Coaching => "coaching",
            Activity::Meeting => "meeting",
            Activity::Other => "other",
            Activity::Off => "off",
        }
    }

    /// Position in [`Activity::ALL`], for array-indexed counters.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Looks up a name (ASCII case ignored).
    pub fn from_name(name: &str) -> Option<Activity> {
        Activity::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

/// An agent's schedule for `[start, end)`: it replaces whatever was scheduled for that
/// span before (a WFM system republishes a day when a manager changes it). Time inside the
/// span that no segment covers is scheduled `off`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSchedule {
    pub agent_id: String,
    /// The team the schedule staffs: an agent not logged in yet is counted in it as
    /// scheduled (docs/forecast.md). Without it, the agent's team from its states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(with = "crate::envelope::rfc3339")]
    pub start: crate::Ts,
    #[serde(with = "crate::envelope::rfc3339")]
    pub end: crate::Ts,
    /// In time order, not overlapping, each inside `[start, end)`.
    pub segments: Vec<ScheduleSegment>,
}

/// One stretch of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSegment {
    #[serde(with = "crate::envelope::rfc3339")]
    pub start: crate::Ts,
    #[serde(with = "crate::envelope::rfc3339")]
    pub end: crate::Ts,
    pub activity: Activity,
}
