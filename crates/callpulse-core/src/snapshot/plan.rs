//! The staffing plan of the rest of the day (docs/forecast.md): per queue, the intraday
//! reforecast of offered calls and AHT and the agents they need; per team, group and the
//! center, the agents scheduled per interval against the agents their queues need.
//!
//! The agents scheduled come from the partitions' schedules ([`PartitionSnapshot`]'s
//! `scheduled`); the forecast from a [`ProfileSet`] scaled by each queue's `today` window.
//! Event time throughout: the snapshot's `at` is the instant the day is read at.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::Ts;
use serde::Serialize;

use super::{QueueView, Snapshot};
use crate::calendar::DayInterval;
use crate::erlang;
use crate::forecast::{ProfileSet, SoFar, WEEKDAYS, reforecast};
use crate::partition::PartitionSnapshot;
use crate::periods::PERIOD_LABELS;
use crate::policy::MetricsPolicy;

/// Per team, open-scheduled seconds per interval of the day (index from local midnight).
pub(super) type Scheduled = BTreeMap<Arc<str>, Vec<u64>>;

/// The partitions' scheduled seconds, summed per team.
pub(super) fn merge_scheduled(parts: &[Arc<PartitionSnapshot>]) -> Scheduled {
    let mut teams = Scheduled::new();
    for part in parts {
        for (team, seconds) in &part.scheduled {
            let ours = teams.entry(Arc::clone(team)).or_default();
            if ours.len() < seconds.len() {
                ours.resize(seconds.len(), 0);
            }
            for (o, s) in ours.iter_mut().zip(seconds) {
                *o += u64::from(*s);
            }
        }
    }
    teams
}

/// One interval of a queue's reforecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastInterval {
    /// The interval's start (local RFC 3339, and ms).
    pub start: String,
    pub start_ms: i64,
    /// Offered calls over the whole interval at the rate forecast now.
    pub offered: f64,
    pub aht_s: Option<f64>,
    /// Fewest agents meeting the queue's SL target at its first threshold: Erlang C, and
    /// Erlang A with the profile's observed patience (callers who give up count against
    /// the target). `null` without an AHT, or beyond any sane staff.
    pub required_agents: Option<u32>,
    pub required_agents_erlang_a: Option<u32>,
}

/// A queue's reforecast for the rest of its day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueForecast {
    /// The profile's weekday (`mon` .. `sun`) and the days it averages.
    pub weekday: &'static str,
    pub profile_days: usize,
    /// Offered today so far (`today` window), and what the profile expected of the same
    /// span: since midnight, or since `counted_from` when the engine's state begins later
    /// in the day (it started mid-day without a checkpoint of the morning).
    pub offered_so_far: u64,
    pub counted_from: Option<String>,
    pub expected_so_far: f64,
    /// The scale applied to the profile's volume and AHT (damped: 1 early in the day).
    pub volume_ratio: f64,
    pub aht_ratio: f64,
    /// The profile's mean patience (waits over abandons), seconds.
    pub patience_s: Option<f64>,
    /// The current interval, then each later one of the day (at most
    /// `metrics.plan_intervals`).
    pub intervals: Vec<ForecastInterval>,
}

/// One interval of a unit's (team, group, center) staffing plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanInterval {
    pub start: String,
    pub start_ms: i64,
    /// Agents scheduled `open`, on average over the interval (open seconds / its length).
    pub scheduled_agents: f64,
    /// The unit's queues' forecast (those with a profile): offered calls, and the agents
    /// they need, summed over the queues (each queue staffed for its own target).
    /// `null` where none of its queues has a forecast.
    pub forecast_offered: Option<f64>,
    pub required_agents: Option<u32>,
    pub required_agents_erlang_a: Option<u32>,
    /// required (Erlang C) − scheduled: positive means short of people, as
    /// `staffing.gap_agents`.
    pub gap_agents: Option<f64>,
}

