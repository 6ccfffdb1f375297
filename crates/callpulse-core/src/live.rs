//! Live state: what is true *now* rather than over a window. Calls waiting per queue (with
//! the oldest), and every agent's current state per team, with the time agents spent in
//! each state (per team over the windows, per agent since local midnight).

use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use callpulse_events::{AgentState, Ts};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::calendar::{Calendar, PeriodCache};
use crate::dedupe::key_hash;
use crate::occupancy::{StateTimeView, StateTimes, record_span};
use crate::window::BucketRing;

/// Interned names (queues, teams) with a cardinality cap: a bounded label set by construction.
#[derive(Debug, Default)]
pub(crate) struct Names {
    ids: FxHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Names {
    /// The id of `name`, interning it if there is room; `None` past `cap` distinct names.
    pub(crate) fn id(&mut self, name: &str, cap: usize) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        if self.names.len() >= cap {
            return None;
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        Some(id)
    }

    pub(crate) fn name(&self, id: u32) -> &Arc<str> {
        &self.names[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// Calls of one queue that are waiting now, ordered by the time they were queued.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    /// `(queued at ms, call key)`: the first entry is the longest-waiting call.
    calls: BTreeSet<(i64, u64)>,
}

impl Waiting {
    pub(crate) fn add(&mut self, queued: Ts, call: u64) {
        self.calls.insert((queued.millis(), call));
    }

    pub(crate) fn remove(&mut self, queued: Ts, call: u64) {
        self.calls.remove(&(queued.millis(), call));
    }

    pub(crate) fn len(&self) -> u64 {
        self.calls.len() as u64
    }

    pub(crate) fn oldest(&self) -> Option<Ts> {
        self.calls.first().map(|(ms, _)| Ts(*ms))
    }
}

/// One agent as the API and WebSocket feed show them (never a Prometheus label).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    pub agent_id: Arc<str>,
    pub team: Arc<str>,
    pub state: AgentState,
    /// When the agent entered `state` (event time, ms since the epoch).
    pub since_ms: i64,
    /// Time per state since local midnight (the current state up to the snapshot) and the
    /// agent's occupancy over it.
    pub today: StateTimeView,
    /// The agent's calls since local midnight (from every partition's call events).
    pub calls_today: Option<AgentCallsView>,
}

/// An agent's calls today, as readers see them; times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentCallsView {
    pub answered: u64,
    pub completed: u64,
    pub aht_s: Option<f64>,
    pub talk_avg_s: Option<f64>,
    pub hold_avg_s: Option<f64>,
    pub acw_avg_s: Option<f64>,
    /// Completed calls flagged resolved, of those carrying the flag.
    pub resolved_reported_ratio: Option<f64>,
    pub csat_responses: u64,
    /// Top-2-box share.
    pub csat: Option<f64>,
}

impl From<&AgentCalls> for AgentCallsView {
    fn from(c: &AgentCalls) -> Self {
        let avg = |ms: u64| (c.completed > 0).then(|| ms as f64 / c.completed as f64 / 1000.0);
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        AgentCallsView {
            answered: c.answered,
            completed: c.completed,
            aht_s: avg(c.talk_ms + c.hold_ms + c.acw_ms),
            talk_avg_s: avg(c.talk_ms),
            hold_avg_s: avg(c.hold_ms),
            acw_avg_s: avg(c.acw_ms),
            resolved_reported_ratio: ratio(c.resolved_true, c.resolved_reported),
            csat_responses: c.csat_responses,
            csat: ratio(c.csat_positive, c.csat_responses),
        }
    }
}

/// One agent's calls since local midnight: counted where the call events are (any
/// partition), merged by agent id in the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentCalls {
    pub answered: u64,
    pub completed: u64,
    pub talk_ms: u64,
    pub hold_ms: u64,
    pub acw_ms: u64,
    pub resolved_reported: u64,
    pub resolved_true: u64,
    pub csat_responses: u64,
    pub csat_positive: u64,
}

impl AgentCalls {
    pub(crate) fn merge(&mut self, o: &AgentCalls) {
        self.answered += o.answered;
        self.completed += o.completed;
        self.talk_ms += o.talk_ms;
        self.hold_ms += o.hold_ms;
        self.acw_ms += o.acw_ms;
        self.resolved_reported += o.resolved_reported;
        self.resolved_true += o.resolved_true;
        self.csat_responses += o.csat_responses;
        self.csat_positive += o.csat_positive;
    }
}

