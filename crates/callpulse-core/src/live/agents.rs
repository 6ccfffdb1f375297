//! The agents whose events a partition owns: each one's current state and team, their
//! time in state per day, and per team the time in state over the windows.

use std::sync::Arc;

use callpulse_events::{Activity, AgentSchedule, AgentState, Ts};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{AgentView, Names};
use crate::adherence::{self, AdherenceNow, AdherenceView, Episode, Schedule};
use crate::calendar::{Calendar, PeriodCache};
use crate::occupancy::{AgentTime, StateTimeView, spread};
use crate::window::BucketRing;

/// Agents per state for one team, indexed by [`AgentState::index`].
pub type TeamStates = [u64; AgentState::ALL.len()];

#[derive(Debug, Serialize, Deserialize)]
struct AgentRec {
    team: u32,
    state: AgentState,
    /// What the state (and its aux reason) is, as adherence counts it.
    activity: Activity,
    since: Ts,
    /// Where the agent's current stretch out of adherence began.
    episode: Episode,
    /// The finished spans of the two newest local days the agent's spans reached, by day
    /// start: a span crossing midnight is split between them, and an event stamped
    /// tomorrow by a fast clock leaves today's figures in place.
    days: [(Ts, AgentTime); 2],
}

impl AgentRec {
    /// Books into the day `[day, day_end)` with `add(times, day, day_end)` (dropped if older
    /// than both days kept).
    fn book(&mut self, day: Ts, day_end: Ts, add: impl FnOnce(&mut AgentTime, i64, i64)) {
        let slot = if self.days[0].0 == day {
            0
        } else if self.days[1].0 == day {
            1
        } else if day > self.days[1].0 {
            self.days[0] = self.days[1];
            self.days[1] = (day, AgentTime::default());
            1
        } else if day > self.days[0].0 {
            self.days[0] = (day, AgentTime::default());
            0
        } else {
            return;
        };
        add(&mut self.days[slot].1, day.millis(), day_end.millis());
    }

    /// The finished spans of the day starting at `day`.
    fn day(&self, day: Ts) -> AgentTime {
        self.days
            .iter()
            .find(|(start, _)| *start == day)
            .map_or_else(AgentTime::default, |(_, times)| *times)
    }
}

/// The agents whose events this partition owns, and their teams' time in state.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Agents {
    agents: FxHashMap<Arc<str>, AgentRec>,
    teams: Names,
    /// Per team id: finished state spans per event-time bucket.
    team_time: Vec<BucketRing<AgentTime>>,
    /// Per agent id, its schedule (agents not seen yet included: a schedule usually comes
    /// before the shift), bounded by `max_agents`.
    schedules: FxHashMap<Arc<str>, Schedule>,
    /// Per team id: the partition's event time when an event last named the team, and the
    /// agents in it now. At `max_teams`, unconfigured teams idle for `name_idle` make room
    /// for a new team.
    team_seen: Vec<Ts>,
    members: Vec<u32>,
    width_ms: i64,
    capacity: usize,
    days: PeriodCache,
    calendar: Calendar,
    /// Agents forgotten to make room at `max_agents` (a counter).
    pub(crate) evicted: u64,
    /// Idle teams evicted to make room at `max_teams` (a counter).
    pub(crate) teams_evicted: u64,
}