impl Snapshot {
    /// Fills the staffing plan: each queue's reforecast (with `profiles`) and each team's,
    /// group's and the center's agents scheduled against those needed, from the current
    /// interval on.
    pub fn with_plan(mut self, profiles: Option<&ProfileSet>, policy: &MetricsPolicy) -> Snapshot {
        let interval_secs = policy.interval_mins * 60;
        let calendar = policy.calendar();
        let at = Ts(self.at_ms);
        let grid_today = calendar.day_intervals(at, interval_secs);
        let grid: Vec<DayInterval> = grid_today
            .iter()
            .filter(|g| g.end > at.millis())
            .take(policy.plan_intervals as usize)
            .copied()
            .collect();
        let Some(now) = grid.first() else {
            return self;
        };
        let (weekday, _) = calendar.weekday_minute(at);
        // How far into the day, in intervals by the local clock.
        let position = now.slot as f64
            + (at.millis() - now.start) as f64 / (f64::from(interval_secs) * 1000.0);
        let today = self.windows.iter().position(|w| w == PERIOD_LABELS[1]);
        // Where today's figures begin, in intervals from midnight.
        let from = match (self.history_from, grid_today.first()) {
            (Some(first), Some(midnight)) if first.millis() > midnight.start => {
                let i = grid_today.partition_point(|g| g.end <= first.millis());
                grid_today.get(i).map_or(0.0, |g| {
                    g.slot as f64
                        + (first.millis() - g.start) as f64 / (f64::from(interval_secs) * 1000.0)
                })
            }
            _ => 0.0,
        };
        // Each interval's start as readers see it, converted once for every row.
        let starts: Vec<String> = grid.iter().map(|g| calendar.rfc3339(Ts(g.start))).collect();
        // Without profiles (or a `today` window), no queue has a forecast.
        if let (Some(profiles), Some(today)) = (profiles, today) {
            for queue in &mut self.queues {
                let Some(profile) = profiles.profile(&queue.queue, weekday) else {
                    continue;
                };
                let Some(day) = queue.windows.get(today) else {
                    continue;
                };
                let so_far = SoFar {
                    at: position,
                    from,
                    offered: day.offered as f64,
                    handled: day.completed as f64,
                    handle_s: day.handle_sum_s,
                };
                let rf = reforecast(profile, &so_far, &profiles.method);
                let threshold_s =
                    f64::from(queue.sl_thresholds_secs.first().copied().unwrap_or(20));
                let target = queue.sl_target.clamp(0.0, 0.999);
                let intervals = grid
                    .iter()
                    .zip(&starts)
                    .filter_map(|(g, start)| {
                        let j = g.slot.checked_sub(rf.from)?;
                        let offered = *rf.offered.get(j)?;
                        let aht_s = rf.aht_s.get(j).copied().flatten();
                        let rate = offered / f64::from(interval_secs);
                        let erlang_c = aht_s.and_then(|aht| {
                            erlang::required_agents(rate, aht, threshold_s, target)
                        });
                        Some(ForecastInterval {
                            start: start.clone(),
                            start_ms: g.start,
                            offered,
                            aht_s,
                            required_agents: erlang_c,
                            required_agents_erlang_a: aht_s.zip(profile.patience_s).and_then(
                                |(aht, patience)| {
                                    erlang::required_agents_erlang_a_near(
                                        rate,
                                        aht,
                                        patience,
                                        threshold_s,
                                        target,
                                        erlang_c,
                                    )
                                },
                            ),
                        })
                    })
                    .collect();
                queue.forecast = Some(QueueForecast {
                    weekday: WEEKDAYS[usize::from(weekday)],
                    profile_days: profile.days,
                    offered_so_far: day.offered,
                    counted_from: (from > 0.0)
                        .then(|| self.history_from.map(|t| calendar.rfc3339(t)))
                        .flatten(),
                    expected_so_far: profile.expected_by(position).0 - profile.expected_by(from).0,
                    volume_ratio: rf.volume_ratio,
                    aht_ratio: rf.aht_ratio,
                    patience_s: profile.patience_s,
                    intervals,
                });
            }
        }
        let scheduled = std::mem::take(&mut self.scheduled);
        let plan = Planner {
            grid: &grid,
            starts: &starts,
            interval_secs,
        };
        // Who owns what, looked up once per queue and team, not once per unit.
        let mut by_team: BTreeMap<&str, Vec<&QueueView>> = BTreeMap::new();
        let mut by_group: BTreeMap<&str, Vec<&QueueView>> = BTreeMap::new();
        for queue in &self.queues {
            if let Some(team) = queue.team.as_deref() {
                by_team.entry(team).or_default().push(queue);
            }
            if let Some(group) = policy.group_of_queue(&queue.queue) {
                by_group.entry(group).or_default().push(queue);
            }
        }
        let mut group_scheduled: BTreeMap<&str, Vec<&Vec<u64>>> = BTreeMap::new();
        for (team, seconds) in &scheduled {
            if let Some(group) = policy.group_of_team(team) {
                group_scheduled.entry(group).or_default().push(seconds);
            }
        }
        let none = Vec::new();
        for team in &mut self.teams {
            team.plan = plan.unit(
                scheduled.get(&team.team).into_iter(),
                by_team.get(&*team.team).unwrap_or(&none),
            );
        }
        for group in &mut self.center.groups {
            let name = &*group.group;
            group.plan = plan.unit(
                group_scheduled.get(name).into_iter().flatten().copied(),
                by_group.get(name).unwrap_or(&none),
            );
        }
        let all: Vec<&QueueView> = self.queues.iter().collect();
        self.center.plan = plan.unit(scheduled.values(), &all);
        self
    }
}