/// Per-agent call figures of today, bounded by the agent cap.
#[derive(Debug)]
pub(crate) struct AgentCallBook {
    days: PeriodCache,
    day: Ts,
    /// By hashed agent id (one lookup, no string compare), with the id for readers.
    agents: FxHashMap<u64, (Arc<str>, AgentCalls)>,
}

impl AgentCallBook {
    pub(crate) fn new(calendar: Calendar) -> Self {
        AgentCallBook {
            days: PeriodCache::days(calendar),
            day: Ts(i64::MIN),
            agents: FxHashMap::default(),
        }
    }

    /// The agent's figures for the day of `at`; `None` for an earlier day (late) or past
    /// the cap of `max_agents`.
    pub(crate) fn entry(
        &mut self,
        agent: &str,
        at: Ts,
        max_agents: usize,
    ) -> Option<&mut AgentCalls> {
        let day = self.days.start_of(at);
        if day > self.day {
            self.day = day;
            self.agents.clear();
        } else if day < self.day {
            return None;
        }
        let full = self.agents.len() >= max_agents;
        match self.agents.entry(key_hash(agent)) {
            Entry::Occupied(slot) => Some(&mut slot.into_mut().1),
            Entry::Vacant(_) if full => None,
            Entry::Vacant(slot) => {
                Some(&mut slot.insert((Arc::from(agent), AgentCalls::default())).1)
            }
        }
    }

    /// Today's figures at `now` (empty once the day is over).
    pub(crate) fn view(&mut self, now: Ts) -> Vec<(Arc<str>, AgentCalls)> {
        if self.days.start_of(now) != self.day {
            return Vec::new();
        }
        self.agents
            .values()
            .map(|(id, calls)| (Arc::clone(id), *calls))
            .collect()
    }
}

/// Agents per state for one team, indexed by [`AgentState::index`].
pub type TeamStates = [u64; AgentState::ALL.len()];

#[derive(Debug)]
struct AgentRec {
    team: u32,
    state: AgentState,
    since: Ts,
    /// Start of the local day `today` covers, and the finished spans in it.
    day: Ts,
    today: StateTimes,
}

/// The agents whose events this partition owns, and their teams' time in state.
#[derive(Debug)]
pub(crate) struct Agents {
    agents: FxHashMap<Arc<str>, AgentRec>,
    teams: Names,
    /// Per team id: finished state spans per event-time bucket.
    team_time: Vec<BucketRing<StateTimes>>,
    width_ms: i64,
    capacity: usize,
    days: PeriodCache,
}

/// What an agent event did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AgentUpdate {
    Applied,
    /// Older than the state already known for this agent: live state keeps the newer one.
    Stale,
    TooManyTeams,
    TooManyAgents,
}

impl Agents {
    /// No agents yet; team time rings of `capacity` buckets of `width_ms`, days in `calendar`.
    pub(crate) fn new(width_ms: i64, capacity: usize, calendar: Calendar) -> Self {
        Agents {
            agents: FxHashMap::default(),
            teams: Names::default(),
            team_time: Vec::new(),
            width_ms,
            capacity,
            days: PeriodCache::days(calendar),
        }
    }

    /// Agents in `state` now, over all teams.
    pub(crate) fn count_in(&self, state: AgentState) -> u64 {
        self.agents.values().filter(|a| a.state == state).count() as u64
    }

    pub(crate) fn apply(
        &mut self,
        agent_id: &str,
        team: &str,
        state: AgentState,
        at: Ts,
        caps: (usize, usize),
    ) -> AgentUpdate {
        let (max_teams, max_agents) = caps;
        let Some(team) = self.teams.id(team, max_teams) else {
            return AgentUpdate::TooManyTeams;
        };
        if self.team_time.len() <= team as usize {
            self.team_time.resize_with(team as usize + 1, || {
                BucketRing::new(self.width_ms, self.capacity)
            });
        }
        if let Some(rec) = self.agents.get_mut(agent_id) {
            if at < rec.since {
                return AgentUpdate::Stale;
            }
            // Book the span the previous state lasted, in its team's ring and the agent's day.
            if let Some(ring) = self.team_time.get_mut(rec.team as usize) {
                record_span(ring, self.width_ms, self.capacity, rec.state, rec.since, at);
            }
            let day = self.days.start_of(at);
            if day != rec.day {
                rec.day = day;
                rec.today = StateTimes::default();
            }
            rec.today
                .add_overlap(rec.state, rec.since, at, day.millis(), i64::MAX);
            rec.team = team;
            rec.state = state;
            rec.since = at;
            return AgentUpdate::Applied;
        }
        if self.agents.len() >= max_agents {
            return AgentUpdate::TooManyAgents;
        }
        self.agents.insert(
            Arc::from(agent_id),
            AgentRec {
                team,
                state,
                since: at,
                day: self.days.start_of(at),
                today: StateTimes::default(),
            },
        );
        AgentUpdate::Applied
    }