/// The caps an agent event is applied under, and the partition's clock for idle teams.
pub(crate) struct AgentLimits {
    pub(crate) max_teams: usize,
    pub(crate) max_agents: usize,
    pub(crate) name_idle_ms: i64,
    /// The partition's event time with this event applied.
    pub(crate) clock: Ts,
    /// `[metrics.adherence].grace_secs`, in ms.
    pub(crate) grace_ms: i64,
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
            schedules: FxHashMap::default(),
            team_seen: Vec::new(),
            members: Vec::new(),
            width_ms,
            capacity,
            days: PeriodCache::days(calendar),
            calendar,
            evicted: 0,
            teams_evicted: 0,
        }
    }

    /// Forgets agents offline since before `before` (event time): a logged-off agent stays
    /// listed (and counted offline) for a while, not for ever. Schedule segments that ended
    /// before it go too.
    pub(crate) fn expire_offline(&mut self, before: Ts) {
        self.schedules.retain(|_, schedule| schedule.prune(before));
        let members = &mut self.members;
        self.agents.retain(|_, rec| {
            let keep = rec.state != AgentState::Offline || rec.since >= before;
            if !keep {
                members[rec.team as usize] -= 1;
            }
            keep
        });
    }

    /// Full: the agents whose state changed longest ago (event time; ties by id, so a
    /// restored partition picks the same ones) make room, a hundredth of the cap at a time.
    /// One pass over the agents per batch: a flood of new ids costs a scan per hundred of
    /// them, not one each.
    fn make_room(&mut self, max_agents: usize) {
        let batch = (max_agents / 100).max(1).min(self.agents.len());
        if batch == 0 {
            return;
        }
        let mut by_age: Vec<(Ts, &Arc<str>)> = self
            .agents
            .iter()
            .map(|(id, rec)| (rec.since, id))
            .collect();
        by_age.select_nth_unstable(batch - 1);
        let oldest: Vec<Arc<str>> = by_age[..batch]
            .iter()
            .map(|(_, id)| Arc::clone(id))
            .collect();
        for id in oldest {
            if let Some(rec) = self.agents.remove(&id) {
                self.members[rec.team as usize] -= 1;
            }
            self.evicted += 1;
        }
    }

    /// The id of `team`, admitting it if there is room, or if idle teams can make room.
    fn team_id(
        &mut self,
        team: &str,
        limits: &AgentLimits,
        configured: impl Fn(&str) -> bool,
    ) -> Option<u32> {
        let id = match self.teams.id(team, limits.max_teams, || configured(team)) {
            Some(id) => id,
            // The new team takes an evicted one's place.
            None if self.evict_idle_teams(limits, &configured) => {
                self.teams.id(team, limits.max_teams, || true)?
            }
            None => return None,
        };
        let slot = id as usize;
        if self.team_time.len() <= slot {
            self.team_time
                .resize_with(slot + 1, || BucketRing::new(self.width_ms, self.capacity));
            self.team_seen.resize(slot + 1, Ts(i64::MIN));
            self.members.resize(slot + 1, 0);
        }
        self.team_seen[slot] = self.team_seen[slot].max(limits.clock);
        Some(id)
    }

    /// Evicts every unconfigured team no event has named for `limits.name_idle_ms`, with
    /// the agents still in it (counted as evicted agents; an agent's next event brings it
    /// back); whether there was one. All at once: agents are found by one pass over them,
    /// which a flood of new team names then does not repeat per name.
    fn evict_idle_teams(
        &mut self,
        limits: &AgentLimits,
        configured: impl Fn(&str) -> bool,
    ) -> bool {
        let idle_before = limits.clock.plus_millis(-limits.name_idle_ms);
        let victims: Vec<u32> = (0..self.teams.slots() as u32)
            .filter(|id| {
                let name = self.teams.name(*id);
                !name.is_empty() && self.team_seen[*id as usize] < idle_before && !configured(name)
            })
            .collect();
        if victims.is_empty() {
            return false;
        }
        if victims.iter().any(|id| self.members[*id as usize] > 0) {
            let mut gone = vec![false; self.teams.slots()];
            for id in &victims {
                gone[*id as usize] = true;
            }
            let (members, evicted) = (&mut self.members, &mut self.evicted);
            self.agents.retain(|_, rec| {
                let keep = !gone[rec.team as usize];
                if !keep {
                    members[rec.team as usize] -= 1;
                    *evicted += 1;
                }
                keep
            });
        }
        for id in victims {
            self.teams.remove(id);
            self.team_time[id as usize] = BucketRing::new(self.width_ms, self.capacity);
            self.team_seen[id as usize] = Ts(i64::MIN);
            self.teams_evicted += 1;
        }
        true
    }

    /// Agents in `state` now, over all teams.
    pub(crate) fn count_in(&self, state: AgentState) -> u64 {
        self.agents.values().filter(|a| a.state == state).count() as u64
    }

    /// Takes an agent's schedule for its span (replacing what the span held); at
    /// `max_agents` schedules a new agent's is refused. A team it names is admitted as an
    /// agent state's would be (under `max_teams`), so it is listed before anyone logs in.
    pub(crate) fn schedule(
        &mut self,
        e: &AgentSchedule,
        limits: &AgentLimits,
        configured: impl Fn(&str) -> bool,
    ) -> AgentUpdate {
        let known = self.schedules.contains_key(e.agent_id.as_str());
        if !known && self.schedules.len() >= limits.max_agents {
            return AgentUpdate::TooManyAgents;
        }
        let team = match e.team.as_deref() {
            Some(team) => match self.team_id(team, limits, configured) {
                Some(id) => Some(Arc::clone(self.teams.name(id))),
                None => return AgentUpdate::TooManyTeams,
            },
            None => None,
        };
        let schedule = self
            .schedules
            .entry(Arc::from(e.agent_id.as_str()))
            .or_default();
        schedule.replace(e.start, e.end, &e.segments);
        if team.is_some() {
            schedule.team = team;
        }
        AgentUpdate::Applied
    }

    /// Per team, the seconds its agents are scheduled `open` in each `interval_secs`
    /// interval of the local day holding `now`, by the interval's index from midnight (the
    /// staffing plan's "scheduled"). A schedule's team is the one it names, else its
    /// agent's team now; a schedule of neither is in no team yet. Teams with none left out.
    pub(crate) fn scheduled(&self, now: Ts, interval_secs: u32) -> Vec<(Arc<str>, Vec<u32>)> {
        let grid = self.calendar.day_intervals(now, interval_secs);
        let (Some(first), Some(last)) = (grid.first(), grid.last()) else {
            return Vec::new();
        };
        let (day_start, day_end) = (first.start, last.end);
        let slots = (86_400 / interval_secs) as usize;
        let mut by_team: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        for (agent_id, schedule) in &self.schedules {
            let team = match &schedule.team {
                Some(team) => &**team,
                None => match self.agents.get(agent_id) {
                    Some(rec) => &**self.teams.name(rec.team),
                    None => continue,
                },
            };
            let mut open = schedule.open_within(day_start, day_end).peekable();
            if open.peek().is_none() {
                continue;
            }
            let seconds = by_team.entry(team).or_insert_with(|| vec![0; slots]);
            for (from, to) in open {
                let i = grid.partition_point(|g| g.end <= from);
                for g in &grid[i..] {
                    if g.start >= to {
                        break;
                    }
                    let overlap = to.min(g.end) - from.max(g.start);
                    if let Some(s) = seconds.get_mut(g.slot) {
                        *s += (overlap / 1000) as u32;
                    }
                }
            }
        }
        let mut teams: Vec<(Arc<str>, Vec<u32>)> = by_team
            .into_iter()
            .map(|(team, seconds)| (Arc::from(team), seconds))
            .collect();
        teams.sort_by(|a, b| a.0.cmp(&b.0));
        teams
    }

    pub(crate) fn apply(
        &mut self,
        agent_id: &str,
        team: &str,
        (state, activity): (AgentState, Activity),
        at: Ts,
        limits: &AgentLimits,
        configured_team: impl Fn(&str) -> bool,
    ) -> AgentUpdate {
        let max_agents = limits.max_agents;
        let Some(team) = self.team_id(team, limits, configured_team) else {
            return AgentUpdate::TooManyTeams;
        };
        if let Some(rec) = self.agents.get_mut(agent_id) {
            if at < rec.since {
                return AgentUpdate::Stale;
            }
            // Book the span the previous state lasted, in its team's ring and the agent's day:
            // its time in state, and its pieces against the schedule.
            let (was, since, doing) = (rec.state, rec.since, rec.activity);
            let day = self.days.start_of(at);
            let (_, day_end) = self.days.bounds();
            // A span that began on an earlier day books that day's part to it.
            let before =
                (since < day).then(|| self.calendar.period_start(day.plus_millis(-1), 24 * 3600));
            let (width, capacity) = (self.width_ms, self.capacity);
            let mut ring = self.team_time.get_mut(rec.team as usize);
            if let Some(ring) = ring.as_deref_mut() {
                spread(ring, width, capacity, (since, at), |slot, start, end| {
                    slot.states.add_overlap(was, since, at, start, end);
                });
            }
            let book_days = |rec: &mut AgentRec, add: &dyn Fn(&mut AgentTime, i64, i64)| {
                if let Some(before) = before {
                    rec.book(before, day, add);
                }
                rec.book(day, day_end, add);
            };
            book_days(rec, &|t, start, end| {
                t.states.add_overlap(was, since, at, start, end);
            });
            let mut episode = rec.episode;
            adherence::pieces(
                self.schedules.get(agent_id),
                doing,
                (since, at),
                &mut episode,
                limits.grace_ms,
                |piece| {
                    if let Some(ring) = ring.as_deref_mut() {
                        let span = (Ts(piece.from), Ts(piece.to));
                        spread(ring, width, capacity, span, |slot, start, end| {
                            slot.adherence.add(&piece, start, end);
                        });
                    }
                    book_days(rec, &|t, start, end| t.adherence.add(&piece, start, end));
                },
            );
            rec.episode = episode;
            rec.activity = activity;
            self.members[rec.team as usize] -= 1;
            self.members[team as usize] += 1;
            rec.team = team;
            rec.state = state;
            rec.since = at;
            return AgentUpdate::Applied;
        }
        if max_agents == 0 {
            return AgentUpdate::TooManyAgents;
        }
        if self.agents.len() >= max_agents {
            self.make_room(max_agents);
        }
        self.members[team as usize] += 1;
        self.agents.insert(
            Arc::from(agent_id),
            AgentRec {
                team,
                state,
                activity,
                since: at,
                episode: None,
                days: [(Ts(i64::MIN), AgentTime::default()); 2],
            },
        );
        AgentUpdate::Applied
    }

    /// Per-team state counts (every interned team, even with no agents left in a state), the
    /// per-agent list sorted by agent id, and per team its time in state over each window
    /// (`window_lens` buckets each, in that order) at `now`, running states included.
    pub(crate) fn view(&mut self, now: Ts, window_lens: &[usize], grace_ms: i64) -> AgentsView {
        let mut teams: Vec<(Arc<str>, TeamStates)> = (0..self.teams.slots() as u32)
            .map(|id| (Arc::clone(self.teams.name(id)), TeamStates::default()))
            .collect();
        let mut time: Vec<Vec<AgentTime>> = self
            .team_time
            .iter()
            .map(|ring| ring.windows(now.millis(), window_lens))
            .collect();
        let now_bucket = now.millis().div_euclid(self.width_ms);
        let day = self.days.start_of(now);
        let mut agents = Vec::with_capacity(self.agents.len());
        for (agent_id, rec) in &self.agents {
            teams[rec.team as usize].1[rec.state.index()] += 1;
            let width = self.width_ms;
            let starts = |len: usize| (now_bucket - len as i64 + 1) * width;
            let mut windows = time.get_mut(rec.team as usize);
            if let Some(windows) = windows.as_deref_mut() {
                for (window, len) in windows.iter_mut().zip(window_lens) {
                    let start = starts(*len);
                    window
                        .states
                        .add_overlap(rec.state, rec.since, now, start, now.millis());
                }
            }
            let mut today = rec.day(day);
            today
                .states
                .add_overlap(rec.state, rec.since, now, day.millis(), now.millis());
            // The running span against the schedule, without moving the agent's episode.
            let schedule = self.schedules.get(agent_id);
            let mut episode = rec.episode;
            adherence::pieces(
                schedule,
                rec.activity,
                (rec.since, now),
                &mut episode,
                grace_ms,
                |piece| {
                    if let Some(windows) = windows.as_deref_mut() {
                        for (window, len) in windows.iter_mut().zip(window_lens) {
                            window.adherence.add(&piece, starts(*len), now.millis());
                        }
                    }
                    today.adherence.add(&piece, day.millis(), now.millis());
                },
            );
            agents.push(AgentView {
                agent_id: Arc::clone(agent_id),
                team: Arc::clone(self.teams.name(rec.team)),
                state: rec.state,
                since_ms: rec.since.millis(),
                today: StateTimeView::from(&today.states),
                calls_today: None,
                adherence: schedule
                    .map(|s| Box::new(AdherenceNow::at(s, rec.activity, episode, now, grace_ms))),
                adherence_today: schedule.map(|_| Box::new(AdherenceView::from(&today.adherence))),
            });
        }
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        // Free ids (evicted teams) are left out.
        teams.retain(|(name, _)| !name.is_empty());
        let team_time = (0..self.teams.slots() as u32)
            .filter(|id| !self.teams.name(*id).is_empty())
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
    pub(crate) team_time: Vec<(Arc<str>, Vec<AgentTime>)>,
}

#[cfg(test)]
mod tests;
