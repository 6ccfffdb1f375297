//! Team and agent interval reports: each team's (or each agent's: the scorecard per
//! interval, beside its team's figures) time in state, occupancy, calls handled and their
//! AHT parts, CSAT, NPS, QA and adherence per calendar interval, as `callpulse replay
//! --report 30m --rows team` (or `--rows agent`) writes them.
//!
//! The accounting is the live one (`occupancy.rs`): a state lasts from its event to the
//! agent's next event, occupancy is `(on_call + wrap_up) / (available + on_call + wrap_up)`
//! time. A span is split at interval boundaries. FCR is the repeat-contact kind, per agent
//! who completed the contact (`teams/fcr.rs`). A row is final once event time is past its
//! end by the queue report's settle time at event attribution (the FCR window and lag, the
//! orphan timeout, the allowed skew: [`crate::ReportBuilder::settle_ms`]); the span still
//! running then is counted up to that end, and a later event that would change a final row
//! is counted `late` and starts at the end already counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use callpulse_events::{Activity, AgentState, Envelope, Event, Rejection, Ts};
use serde::Serialize;

use crate::adherence::{self, AdherencePolicy, AdherenceTimes, AdherenceView, Episode, Schedule};
use crate::dedupe::Dedupe;
use crate::fcr::FcrCounts;
use crate::live::{AgentCalls, AgentCallsView};
use crate::occupancy::{StateTimeView, StateTimes};
use crate::policy::MetricsPolicy;
use crate::quality::{QaCounts, QaView};
use crate::report::{Attribution, ReportBuilder, ReportSpec};
use crate::window::Merge;

mod fcr;
mod rows;

use fcr::{AgentFcr, AgentOutcome};
pub use rows::TeamRow;
pub use rows::{AdherenceColumns, AgentRow, CallColumns, FcrColumns, StaffLevel, StaffRow};

/// The team of an evaluated agent the report has not seen an `agent_state` of.
const UNKNOWN_TEAM: &str = "unknown";

/// Where an agent is, and how far its time has been counted.
#[derive(Debug)]
struct Agent {
    team: Arc<str>,
    state: AgentState,
    activity: Activity,
    episode: Episode,
    /// Time before this instant is in rows already.
    counted_to: Ts,
    /// When the agent went offline (for forgetting it), if it is offline.
    offline_since: Option<Ts>,
}

/// An interval (its start) of a team, and its agents' accumulators.
type Unit = (i64, Arc<str>);
type Members = Vec<(Arc<str>, Acc)>;

/// One agent's interval in one team.
#[derive(Debug, Default)]
struct Acc {
    times: StateTimes,
    adherence: AdherenceTimes,
    /// Time other than offline in the interval.
    active: bool,
    calls: AgentCalls,
    /// Repeat-contact FCR outcomes of the calls completed in the interval.
    fcr: FcrCounts,
    /// Of those calls, the ones whose FCR window was still open at the end of the history.
    fcr_open: u64,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.times.merge(&o.times);
        self.adherence.merge(&o.adherence);
        self.active |= o.active;
        self.calls.merge(&o.calls);
        self.fcr.add(&o.fcr);
        self.fcr_open += o.fcr_open;
    }
}

/// Events a team report took in, by fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TeamCounters {
    pub applied: u64,
    /// State changes stamped before time already counted in a final row.
    pub late: u64,
    /// Valid events a team report has no use for (calls and surveys naming no agent,
    /// tickets).
    pub ignored: u64,
    pub duplicates: u64,
    /// Contacts FCR could not follow (past the call or queue cap, or a completion whose
    /// agent the report could not name), and customers evicted at `max_fcr_customers` with
    /// contacts pending (those outcomes are not counted).
    pub fcr_untracked: u64,
    pub fcr_evicted: u64,
}

/// Reads a history in file order, writing team rows as they become final.
#[derive(Debug)]
pub struct TeamReport {
    spec: ReportSpec,
    level: StaffLevel,
    qa_pass_mark: f64,
    adherence: AdherencePolicy,
    /// Each agent's schedule, as the live partition keeps it.
    schedules: HashMap<Arc<str>, Schedule>,
    seen: Dedupe,
    /// How far event time must be past an interval's end before its rows are final.
    settle_ms: i64,
    retention_ms: i64,
    fcr: AgentFcr,
    agents: HashMap<Arc<str>, Agent>,
    /// Team names, each allocated once.
    teams: HashSet<Arc<str>>,
    /// By interval start, team, agent.
    rows: BTreeMap<(i64, Arc<str>, Arc<str>), Acc>,
    /// Rows starting before this are written.
    written_to: i64,
    high_water: Option<Ts>,
    counters: TeamCounters,
}

