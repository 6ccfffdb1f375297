//! The org chart's rollups: each group of `[metrics.groups]`, and the whole center's agents,
//! by the merges a team's figures are made with (docs/org.md): the calls of the unit's
//! queues, its agents' time in state and against their schedules over each window, and
//! its agents' day (calls, AHT parts, CSAT, NPS, QA, occupancy, adherence).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use callpulse_events::Ts;

use super::derive::rollup;
use super::figures::secs;
use super::views::{AgentCounts, GroupView, TeamDay, TeamDayAcc, TeamWindow};
use crate::adherence::AdherenceView;
use crate::calls::CallAgg;
use crate::live::{AgentCalls, AgentView, TeamStates};
use crate::occupancy::{AgentTime, StateTimeView};
use crate::policy::MetricsPolicy;
use crate::window::Merge;

/// One queue as the rollups read it: its windows, calls waiting now, and when the
/// longest-waiting call was queued.
pub(super) type QueueNow<'a> = (&'a Arc<str>, &'a [CallAgg], u64, Option<Ts>);

/// What the rollups read, borrowed from the snapshot being built.
pub(super) struct Org<'a> {
    pub(super) policy: &'a MetricsPolicy,
    pub(super) at: Ts,
    /// Every window label (sliding, then `interval` and `today`).
    pub(super) labels: &'a [String],
    pub(super) queues: Vec<QueueNow<'a>>,
    pub(super) teams: &'a BTreeMap<Arc<str>, TeamStates>,
    pub(super) team_time: &'a BTreeMap<Arc<str>, Vec<AgentTime>>,
    pub(super) agents: &'a [AgentView],
    pub(super) agent_calls: &'a BTreeMap<Arc<str>, AgentCalls>,
}

impl<'a> Org<'a> {
    /// Every agent's day merged: the center level of the org chart.
    pub(super) fn center_day(&self) -> TeamDay {
        let mut acc = TeamDayAcc::default();
        for agent in self.agents {
            self.join(&mut acc, agent);
        }
        acc.day()
    }

    /// Adds `agent` and its calls to a unit's day.
    fn join(&self, acc: &mut TeamDayAcc<'a>, agent: &'a AgentView) {
        acc.members.push(agent);
        if let Some(calls) = self.agent_calls.get(&agent.agent_id) {
            acc.calls.merge(calls);
        }
    }

    /// Each configured group, in name order. Who owns what is looked up once per queue,
    /// team and agent, not once per group.
    pub(super) fn groups(&self) -> Vec<GroupView> {
        let policy = self.policy;
        let team_group: HashMap<&str, &str> = policy
            .groups
            .iter()
            .flat_map(|(group, g)| g.teams.iter().map(move |t| (t.as_str(), group.as_str())))
            .collect();
        let queue_group: HashMap<&str, &str> = self
            .queues
            .iter()
            .filter_map(|(queue, ..)| Some((&***queue, policy.group_of_queue(queue)?)))
            .collect();
        let mut calls = rollup(
            self.queues
                .iter()
                .map(|(name, windows, ..)| (*name, *windows)),
            policy,
            self.labels,
            |queue| queue_group.get(queue).copied(),
        );
        let mut days: HashMap<&str, TeamDayAcc> = HashMap::new();
        for agent in self.agents {
            if let Some(group) = team_group.get(&*agent.team) {
                self.join(days.entry(group).or_default(), agent);
            }
        }
        policy
            .groups
            .iter()
            .map(|(name, group)| {
                let queues: Vec<_> = self
                    .queues
                    .iter()
                    .filter(|(queue, ..)| queue_group.get(&***queue) == Some(&name.as_str()))
                    .collect();
                let mut states = TeamStates::default();
                let mut time: Vec<AgentTime> = Vec::new();
                for team in group.teams.iter().map(String::as_str) {
                    if let Some(s) = self.teams.get(team) {
                        for (o, t) in states.iter_mut().zip(s) {
                            *o += t;
                        }
                    }
                    if let Some(windows) = self.team_time.get(team) {
                        time.resize_with(time.len().max(windows.len()), AgentTime::default);
                        for (o, t) in time.iter_mut().zip(windows) {
                            o.merge(t);
                        }
                    }
                }
                let oldest = queues.iter().filter_map(|(.., oldest)| *oldest).min();
                GroupView {
                    group: Arc::from(name.as_str()),
                    teams: group.teams.iter().map(|t| Arc::from(t.as_str())).collect(),
                    queues: queues.iter().map(|(queue, ..)| Arc::clone(queue)).collect(),
                    waiting: queues.iter().map(|(_, _, waiting, _)| waiting).sum(),
                    longest_wait_s: oldest.map_or(0.0, |oldest| {
                        secs(self.at.millis_since(oldest).max(0) as u64)
                    }),
                    states: AgentCounts::from(&states),
                    windows: self
                        .labels
                        .iter()
                        .zip(&time)
                        .map(|(label, t)| TeamWindow {
                            window: label.clone(),
                            time: StateTimeView::from(&t.states),
                            adherence: AdherenceView::from(&t.adherence),
                        })
                        .collect(),
                    calls: calls.remove(name.as_str()),
                    day: days.remove(name.as_str()).unwrap_or_default().day(),
                    plan: Vec::new(),
                }
            })
            .collect()
    }
}
