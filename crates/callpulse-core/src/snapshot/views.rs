//! What readers see of queues, teams and the center (the JSON of the API and the feed).

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::AgentState;
use serde::Serialize;

use crate::adherence::AdherenceView;
use crate::live::{AgentCalls, AgentCallsView, AgentView, TeamStates};
use crate::quality::QaView;

use super::WindowMetrics;
use super::plan::{PlanInterval, QueueForecast};
use super::status::QueueStatus;
use crate::occupancy::StateTimeView;
use crate::tickets::TicketLive;

/// Lifetime totals of one queue with the histogram bounds they were bucketed by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsView {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub answered_within: BTreeMap<u32, u64>,
    /// Abandoned within each SL threshold, short abandons included (the vendor formulas'
    /// second numerator).
    pub abandoned_within: BTreeMap<u32, u64>,
    pub answer_wait_s: f64,
    pub abandon_wait_s: f64,
    pub completed: u64,
    pub handle_s: f64,
    pub csat_responses: u64,
    pub csat_positive: u64,
    /// Wait histogram bucket upper bounds (seconds) and cumulative counts (Prometheus `le`);
    /// the count above the last bound is `answered` minus the last cumulative count.
    pub wait_le_bounds_s: Vec<u32>,
    pub wait_le_cumulative: Vec<u64>,
}

/// One queue in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub queue: Arc<str>,
    /// The team answering it (`metrics.queues.NAME.team`), if configured.
    pub team: Option<Arc<str>>,
    /// Whether it is within its opening hours at the snapshot's instant (always, without
    /// configured hours).
    pub open: bool,
    pub sl_thresholds_secs: Vec<u32>,
    pub sl_target: f64,
    pub short_abandon_secs: u32,
    /// Calls waiting now.
    pub waiting: u64,
    /// How long the longest-waiting call has waited, at the snapshot's time; 0 when none.
    pub longest_wait_s: f64,
    /// One entry per configured window, in configuration order.
    pub windows: Vec<WindowMetrics>,
    pub totals: TotalsView,
    /// `totals` as this process counted them (restored history left out): what the
    /// Prometheus counters export.
    #[serde(skip)]
    pub counted: TotalsView,
    /// Erlang C staffing now; `null` until the staffing window has a completed call.
    pub staffing: Option<StaffingView>,
    /// Ticket figures, for a queue that has had tickets.
    pub tickets: Option<TicketView>,
    /// Customer-based first contact resolution, for a queue with completed contacts of known
    /// customers.
    pub fcr: Option<FcrView>,
    /// The intraday reforecast of the rest of the day, when the engine has a profile for
    /// the queue and today's weekday (`[forecast] profile`, docs/forecast.md).
    pub forecast: Option<QueueForecast>,
    /// The figures judged against the queue's limits (ok, quiet, at risk, breach).
    pub status: QueueStatus,
}

impl QueueView {
    /// Whether the queue takes calls: it has had one, or has no tickets either. A
    /// ticket-only queue (email, chat) gets no call series, so no 0/0 ratio shows as NaN.
    pub fn takes_calls(&self) -> bool {
        self.tickets.is_none()
            || self.waiting > 0
            || self.totals.offered > 0
            || self.windows.iter().any(|w| w.offered > 0)
    }
}

/// A queue's first contact resolution (see `fcr.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FcrView {
    /// Outcomes that became known within each sliding window.
    pub windows: Vec<FcrWindow>,
    pub eligible_total: u64,
    pub success_total: u64,
    /// The totals as this process counted them (what the Prometheus counters export).
    #[serde(skip)]
    pub counted: crate::fcr::FcrCounts,
    /// Completed contacts whose window is open, no repeat contact so far.
    pub pending: u64,
    /// (success_total + pending) / (eligible_total + pending): the figure if no pending
    /// customer calls back (an upper bound).
    pub provisional: Option<f64>,
}

/// FCR outcomes known within one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FcrWindow {
    pub window: String,
    pub eligible: u64,
    pub success: u64,
    pub fcr: Option<f64>,
}