impl TeamReport {
    /// An empty report under `policy` (validated) and `spec`, writing `level` rows.
    pub fn new(policy: &MetricsPolicy, spec: ReportSpec, level: StaffLevel) -> Self {
        TeamReport {
            level,
            seen: Dedupe::new(policy.dedupe_capacity),
            settle_ms: ReportBuilder::settle_ms(policy, Attribution::Event),
            fcr: AgentFcr::new(policy),
            retention_ms: i64::from(policy.agent_offline_retention_secs) * 1000,
            agents: HashMap::new(),
            teams: HashSet::new(),
            rows: BTreeMap::new(),
            written_to: i64::MIN,
            high_water: None,
            counters: TeamCounters::default(),
            qa_pass_mark: policy.qa_pass_mark,
            adherence: policy.adherence.clone(),
            schedules: HashMap::new(),
            spec,
        }
    }

    /// Which rows it writes.
    pub fn level(&self) -> StaffLevel {
        self.level
    }

    /// Takes one decoded event, in file order.
    ///
    /// # Errors
    /// [`Rejection::Duplicate`] for an `event_id` already taken.
    pub fn apply(&mut self, env: &Envelope) -> Result<(), Rejection> {
        let generation = self.high_water.unwrap_or(env.ts).max(env.ts).millis() / 60_000;
        if !self.seen.insert(&env.event_id, generation) {
            self.counters.duplicates += 1;
            return Err(Rejection::Duplicate);
        }
        let hw = self.high_water.map_or(env.ts, |hw| hw.max(env.ts));
        self.high_water = Some(hw);
        self.take(env, hw);
        for outcome in self.fcr.settle(hw) {
            self.record_fcr(outcome);
        }
        Ok(())
    }

    fn take(&mut self, env: &Envelope, clock: Ts) {
        let change = match &env.event {
            Event::AgentState(change) => change,
            Event::CallAnswered(_)
            | Event::CallCompleted(_)
            | Event::CsatResponse(_)
            | Event::QaEvaluation(_) => {
                self.booked(&env.event, env.ts);
                self.fcr.take(&env.event, env.ts, clock);
                return;
            }
            Event::AgentSchedule(e) => {
                self.schedules
                    .entry(Arc::from(e.agent_id.as_str()))
                    .or_default()
                    .replace(e.start, e.end, &e.segments);
                self.counters.applied += 1;
                return;
            }
            // The contacts FCR follows.
            _ => {
                let counter = match self.fcr.take(&env.event, env.ts, clock) {
                    true => &mut self.counters.applied,
                    false => &mut self.counters.ignored,
                };
                *counter += 1;
                return;
            }
        };
        let team = self.team(&change.team);
        let floor = Ts(self.written_to.max(i64::MIN + 1));
        let at = if env.ts < floor {
            self.counters.late += 1;
            floor
        } else {
            env.ts
        };
        let id: Arc<str> = Arc::from(change.agent_id.as_str());
        if let Some(agent) = self.agents.get(&id) {
            let (old_team, state, from) = (Arc::clone(&agent.team), agent.state, agent.counted_to);
            if at > from {
                self.count(&id, &old_team, state, from, at);
            } else if at < from {
                self.counters.late += 1;
            }
        }
        let counted_to = self.agents.get(&id).map_or(at, |a| a.counted_to.max(at));
        let episode = self.agents.get(&id).and_then(|a| a.episode);
        self.agents.insert(
            Arc::clone(&id),
            Agent {
                team,
                state: change.state,
                activity: self
                    .adherence
                    .actual(change.state, change.reason.as_deref()),
                episode,
                counted_to,
                offline_since: (change.state == AgentState::Offline).then_some(at),
            },
        );
        self.counters.applied += 1;
    }

    /// Counts one FCR outcome in its agent's row of the interval of its key.
    fn record_fcr(&mut self, outcome: AgentOutcome) {
        let start = self
            .spec
            .calendar
            .period_start(outcome.key, self.spec.interval_secs);
        if start.millis() < self.written_to {
            self.counters.late += 1;
            return;
        }
        let (team, agent) = outcome.unit;
        let acc = self.rows.entry((start.millis(), team, agent)).or_default();
        match outcome.success {
            Some(success) => acc.fcr.add(&FcrCounts {
                eligible: 1,
                success: u64::from(success),
            }),
            None => acc.fcr_open += 1,
        }
    }

