//! Live state: what is true *now* rather than over a window. Calls waiting per queue (with
//! the oldest), and every agent's current state per team.

use std::collections::BTreeSet;
use std::sync::Arc;

use callpulse_events::{AgentState, Ts};
use rustc_hash::FxHashMap;
use serde::Serialize;

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
}

/// Agents per state for one team, indexed by [`AgentState::index`].
pub type TeamStates = [u64; AgentState::ALL.len()];

#[derive(Debug)]
struct AgentRec {
    team: u32,
    state: AgentState,
    since: Ts,
}

/// The agents whose events this partition owns.
#[derive(Debug, Default)]
pub(crate) struct Agents {
    agents: FxHashMap<Arc<str>, AgentRec>,
    teams: Names,
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
        if let Some(rec) = self.agents.get_mut(agent_id) {
            if at < rec.since {
                return AgentUpdate::Stale;
            }
            *rec = AgentRec {
                team,
                state,
                since: at,
            };
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
            },
        );
        AgentUpdate::Applied
    }

    /// Per-team state counts (every interned team, even with no agents left in a state) and
    /// the per-agent list, sorted by agent id.
    pub(crate) fn view(&self) -> (Vec<(Arc<str>, TeamStates)>, Vec<AgentView>) {
        let mut teams: Vec<(Arc<str>, TeamStates)> = (0..self.teams.len() as u32)
            .map(|id| (Arc::clone(self.teams.name(id)), TeamStates::default()))
            .collect();
        let mut agents = Vec::with_capacity(self.agents.len());
        for (agent_id, rec) in &self.agents {
            teams[rec.team as usize].1[rec.state.index()] += 1;
            agents.push(AgentView {
                agent_id: Arc::clone(agent_id),
                team: Arc::clone(self.teams.name(rec.team)),
                state: rec.state,
                since_ms: rec.since.millis(),
            });
        }
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        (teams, agents)
    }
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
        let mut agents = Agents::default();
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
        let (teams, list) = agents.view();
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