/// A queue's tickets: now, and per sliding window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub live: TicketLive,
    pub windows: Vec<TicketWindow>,
}

/// One window's ticket figures; times in seconds, `null` with a zero denominator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketWindow {
    pub window: String,
    pub created: u64,
    pub first_responses: u64,
    pub first_response_sum_s: f64,
    pub first_response_avg_s: Option<f64>,
    pub first_response_p90_s: Option<f64>,
    /// First responses later than their queue/priority target.
    pub first_response_breaches: u64,
    pub resolved: u64,
    pub resolution_sum_s: f64,
    pub resolution_avg_s: Option<f64>,
    pub resolution_p90_s: Option<f64>,
    pub reopened: u64,
    /// reopened / resolved.
    pub reopen_rate: Option<f64>,
    /// Created and resolved per channel (`email`, `chat`, `social`, `web`).
    pub by_channel: BTreeMap<&'static str, ChannelCounts>,
}

/// One channel's tickets in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    pub created: u64,
    pub resolved: u64,
}

/// "Do I need more people right now": the Erlang C requirement at the current arrival rate
/// and AHT (both from `metrics.staffing_window_mins`), next to the agents the queue's team
/// has available, on a call or in wrap-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingView {
    pub window: String,
    /// Offered calls per minute over the window's elapsed span.
    pub arrival_rate_per_min: f64,
    pub aht_s: f64,
    /// Offered load: arrival rate × AHT.
    pub traffic_erlangs: f64,
    /// The first SL threshold and the queue's target, which the requirement meets.
    pub threshold_s: u32,
    pub target: f64,
    /// Fewest agents meeting the target (Erlang C); `null` beyond any sane staff.
    pub required_agents: Option<u32>,
    /// The queue's team (`metrics.queues.NAME.team`) available + on_call + wrap_up now;
    /// `null` without a team.
    pub staffed_agents: Option<u64>,
    /// required − staffed: positive means short of people.
    pub gap_agents: Option<i64>,
}

/// The whole center's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CenterView {
    pub sl_thresholds_secs: Vec<u32>,
    pub sl_target: f64,
    /// Calls waiting now, over all queues, and the longest wait among them.
    pub waiting: u64,
    pub longest_wait_s: f64,
    pub windows: Vec<WindowMetrics>,
    /// The center's calls judged against `[metrics.default_queue]`'s limits (its tickets
    /// are not judged here: each ticket queue is).
    pub status: QueueStatus,
    /// Every agent's day merged: the top of the org chart.
    #[serde(flatten)]
    pub day: TeamDay,
    /// The org chart's groups (`[metrics.groups]`), each rolled up from its queues and
    /// teams (docs/org.md).
    pub groups: Vec<GroupView>,
    /// The staffing plan from the current interval: agents scheduled against agents the
    /// forecast needs (docs/forecast.md); empty with neither a schedule nor a forecast.
    pub plan: Vec<PlanInterval>,
}

/// One group of the org chart: its queues' calls, its teams' agents, by the team merges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupView {
    pub group: Arc<str>,
    /// The teams it owns (configured), and the queues it owns that the snapshot holds.
    pub teams: Vec<Arc<str>>,
    pub queues: Vec<Arc<str>>,
    /// Calls waiting in its queues now, and the longest wait among them.
    pub waiting: u64,
    pub longest_wait_s: f64,
    /// Its agents per state now.
    #[serde(flatten)]
    pub states: AgentCounts,
    /// Its agents' time in state and against their schedules, per sliding window.
    pub windows: Vec<TeamWindow>,
    /// Its queues' calls merged, per window (`null` with no queue); service levels only
    /// where the queues share thresholds and formula, as a team's.
    pub calls: Option<Vec<WindowMetrics>>,
    /// Its agents' day merged.
    #[serde(flatten)]
    pub day: TeamDay,
    /// The staffing plan from the current interval: agents scheduled against agents the
    /// forecast needs (docs/forecast.md); empty with neither a schedule nor a forecast.
    pub plan: Vec<PlanInterval>,
}