    /// Books an agent's call, survey or evaluation in the interval of its time, in the
    /// agent's team then.
    fn booked(&mut self, event: &Event, at: Ts) {
        let Some(agent) = AgentCalls::agent_of(event) else {
            self.counters.ignored += 1;
            return;
        };
        let (agent, team) = match self.agents.get_key_value(agent) {
            Some((id, a)) => (Arc::clone(id), Arc::clone(&a.team)),
            None => (Arc::from(agent), self.team(UNKNOWN_TEAM)),
        };
        if matches!(event, Event::CallCompleted(_)) {
            self.fcr.completed_by(&agent, &team);
        }
        let start = self.spec.calendar.period_start(at, self.spec.interval_secs);
        if start.millis() < self.written_to {
            self.counters.late += 1;
            return;
        }
        self.rows
            .entry((start.millis(), team, agent))
            .or_default()
            .calls
            .book(event, self.qa_pass_mark);
        self.counters.applied += 1;
    }

    fn team(&mut self, name: &str) -> Arc<str> {
        if let Some(team) = self.teams.get(name) {
            return Arc::clone(team);
        }
        let team: Arc<str> = Arc::from(name);
        self.teams.insert(Arc::clone(&team));
        team
    }

    /// Adds `[from, to)` in `state` to `team`'s rows, split at interval boundaries.
    fn count(&mut self, agent: &Arc<str>, team: &Arc<str>, state: AgentState, from: Ts, to: Ts) {
        let len = self.spec.interval_secs;
        let grace_ms = self.adherence.grace_ms();
        let schedule = self.schedules.get(agent);
        let (activity, mut episode) = self
            .agents
            .get(agent)
            .map_or((Activity::Off, None), |a| (a.activity, a.episode));
        let mut start = self.spec.calendar.period_start(from, len);
        while start < to {
            let end = self.spec.calendar.next_period_start(start, len);
            let acc = self
                .rows
                .entry((start.millis(), Arc::clone(team), Arc::clone(agent)))
                .or_default();
            acc.times
                .add_overlap(state, from, to, start.millis(), end.millis());
            acc.active |= state != AgentState::Offline;
            // The piece of the span in this interval against the schedule; the stretch out
            // of adherence carries over the boundary.
            let part = (from.max(start), to.min(end));
            adherence::pieces(schedule, activity, part, &mut episode, grace_ms, |piece| {
                acc.adherence.add(&piece, start.millis(), end.millis());
            });
            start = end;
        }
        if let Some(a) = self.agents.get_mut(agent) {
            a.counted_to = a.counted_to.max(to);
            a.episode = episode;
        }
    }

    /// Counts every agent's running state up to `to`, and forgets agents offline longer
    /// than the retention.
    fn advance_all(&mut self, to: Ts) {
        let running: Vec<(Arc<str>, Arc<str>, AgentState, Ts)> = self
            .agents
            .iter()
            .filter(|(_, a)| a.counted_to < to)
            .map(|(id, a)| (Arc::clone(id), Arc::clone(&a.team), a.state, a.counted_to))
            .collect();
        for (id, team, state, from) in running {
            self.count(&id, &team, state, from, to);
        }
        let retention = self.retention_ms;
        self.schedules
            .retain(|_, schedule| schedule.prune(to.plus_millis(-retention)));
        self.agents.retain(|_, a| {
            a.offline_since
                .is_none_or(|since| to.millis_since(since) <= retention)
        });
    }

    /// The rows that became final since the last call, in order (interval, then team, then
    /// agent).
    pub fn take_final(&mut self) -> Vec<StaffRow> {
        let Some(hw) = self.high_water else {
            return Vec::new();
        };
        let through = hw.plus_millis(-self.settle_ms);
        let len = self.spec.interval_secs;
        // Intervals ending at or before `through` are final.
        let open_start = self.spec.calendar.period_start(through, len);
        if open_start.millis() <= self.written_to {
            return Vec::new();
        }
        self.advance_all(open_start);
        self.written_to = open_start.millis();
        self.drain(|start| start < open_start.millis())
    }

    /// Ends the history: running states are counted to the last event, every row written.
    pub fn finish(mut self) -> (Vec<StaffRow>, TeamCounters) {
        if let Some(hw) = self.high_water {
            self.advance_all(hw);
            for outcome in self.fcr.finish(hw) {
                self.record_fcr(outcome);
            }
        }
        let rows = self.drain(|_| true);
        (rows, self.counters())
    }