/// Sums units' schedules and forecasts over the plan's intervals.
struct Planner<'a> {
    grid: &'a [DayInterval],
    /// Each interval's start, RFC 3339 in the center's zone.
    starts: &'a [String],
    interval_secs: u32,
}

impl Planner<'_> {
    /// The plan of a unit with these teams' schedules and these queues; empty when it has
    /// neither a schedule nor a forecast.
    fn unit<'s>(
        &self,
        scheduled: impl Iterator<Item = &'s Vec<u64>>,
        queues: &[&QueueView],
    ) -> Vec<PlanInterval> {
        let mut seconds = vec![0u64; self.grid.len()];
        let mut any_schedule = false;
        for team in scheduled {
            any_schedule = true;
            for (s, g) in seconds.iter_mut().zip(self.grid) {
                *s += team.get(g.slot).copied().unwrap_or(0);
            }
        }
        // Per interval: offered, required (C), required (A); `None` until a queue has one.
        let mut forecast: Vec<(Option<f64>, Option<u32>, Option<u32>)> =
            vec![(None, None, None); self.grid.len()];
        for queue in queues {
            let Some(f) = &queue.forecast else { continue };
            for (acc, g) in forecast.iter_mut().zip(self.grid) {
                let Some(i) = f.intervals.iter().find(|i| i.start_ms == g.start) else {
                    continue;
                };
                acc.0 = Some(acc.0.unwrap_or(0.0) + i.offered);
                acc.1 = add(acc.1, i.required_agents);
                acc.2 = add(acc.2, i.required_agents_erlang_a);
            }
        }
        if !any_schedule && forecast.iter().all(|f| f.0.is_none()) {
            return Vec::new();
        }
        self.grid
            .iter()
            .zip(self.starts)
            .zip(seconds)
            .zip(forecast)
            .map(|(((g, start), open_s), (offered, required, required_a))| {
                let scheduled_agents = open_s as f64 / f64::from(self.interval_secs);
                PlanInterval {
                    start: start.clone(),
                    start_ms: g.start,
                    scheduled_agents,
                    forecast_offered: offered,
                    required_agents: required,
                    required_agents_erlang_a: required_a,
                    gap_agents: required.map(|r| f64::from(r) - scheduled_agents),
                }
            })
            .collect()
    }
}

/// A sum of requirements: known once any part is.
fn add(acc: Option<u32>, part: Option<u32>) -> Option<u32> {
    match (acc, part) {
        (Some(a), Some(p)) => Some(a.saturating_add(p)),
        (a, p) => a.or(p),
    }
}
