//! What team and agent reports write: their rows and columns.

use serde::Serialize;

use crate::adherence::{AdherenceTimes, AdherenceView};
use crate::fcr::FcrCounts;
use crate::live::AgentCallsView;
use crate::occupancy::StateTimeView;

/// One team in one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRow {
    /// RFC 3339 in the report's zone.
    pub interval_start: String,
    pub interval_end: String,
    pub team: String,
    /// Agents with time other than offline in the interval.
    pub agents: u64,
    #[serde(flatten)]
    pub time: StateTimeView,
    /// The team's agents' calls in the interval (answered and completed at their event
    /// time), surveys naming them, by the live scorecard's booking.
    #[serde(flatten)]
    pub calls: CallColumns,
    #[serde(flatten)]
    pub fcr: FcrColumns,
    /// Quality evaluations made in the interval of the team's agents (the agent's team at
    /// the time; `unknown` for an agent with no `agent_state` yet), and their figures
    /// (docs/quality.md).
    pub qa_evaluations: u64,
    pub qa_score: Option<f64>,
    pub qa_pass_rate: Option<f64>,
    pub qa_critical_failure_rate: Option<f64>,
    /// The team's agents' time against their schedules (docs/adherence.md).
    #[serde(flatten)]
    pub adherence: AdherenceColumns,
}

/// One agent in one interval: its scorecard, each figure beside its team's in the same
/// interval (`team_*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    pub interval_start: String,
    pub interval_end: String,
    pub agent: String,
    /// The agent's team at the time (`unknown` before its first `agent_state`).
    pub team: String,
    #[serde(flatten)]
    pub time: StateTimeView,
    #[serde(flatten)]
    pub calls: CallColumns,
    #[serde(flatten)]
    pub fcr: FcrColumns,
    pub qa_evaluations: u64,
    pub qa_score: Option<f64>,
    pub qa_pass_rate: Option<f64>,
    pub qa_critical_failure_rate: Option<f64>,
    pub scheduled_s: f64,
    pub out_of_adherence_s: f64,
    pub adherence: Option<f64>,
    pub conformance: Option<f64>,
    pub team_agents: u64,
    pub team_occupancy: Option<f64>,
    pub team_aht_s: Option<f64>,
    pub team_completed_per_agent: Option<f64>,
    pub team_resolved_reported_ratio: Option<f64>,
    pub team_fcr: Option<f64>,
    pub team_csat: Option<f64>,
    pub team_nps: Option<f64>,
    pub team_qa_score: Option<f64>,
    pub team_adherence: Option<f64>,
    pub team_conformance: Option<f64>,
}

/// A team's or an agent's calls in an interval (the scorecard's call figures).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallColumns {
    pub answered: u64,
    pub completed: u64,
    pub aht_s: Option<f64>,
    pub talk_avg_s: Option<f64>,
    pub hold_avg_s: Option<f64>,
    pub acw_avg_s: Option<f64>,
    /// Completed calls flagged resolved, of those carrying the flag.
    pub resolved_reported_ratio: Option<f64>,
    pub csat_responses: u64,
    pub csat: Option<f64>,
    pub nps_responses: u64,
    pub nps: Option<f64>,
}

impl From<&AgentCallsView> for CallColumns {
    fn from(v: &AgentCallsView) -> Self {
        CallColumns {
            answered: v.answered,
            completed: v.completed,
            aht_s: v.aht_s,
            talk_avg_s: v.talk_avg_s,
            hold_avg_s: v.hold_avg_s,
            acw_avg_s: v.acw_avg_s,
            resolved_reported_ratio: v.resolved_reported_ratio,
            csat_responses: v.csat_responses,
            csat: v.csat,
            nps_responses: v.nps_responses,
            nps: v.nps,
        }
    }
}

/// Repeat-contact FCR of the calls a team or an agent completed in an interval, as the
/// queue report counts it (docs/reports.md): outcomes known, resolved first time, and still
/// open when the history ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FcrColumns {
    pub fcr_eligible: u64,
    pub fcr_success: u64,
    pub fcr: Option<f64>,
    pub fcr_open: u64,
}

impl FcrColumns {
    pub(super) fn of(counts: &FcrCounts, open: u64) -> Self {
        FcrColumns {
            fcr_eligible: counts.eligible,
            fcr_success: counts.success,
            fcr: (counts.eligible > 0).then(|| counts.success as f64 / counts.eligible as f64),
            fcr_open: open,
        }
    }
}

/// What a staff report writes: rows per team, or per agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffLevel {
    Team,
    Agent,
}

/// A row of either level.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StaffRow {
    Team(TeamRow),
    Agent(AgentRow),
}

/// Adherence, conformance and shrinkage of one team and interval, with the seconds each
/// ratio is made of (rows re-add exactly).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdherenceColumns {
    pub scheduled_s: f64,
    pub out_of_adherence_s: f64,
    pub adherence: Option<f64>,
    pub worked_s: f64,
    pub scheduled_open_s: f64,
    pub conformance: Option<f64>,
    pub shrinkage_planned: Option<f64>,
    pub shrinkage_actual: Option<f64>,
    pub planned_break_s: f64,
    pub actual_break_s: f64,
    pub planned_lunch_s: f64,
    pub actual_lunch_s: f64,
    pub planned_training_s: f64,
    pub actual_training_s: f64,
    pub planned_coaching_s: f64,
    pub actual_coaching_s: f64,
    pub planned_meeting_s: f64,
    pub actual_meeting_s: f64,
    pub planned_other_s: f64,
    pub actual_other_s: f64,
    /// Scheduled time logged off.
    pub absent_s: f64,
}

impl From<&AdherenceTimes> for AdherenceColumns {
    fn from(t: &AdherenceTimes) -> Self {
        let v = AdherenceView::from(t);
        AdherenceColumns {
            scheduled_s: v.scheduled_s,
            out_of_adherence_s: v.out_of_adherence_s,
            adherence: v.adherence,
            worked_s: v.worked_s,
            scheduled_open_s: v.planned.open,
            conformance: v.conformance,
            shrinkage_planned: v.shrinkage_planned,
            shrinkage_actual: v.shrinkage_actual,
            planned_break_s: v.planned.break_,
            actual_break_s: v.actual.break_,
            planned_lunch_s: v.planned.lunch,
            actual_lunch_s: v.actual.lunch,
            planned_training_s: v.planned.training,
            actual_training_s: v.actual.training,
            planned_coaching_s: v.planned.coaching,
            actual_coaching_s: v.actual.coaching,
            planned_meeting_s: v.planned.meeting,
            actual_meeting_s: v.actual.meeting,
            planned_other_s: v.planned.other,
            actual_other_s: v.actual.other,
            absent_s: v.actual.off,
        }
    }
}
