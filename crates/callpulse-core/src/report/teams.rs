//! Team interval reports: each team's time in state, agents and occupancy per calendar
//! interval, as `callpulse replay --report 30m --rows team` writes them.
//!
//! The accounting is the live one (`occupancy.rs`): a state lasts from its event to the
//! agent's next event, occupancy is `(on_call + wrap_up) / (available + on_call + wrap_up)`
//! time. A span is split at interval boundaries. A row is final once event time is past its
//! end by the allowed future skew; the span still running then is counted up to that end,
//! and a later event that would change a final row is counted `late` and starts at the end
//! already counted.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use callpulse_events::{AgentState, Envelope, Event, QaEvaluation, Rejection, Ts};
use serde::Serialize;

use crate::dedupe::Dedupe;
use crate::occupancy::{StateTimeView, StateTimes};
use crate::policy::MetricsPolicy;
use crate::quality::{QaCounts, QaView};
use crate::report::ReportSpec;

/// The team of an evaluated agent the report has not seen an `agent_state` of.
const UNKNOWN_TEAM: &str = "unknown";

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
    /// Quality evaluations made in the interval of the team's agents (the agent's team at
    /// the time; `unknown` for an agent with no `agent_state` yet), and their figures
    /// (docs/quality.md).
    pub qa_evaluations: u64,
    pub qa_score: Option<f64>,
    pub qa_pass_rate: Option<f64>,
    pub qa_critical_failure_rate: Option<f64>,
}

/// Where an agent is, and how far its time has been counted.
#[derive(Debug)]
struct Agent {
    team: Arc<str>,
    state: AgentState,
    /// Time before this instant is in rows already.
    counted_to: Ts,
    /// When the agent went offline (for forgetting it), if it is offline.
    offline_since: Option<Ts>,
}

#[derive(Debug, Default)]
struct Acc {
    times: StateTimes,
    agents: BTreeSet<Arc<str>>,
    qa: QaCounts,
}

/// Events a team report took in, by fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TeamCounters {
    pub applied: u64,
    /// State changes stamped before time already counted in a final row.
    pub late: u64,
    /// Valid events a team report has no use for (calls, tickets, surveys).
    pub ignored: u64,
    pub duplicates: u64,
}

/// Reads a history in file order, writing team rows as they become final.
#[derive(Debug)]
pub struct TeamReport {
    spec: ReportSpec,
    qa_pass_mark: f64,
    seen: Dedupe,
    skew_ms: i64,
    retention_ms: i64,
    agents: HashMap<Arc<str>, Agent>,
    /// Team names, each allocated once.
    teams: HashSet<Arc<str>>,
    rows: BTreeMap<(i64, Arc<str>), Acc>,
    /// Rows starting before this are written.
    written_to: i64,
    high_water: Option<Ts>,
    counters: TeamCounters,
}

