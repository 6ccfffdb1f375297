//! Live state: what is true *now* rather than over a window. Calls waiting per queue (with
//! the oldest), and every agent's current state per team, with the time agents spent in
//! each state (per team over the windows, per agent since local midnight; `live/agents.rs`).

use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use callpulse_events::{AgentState, Event, Ts};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::adherence::{AdherenceNow, AdherenceView};
use crate::calendar::Calendar;
use crate::dedupe::key_hash;
use crate::occupancy::StateTimeView;
use crate::periods::PeriodMap;
use crate::quality::{QaCounts, QaView};

/// Interned names (queues, teams) with a cardinality cap: a bounded label set by construction.
/// A name can be removed (evicted); its id is free for the next new name. Serialized as the
/// names in id order, a free id as the empty name (input names are never empty).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Vec<Arc<str>>", into = "Vec<Arc<str>>")]
pub(crate) struct Names {
    ids: FxHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
    free: Vec<u32>,
}

impl From<Names> for Vec<Arc<str>> {
    fn from(names: Names) -> Self {
        names.names
    }
}

impl From<Vec<Arc<str>>> for Names {
    fn from(names: Vec<Arc<str>>) -> Self {
        let mut ids = FxHashMap::default();
        let mut free = Vec::new();
        for (id, name) in names.iter().enumerate() {
            if name.is_empty() {
                free.push(id as u32);
            } else {
                ids.insert(Arc::clone(name), id as u32);
            }
        }
        Names { ids, names, free }
    }
}

impl Names {
    /// The id of `name`, interning it if there is room: `None` at `cap` names in use,
    /// unless `configured` says the name is one the configuration names (asked only for a
    /// name not yet known), which is always admitted, so a flood of junk names from input
    /// can never lock out a real queue or team.
    pub(crate) fn id(
        &mut self,
        name: &str,
        cap: usize,
        configured: impl FnOnce() -> bool,
    ) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        if self.len() >= cap && !configured() {
            return None;
        }
        let name: Arc<str> = Arc::from(name);
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize] = Arc::clone(&name);
                id
            }
            None => {
                self.names.push(Arc::clone(&name));
                self.names.len() as u32 - 1
            }
        };
        self.ids.insert(name, id);
        Some(id)
    }

    /// The id of `name` if it is known.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of `id` (empty for a free id).
    pub(crate) fn name(&self, id: u32) -> &Arc<str> {
        &self.names[id as usize]
    }

    /// Forgets the name of `id`; the id goes to the next new name.
    pub(crate) fn remove(&mut self, id: u32) {
        let name = std::mem::replace(&mut self.names[id as usize], Arc::from(""));
        if !name.is_empty() {
            self.ids.remove(&name);
            self.free.push(id);
        }
    }

    /// Names in use.
    pub(crate) fn len(&self) -> usize {
        self.names.len() - self.free.len()
    }

    /// Ids handed out so far, free ones included: per-id vectors are this long.
    pub(crate) fn slots(&self) -> usize {
        self.names.len()
    }
}

/// Calls of one queue that are waiting now, ordered by the time they were queued.
#[derive(Debug, Default, Serialize, Deserialize)]
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

    /// Calls waiting at the instant `at`, and the oldest of them: queued at or before `at`
    /// (a call queued later, by a fast clock or a partition ahead of the instant, is not
    /// waiting yet) and no longer ago than `max_wait_ms` (older ones are presumed lost; the
    /// partition removes them once its own event time passes them).
    pub(crate) fn at(&self, at: Ts, max_wait_ms: i64) -> (u64, Option<Ts>) {
        let range = self
            .calls
            .range((at.millis().saturating_sub(max_wait_ms), 0)..=(at.millis(), u64::MAX));
        let oldest = range.clone().next().map(|(ms, _)| Ts(*ms));
        (range.count() as u64, oldest)
    }

    /// Takes every call out, returning their keys.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = u64> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|(_, call)| call)
    }

    /// The longest-waiting call, `(queued, call)`.
    pub(crate) fn first(&self) -> Option<(Ts, u64)> {
        self.calls.first().map(|(ms, call)| (Ts(*ms), *call))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.calls.len() as u64
    }
}

/// One agent as the API and WebSocket feed show them (never a Prometheus label).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Against the schedule now; `null` for an agent without a schedule.
    /// (Boxed, as `adherence_today`: an agent view is copied per snapshot, and most agents
    /// of most centers have no schedule; `None` costs a pointer.)
    #[serde(default)]
    pub adherence: Option<Box<AdherenceNow>>,
    /// Against the schedule since local midnight; `null` for an agent without a schedule
    /// (most agents of a center without WFM: the feed carries no empty figures for them).
    #[serde(default)]
    pub adherence_today: Option<Box<AdherenceView>>,
}

/// An agent's calls today, as readers see them; times in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    pub nps_responses: u64,
    /// Net Promoter Score, -100 to 100.
    pub nps: Option<f64>,
    /// Quality evaluations of the agent today (`quality.rs`).
    pub qa: QaView,
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
            nps_responses: c.nps_responses,
            nps: crate::calls::nps_score(c.nps_promoters, c.nps_detractors, c.nps_responses),
            qa: QaView::of(&c.qa, None),
        }
    }
}

/// One agent's calls since local midnight: counted where the call events are (any
/// partition), merged by agent id in the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    pub nps_responses: u64,
    pub nps_promoters: u64,
    pub nps_detractors: u64,
    pub qa: QaCounts,
}