/// Agents per state now, of a team or a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AgentCounts {
    pub available: u64,
    pub on_call: u64,
    pub wrap_up: u64,
    pub aux: u64,
    pub offline: u64,
}

impl From<&TeamStates> for AgentCounts {
    fn from(s: &TeamStates) -> Self {
        AgentCounts {
            available: s[AgentState::Available.index()],
            on_call: s[AgentState::OnCall.index()],
            wrap_up: s[AgentState::WrapUp.index()],
            aux: s[AgentState::Aux.index()],
            offline: s[AgentState::Offline.index()],
        }
    }
}

impl AgentCounts {
    /// Each state's count, in [`AgentState::ALL`] order.
    pub fn by_state(&self) -> [(AgentState, u64); 5] {
        [
            (AgentState::Available, self.available),
            (AgentState::OnCall, self.on_call),
            (AgentState::WrapUp, self.wrap_up),
            (AgentState::Aux, self.aux),
            (AgentState::Offline, self.offline),
        ]
    }
}

/// Agents per state for one team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamView {
    pub team: Arc<str>,
    #[serde(flatten)]
    pub states: AgentCounts,
    /// Time in state and occupancy over each sliding window, running states included.
    pub windows: Vec<TeamWindow>,
    /// The calls of the queues this team answers (`metrics.queues.NAME.team`), per window;
    /// `null` when no queue names the team. Service levels only when those queues share
    /// their thresholds and formula (answered-within counts of different thresholds do not
    /// add up).
    pub calls: Option<Vec<WindowMetrics>>,
    /// The team's agents' day: what each agent's scorecard stands beside.
    #[serde(flatten)]
    pub day: TeamDay,
    /// The staffing plan from the current interval: agents scheduled against agents the
    /// forecast needs (docs/forecast.md); empty with neither a schedule nor a forecast.
    pub plan: Vec<PlanInterval>,
}

/// A team's day since local midnight: its agents' figures merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TeamDay {
    /// Agents the snapshot holds for the team (offline ones until they are forgotten).
    pub agents: usize,
    /// Their calls, surveys and quality evaluations merged (`qa.per_agent`: evaluations
    /// over `agents`).
    pub calls_today: AgentCallsView,
    /// Their time in state summed, and the team's occupancy over it.
    pub today: StateTimeView,
    /// Their time against their schedules summed (`docs/adherence.md`).
    pub adherence_today: AdherenceView,
    /// The team's agents out of adherence now (past the grace). Who they are is in each
    /// agent's `adherence`, which a role sees only for the agents in its scope: a count on
    /// the team tells a wallboard no one's name.
    pub agents_out_of_adherence: usize,
}

/// A team's agents, gathered to make its day.
#[derive(Default)]
pub(crate) struct TeamDayAcc<'a> {
    pub(crate) members: Vec<&'a AgentView>,
    pub(crate) calls: AgentCalls,
}

impl TeamDayAcc<'_> {
    pub(crate) fn day(self) -> TeamDay {
        let mut calls_today = AgentCallsView::from(&self.calls);
        calls_today.qa = QaView::of(&self.calls.qa, Some(self.members.len()));
        let agents_out_of_adherence = self
            .members
            .iter()
            .filter(|agent| {
                agent
                    .adherence
                    .as_ref()
                    .is_some_and(|now| now.out_of_adherence)
            })
            .count();
        TeamDay {
            agents: self.members.len(),
            calls_today,
            today: StateTimeView::sum(self.members.iter().map(|a| &a.today)),
            adherence_today: AdherenceView::sum(
                self.members
                    .iter()
                    .filter_map(|a| a.adherence_today.as_deref()),
            ),
            agents_out_of_adherence,
        }
    }
}

/// One team's time in state over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamWindow {
    pub window: String,
    #[serde(flatten)]
    pub time: StateTimeView,
    /// The team's time against its agents' schedules over the window.
    pub adherence: AdherenceView,
}