    /// Per-team state counts (every interned team, even with no agents left in a state), the
    /// per-agent list sorted by agent id, and per team its time in state over each window
    /// (`window_lens` buckets each, in that order) at `now`, running states included.
    pub(crate) fn view(&mut self, now: Ts, window_lens: &[usize]) -> AgentsView {
        let mut teams: Vec<(Arc<str>, TeamStates)> = (0..self.teams.len() as u32)
            .map(|id| (Arc::clone(self.teams.name(id)), TeamStates::default()))
            .collect();
        let mut time: Vec<Vec<StateTimes>> = self
            .team_time
            .iter()
            .map(|ring| ring.windows(now.millis(), window_lens))
            .collect();
        let now_bucket = now.millis().div_euclid(self.width_ms);
        let day = self.days.start_of(now);
        let mut agents = Vec::with_capacity(self.agents.len());
        for (agent_id, rec) in &self.agents {
            teams[rec.team as usize].1[rec.state.index()] += 1;
            if let Some(windows) = time.get_mut(rec.team as usize) {
                for (window, len) in windows.iter_mut().zip(window_lens) {
                    let start = (now_bucket - *len as i64 + 1) * self.width_ms;
                    window.add_overlap(rec.state, rec.since, now, start, now.millis());
                }
            }
            let mut today = if rec.day == day {
                rec.today
            } else {
                StateTimes::default()
            };
            today.add_overlap(rec.state, rec.since, now, day.millis(), now.millis());
            agents.push(AgentView {
                agent_id: Arc::clone(agent_id),
                team: Arc::clone(self.teams.name(rec.team)),
                state: rec.state,
                since_ms: rec.since.millis(),
                today: StateTimeView::from(&today),
                calls_today: None,
            });
        }
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        let team_time = (0..self.teams.len() as u32)
            .map(|id| {
                let windows = time.get(id as usize).cloned().unwrap_or_default();
                (Arc::clone(self.teams.name(id)), windows)
            })
            .collect();
        AgentsView {
            teams,
            agents,
            team_time,
        }
    }
}

/// What [`Agents::view`] reads.
#[derive(Debug)]
pub(crate) struct AgentsView {
    pub(crate) teams: Vec<(Arc<str>, TeamStates)>,
    pub(crate) agents: Vec<AgentView>,
    pub(crate) team_time: Vec<(Arc<str>, Vec<StateTimes>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capped() {
        let mut names = Names::default();
        assert_eq!(names.id("a", 2), Some(0));
        assert_eq!(names.id("b", 2), Some(1));
        assert_eq!(names.id("a", 2), Some(0));
        assert_eq!(names.id("c", 2), None);
    }

    #[test]
    fn newer_agent_state_wins() {
        let mut agents = Agents::new(60_000, 61, Calendar::new("UTC").expect("zone"));
        let caps = (10, 10);
        assert_eq!(
            agents.apply("a1", "t", AgentState::OnCall, Ts(2_000), caps),
            AgentUpdate::Applied
        );
        assert_eq!(
            agents.apply("a1", "t", AgentState::Available, Ts(1_000), caps),
            AgentUpdate::Stale
        );
        assert_eq!(
            agents.apply("a2", "t", AgentState::Aux, Ts(1_000), caps),
            AgentUpdate::Applied
        );
        let view = agents.view(Ts(2_000), &[5]);
        let (teams, list) = (view.teams, view.agents);
        assert_eq!(teams.len(), 1);
        assert_eq!(teams[0].1, [0, 1, 0, 1, 0]);
        assert_eq!(list[0].state, AgentState::OnCall);
        assert_eq!(list[0].since_ms, 2_000);
        assert_eq!(
            agents.apply("a3", "t", AgentState::Aux, Ts(1_000), (10, 2)),
            AgentUpdate::TooManyAgents
        );
    }

    #[test]
    fn oldest_waiting_call_first() {
        let mut w = Waiting::default();
        w.add(Ts(50), 1);
        w.add(Ts(10), 2);
        w.add(Ts(30), 3);
        assert_eq!((w.len(), w.oldest()), (3, Some(Ts(10))));
        w.remove(Ts(10), 2);
        assert_eq!(w.oldest(), Some(Ts(30)));
    }
}