impl AgentCalls {
    /// The agent an event adds to the figures of: answers, completions, surveys naming
    /// one, and quality evaluations.
    pub(crate) fn agent_of(event: &Event) -> Option<&str> {
        match event {
            Event::CallAnswered(e) => Some(&e.agent_id),
            Event::CallCompleted(e) => Some(&e.agent_id),
            Event::CsatResponse(e) => e.agent_id.as_deref(),
            Event::QaEvaluation(e) => Some(&e.agent_id),
            _ => None,
        }
    }

    /// Adds `event` (one [`AgentCalls::agent_of`] names this agent in): the one booking of
    /// an agent's calls, live (per day) and in interval reports (per interval).
    pub(crate) fn book(&mut self, event: &Event, qa_pass_mark: f64) {
        match event {
            Event::CallAnswered(_) => self.answered += 1,
            Event::CallCompleted(e) => {
                self.completed += 1;
                self.talk_ms += e.talk_ms.max(0) as u64;
                self.hold_ms += e.hold_ms.max(0) as u64;
                self.acw_ms += e.acw_ms.max(0) as u64;
                self.resolved_reported += u64::from(e.resolved.is_some());
                self.resolved_true += u64::from(e.resolved == Some(true));
            }
            Event::CsatResponse(e) => {
                if let Some(score) = e.score {
                    self.csat_responses += 1;
                    self.csat_positive += u64::from(score >= 4);
                }
                if let Some(nps) = e.nps {
                    let (promoter, detractor) = crate::calls::nps_class(nps);
                    self.nps_responses += 1;
                    self.nps_promoters += u64::from(promoter);
                    self.nps_detractors += u64::from(detractor);
                }
            }
            Event::QaEvaluation(e) => self.qa.record(e, qa_pass_mark),
            _ => {}
        }
    }

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
        self.nps_responses += o.nps_responses;
        self.nps_promoters += o.nps_promoters;
        self.nps_detractors += o.nps_detractors;
        self.qa.merge(&o.qa);
    }
}

/// Per-agent call figures per local day, bounded by the agent cap.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AgentCallBook {
    /// By day; within a day by hashed agent id (one lookup, no string compare), with the id
    /// for readers. A fast clock's event of tomorrow opens tomorrow beside today.
    days: PeriodMap<FxHashMap<u64, (Arc<str>, AgentCalls)>>,
    /// Call events of an agent not kept because their day already had the cap of agents.
    pub(crate) untracked: u64,
}

impl AgentCallBook {
    pub(crate) fn new(calendar: Calendar, skew_ms: i64) -> Self {
        AgentCallBook {
            days: PeriodMap::new(calendar, 24 * 3600, skew_ms),
            untracked: 0,
        }
    }

    /// The agent's figures for the day of `at`; `None` for a closed day (late) or past the
    /// cap of `max_agents` in that day.
    pub(crate) fn entry(
        &mut self,
        agent: &str,
        at: Ts,
        max_agents: usize,
    ) -> Option<&mut AgentCalls> {
        let untracked = &mut self.untracked;
        let agents = self.days.get_mut(at)?;
        let full = agents.len() >= max_agents;
        match agents.entry(key_hash(agent)) {
            Entry::Occupied(slot) => Some(&mut slot.into_mut().1),
            Entry::Vacant(_) if full => {
                *untracked += 1;
                None
            }
            Entry::Vacant(slot) => {
                Some(&mut slot.insert((Arc::from(agent), AgentCalls::default())).1)
            }
        }
    }

    /// The figures of the day holding `now` (empty for a day without calls).
    pub(crate) fn view(&self, now: Ts) -> Vec<(Arc<str>, AgentCalls)> {
        self.days.get(now).map_or_else(Vec::new, |agents| {
            agents
                .values()
                .map(|(id, calls)| (Arc::clone(id), *calls))
                .collect()
        })
    }
}

mod agents;
pub use agents::TeamStates;
pub(crate) use agents::{AgentLimits, AgentUpdate, Agents};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capped() {
        let mut names = Names::default();
        assert_eq!(names.id("a", 2, || false), Some(0));
        assert_eq!(names.id("b", 2, || false), Some(1));
        assert_eq!(names.id("a", 2, || false), Some(0));
        assert_eq!(names.id("c", 2, || false), None);
        // A configured name is admitted past the cap.
        assert_eq!(names.id("vip", 2, || true), Some(2));
        assert_eq!(names.id("d", 2, || false), None);
        // A removed name frees its id for the next new one, and the cap counts names in use.
        names.remove(0);
        assert_eq!((names.len(), names.slots()), (2, 3));
        assert_eq!(names.get("a"), None);
        assert_eq!(names.id("d", 3, || false), Some(0));
        assert_eq!(names.id("e", 3, || false), None);
        // Serialized with the free id as an empty name, and back.
        names.remove(1);
        let round: Names = Vec::<Arc<str>>::from(names.clone()).into();
        assert_eq!(round.get("d"), Some(0));
        assert_eq!(round.get("b"), None);
        assert_eq!((round.len(), round.slots()), (2, 3));
    }

    #[test]
    fn oldest_waiting_call_first() {
        let mut w = Waiting::default();
        w.add(Ts(50), 1);
        w.add(Ts(10), 2);
        w.add(Ts(30), 3);
        assert_eq!(w.at(Ts(60), 100), (3, Some(Ts(10))));
        w.remove(Ts(10), 2);
        assert_eq!(w.at(Ts(60), 100), (2, Some(Ts(30))));
        // At an earlier instant, a call queued later is not waiting yet; past the maximum
        // wait a call is presumed lost.
        assert_eq!(w.at(Ts(40), 100), (1, Some(Ts(30))));
        assert_eq!(w.at(Ts(60), 20), (1, Some(Ts(50))));
        assert_eq!(w.len(), 2);
    }
}