    /// The counters so far.
    pub fn counters(&self) -> TeamCounters {
        TeamCounters {
            fcr_untracked: self.fcr.untracked(),
            fcr_evicted: self.fcr.evicted(),
            ..self.counters
        }
    }

    fn drain(&mut self, take: impl Fn(i64) -> bool) -> Vec<StaffRow> {
        let keys: Vec<(i64, Arc<str>, Arc<str>)> = self
            .rows
            .keys()
            .take_while(|(start, ..)| take(*start))
            .cloned()
            .collect();
        // Each (interval, team) with its agents' accumulators, in key order.
        let mut units: Vec<(Unit, Members)> = Vec::new();
        for key in keys {
            let Some(acc) = self.rows.remove(&key) else {
                continue;
            };
            let (start, team, agent) = key;
            match units.last_mut() {
                Some((unit, agents)) if unit.0 == start && unit.1 == team => {
                    agents.push((agent, acc));
                }
                _ => units.push(((start, team), vec![(agent, acc)])),
            }
        }
        let len = self.spec.interval_secs;
        let mut out = Vec::new();
        for ((start, team), agents) in units {
            let start = Ts(start);
            let end = self.spec.calendar.next_period_start(start, len);
            let mut whole = Acc::default();
            for (_, acc) in &agents {
                whole.merge(acc);
            }
            let members = agents.iter().filter(|(_, a)| a.active).count() as u64;
            let team_row = TeamRow {
                interval_start: self.spec.calendar.rfc3339(start),
                interval_end: self.spec.calendar.rfc3339(end),
                team: team.to_string(),
                agents: members,
                time: StateTimeView::from(&whole.times),
                calls: CallColumns::from(&AgentCallsView::from(&whole.calls)),
                fcr: FcrColumns::of(&whole.fcr, whole.fcr_open),
                qa_evaluations: whole.calls.qa.evaluations,
                qa_score: None,
                qa_pass_rate: None,
                qa_critical_failure_rate: None,
                adherence: AdherenceColumns::from(&whole.adherence),
            }
            .with_qa(&whole.calls.qa);
            match self.level {
                StaffLevel::Team => out.push(StaffRow::Team(team_row)),
                StaffLevel::Agent => {
                    let team_adherence = AdherenceView::from(&whole.adherence);
                    for (agent, acc) in &agents {
                        let calls = AgentCallsView::from(&acc.calls);
                        let qa = QaView::of(&acc.calls.qa, None);
                        let adherence = AdherenceView::from(&acc.adherence);
                        out.push(StaffRow::Agent(AgentRow {
                            interval_start: team_row.interval_start.clone(),
                            interval_end: team_row.interval_end.clone(),
                            agent: agent.to_string(),
                            team: team_row.team.clone(),
                            time: StateTimeView::from(&acc.times),
                            calls: CallColumns::from(&calls),
                            fcr: FcrColumns::of(&acc.fcr, acc.fcr_open),
                            qa_evaluations: qa.evaluations,
                            qa_score: qa.score,
                            qa_pass_rate: qa.pass_rate,
                            qa_critical_failure_rate: qa.critical_failure_rate,
                            scheduled_s: adherence.scheduled_s,
                            out_of_adherence_s: adherence.out_of_adherence_s,
                            adherence: adherence.adherence,
                            conformance: adherence.conformance,
                            team_agents: members,
                            team_occupancy: team_row.time.occupancy,
                            team_aht_s: team_row.calls.aht_s,
                            team_completed_per_agent: (members > 0)
                                .then(|| team_row.calls.completed as f64 / members as f64),
                            team_resolved_reported_ratio: team_row.calls.resolved_reported_ratio,
                            team_fcr: team_row.fcr.fcr,
                            team_csat: team_row.calls.csat,
                            team_nps: team_row.calls.nps,
                            team_qa_score: team_row.qa_score,
                            team_adherence: team_adherence.adherence,
                            team_conformance: team_adherence.conformance,
                        }));
                    }
                }
            }
        }
        out
    }
}

impl TeamRow {
    fn with_qa(mut self, qa: &QaCounts) -> Self {
        let view = QaView::of(qa, None);
        self.qa_evaluations = view.evaluations;
        self.qa_score = view.score;
        self.qa_pass_rate = view.pass_rate;
        self.qa_critical_failure_rate = view.critical_failure_rate;
        self
    }
}

#[cfg(test)]
mod tests;