impl TeamReport {
    /// An empty report under `policy` (validated) and `spec`.
    pub fn new(policy: &MetricsPolicy, spec: ReportSpec) -> Self {
        TeamReport {
            seen: Dedupe::new(policy.dedupe_capacity),
            skew_ms: policy.future_skew_ms(),
            retention_ms: i64::from(policy.agent_offline_retention_secs) * 1000,
            agents: HashMap::new(),
            teams: HashSet::new(),
            rows: BTreeMap::new(),
            written_to: i64::MIN,
            high_water: None,
            counters: TeamCounters::default(),
            qa_pass_mark: policy.qa_pass_mark,
            spec,
        }
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
        self.high_water = Some(self.high_water.map_or(env.ts, |hw| hw.max(env.ts)));
        let change = match &env.event {
            Event::AgentState(change) => change,
            Event::QaEvaluation(qa) => {
                self.evaluated(qa, env.ts);
                return Ok(());
            }
            _ => {
                self.counters.ignored += 1;
                return Ok(());
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
        self.agents.insert(
            Arc::clone(&id),
            Agent {
                team,
                state: change.state,
                counted_to,
                offline_since: (change.state == AgentState::Offline).then_some(at),
            },
        );
        self.counters.applied += 1;
        Ok(())
    }

    /// Counts an evaluation in the interval of its time, in its agent's team.
    fn evaluated(&mut self, qa: &QaEvaluation, at: Ts) {
        let start = self.spec.calendar.period_start(at, self.spec.interval_secs);
        if start.millis() < self.written_to {
            self.counters.late += 1;
            return;
        }
        let team = match self.agents.get(qa.agent_id.as_str()) {
            Some(agent) => Arc::clone(&agent.team),
            None => self.team(UNKNOWN_TEAM),
        };
        self.rows
            .entry((start.millis(), team))
            .or_default()
            .qa
            .record(qa, self.qa_pass_mark);
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
        let mut start = self.spec.calendar.period_start(from, len);
        while start < to {
            let end = self.spec.calendar.next_period_start(start, len);
            let acc = self
                .rows
                .entry((start.millis(), Arc::clone(team)))
                .or_default();
            acc.times
                .add_overlap(state, from, to, start.millis(), end.millis());
            if state != AgentState::Offline {
                acc.agents.insert(Arc::clone(agent));
            }
            start = end;
        }
        if let Some(a) = self.agents.get_mut(agent) {
            a.counted_to = a.counted_to.max(to);
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
        self.agents.retain(|_, a| {
            a.offline_since
                .is_none_or(|since| to.millis_since(since) <= retention)
        });
    }

    /// The rows that became final since the last call, in order (interval, then team).
    pub fn take_final(&mut self) -> Vec<TeamRow> {
        let Some(hw) = self.high_water else {
            return Vec::new();
        };
        let through = hw.plus_millis(-self.skew_ms);
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
    pub fn finish(mut self) -> (Vec<TeamRow>, TeamCounters) {
        if let Some(hw) = self.high_water {
            self.advance_all(hw);
        }
        let rows = self.drain(|_| true);
        (rows, self.counters)
    }

    fn drain(&mut self, take: impl Fn(i64) -> bool) -> Vec<TeamRow> {
        let keys: Vec<(i64, Arc<str>)> = self
            .rows
            .keys()
            .take_while(|(start, _)| take(*start))
            .cloned()
            .collect();
        let len = self.spec.interval_secs;
        keys.into_iter()
            .filter_map(|key| {
                let acc = self.rows.remove(&key)?;
                let start = Ts(key.0);
                let end = self.spec.calendar.next_period_start(start, len);
                let qa = QaView::of(&acc.qa, None);
                Some(TeamRow {
                    interval_start: self.spec.calendar.rfc3339(start),
                    interval_end: self.spec.calendar.rfc3339(end),
                    team: key.1.to_string(),
                    agents: acc.agents.len() as u64,
                    time: StateTimeView::from(&acc.times),
                    qa_evaluations: qa.evaluations,
                    qa_score: qa.score,
                    qa_pass_rate: qa.pass_rate,
                    qa_critical_failure_rate: qa.critical_failure_rate,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use callpulse_events::AgentStateChanged;

    use super::*;
    use crate::calendar::Calendar;
    use crate::report::Attribution;

    fn state(id: &str, agent: &str, team: &str, s: AgentState, at: &str) -> Envelope {
        Envelope {
            event_id: id.to_owned(),
            ts: Ts(chrono::DateTime::parse_from_rfc3339(at)
                .expect("time")
                .timestamp_millis()),
            event: Event::AgentState(AgentStateChanged {
                agent_id: agent.to_owned(),
                team: team.to_owned(),
                state: s,
                reason: None,
            }),
        }
    }

    /// Two agents over two 30-minute intervals, by hand:
    /// a1 available 09:00-09:20, on call 09:20-09:40, wrap-up 09:40-09:45, available to 10:00;
    /// a2 aux 09:10-10:00 (joins at 09:10).
    /// 09:00-09:30: available 20+20 min... a1: available 20, on call 10; a2: aux 20.
    /// 09:30-10:00: a1: on call 10, wrap-up 5, available 15; a2: aux 30.
    #[test]
    fn time_in_state_and_occupancy_per_interval() {
        let policy = MetricsPolicy::default();
        let spec = ReportSpec {
            interval_secs: 1800,
            calendar: Calendar::utc(),
            attribution: Attribution::Event,
            sl_thresholds_override: None,
        };
        let mut report = TeamReport::new(&policy, spec);
        use AgentState::*;
        for env in [
            state("1", "a1", "t", Available, "2026-11-30T09:00:00Z"),
            state("2", "a2", "t", Aux, "2026-11-30T09:10:00Z"),
            state("3", "a1", "t", OnCall, "2026-11-30T09:20:00Z"),
            state("3", "a1", "t", OnCall, "2026-11-30T09:20:00Z"),
            state("4", "a1", "t", WrapUp, "2026-11-30T09:40:00Z"),
            state("5", "a1", "t", Available, "2026-11-30T09:45:00Z"),
            state("6", "a2", "t", Offline, "2026-11-30T10:00:00Z"),
            state("7", "a1", "t", Offline, "2026-11-30T10:00:00Z"),
        ] {
            let _ = report.apply(&env);
        }
        let (rows, counters) = report.finish();
        assert_eq!(counters.duplicates, 1);
        assert_eq!(counters.applied, 7);
        let first = &rows[0];
        assert_eq!(first.interval_start, "2026-11-30T09:00:00+00:00");
        assert_eq!(first.agents, 2);
        assert_eq!(
            (
                first.time.available_s,
                first.time.on_call_s,
                first.time.aux_s
            ),
            (1200.0, 600.0, 1200.0)
        );
        // (on call + wrap-up) / (available + on call + wrap-up) = 600 / 1800.
        assert_eq!(first.time.occupancy, Some(600.0 / 1800.0));
        let second = &rows[1];
        assert_eq!(
            (
                second.time.available_s,
                second.time.on_call_s,
                second.time.wrap_up_s,
                second.time.aux_s
            ),
            (900.0, 600.0, 300.0, 1800.0)
        );
        assert_eq!(second.time.occupancy, Some(900.0 / 1800.0));
        assert_eq!(rows.len(), 2, "{rows:?}");
    }

    fn evaluation(id: &str, agent: &str, score: u32, critical: u32, at: &str) -> Envelope {
        Envelope {
            event_id: id.to_owned(),
            ts: Ts(chrono::DateTime::parse_from_rfc3339(at)
                .expect("time")
                .timestamp_millis()),
            event: Event::QaEvaluation(QaEvaluation {
                evaluation_id: id.to_owned(),
                agent_id: agent.to_owned(),
                evaluator_id: "lead".into(),
                form: "f".into(),
                score,
                max_score: 10,
                critical_failures: critical,
                sections: Vec::new(),
                contact_id: None,
            }),
        }
    }

    /// Per day: a1 (team t) 9/10 and 6/10 on the first day, one with a critical failure;
    /// a stranger's evaluation goes to `unknown`; the second day has a1's 8/10.
    #[test]
    fn quality_per_team_and_day() {
        let policy = MetricsPolicy::default();
        let spec = ReportSpec {
            interval_secs: 86_400,
            calendar: Calendar::utc(),
            attribution: Attribution::Event,
            sl_thresholds_override: None,
        };
        let mut report = TeamReport::new(&policy, spec);
        for env in [
            state(
                "1",
                "a1",
                "t",
                AgentState::Available,
                "2026-11-30T09:00:00Z",
            ),
            evaluation("q1", "a1", 9, 0, "2026-11-30T10:00:00Z"),
            evaluation("q2", "a1", 6, 1, "2026-11-30T11:00:00Z"),
            evaluation("q3", "zed", 10, 0, "2026-11-30T12:00:00Z"),
            evaluation("q4", "a1", 8, 0, "2026-12-01T09:00:00Z"),
        ] {
            report.apply(&env).expect("applied");
        }
        let (rows, _) = report.finish();
        let row = |day: &str, team: &str| {
            rows.iter()
                .find(|r| r.interval_start.starts_with(day) && r.team == team)
                .unwrap_or_else(|| panic!("{day} {team}: {rows:?}"))
        };
        let t = row("2026-11-30", "t");
        assert_eq!(t.qa_evaluations, 2);
        assert!((t.qa_score.expect("score") - 0.75).abs() < 1e-9);
        assert_eq!(
            (t.qa_pass_rate, t.qa_critical_failure_rate),
            (Some(0.5), Some(0.5))
        );
        assert_eq!(row("2026-11-30", "unknown").qa_evaluations, 1);
        let next = row("2026-12-01", "t");
        assert_eq!((next.qa_evaluations, next.qa_pass_rate), (1, Some(1.0)));
    }
}
