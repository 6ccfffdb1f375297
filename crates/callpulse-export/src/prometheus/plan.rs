//! The staffing plan's families (docs/forecast.md): each queue's reforecast and each team's
//! and group's agents scheduled against those needed, for the current and the next
//! interval (`interval="current"|"next"`; the whole day's plan is on the API and `/ws`).

use callpulse_core::{ForecastInterval, PlanInterval};
use prometheus::proto::MetricType::*;

use super::Family;

/// The plan's first two rows, labelled.
fn current_and_next<T>(rows: &[T]) -> impl Iterator<Item = (&'static str, &T)> {
    ["current", "next"].into_iter().zip(rows)
}

fn queues(
    s: &callpulse_core::Snapshot,
) -> impl Iterator<Item = (&str, &'static str, &ForecastInterval)> {
    s.queues.iter().flat_map(|q| {
        q.forecast.iter().flat_map(move |f| {
            current_and_next(&f.intervals).map(move |(when, i)| (&*q.queue, when, i))
        })
    })
}

/// Each team's (`unit` = "team") or group's plan rows, labelled.
fn units<'a>(
    plans: impl Iterator<Item = (&'a str, &'a [PlanInterval])>,
) -> impl Iterator<Item = (&'a str, &'static str, &'a PlanInterval)> {
    plans.flat_map(|(name, plan)| current_and_next(plan).map(move |(when, p)| (name, when, p)))
}

fn teams(
    s: &callpulse_core::Snapshot,
) -> impl Iterator<Item = (&str, &'static str, &PlanInterval)> {
    units(s.teams.iter().map(|t| (&*t.team, t.plan.as_slice())))
}

fn groups(
    s: &callpulse_core::Snapshot,
) -> impl Iterator<Item = (&str, &'static str, &PlanInterval)> {
    units(
        s.center
            .groups
            .iter()
            .map(|g| (&*g.group, g.plan.as_slice())),
    )
}

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_queue_forecast_offered_calls",
        help: "Offered calls forecast for the whole interval by the intraday reforecast (the profile scaled by today so far).",
        kind: GAUGE,
        labels: &["queue", "interval"],
        emit: |s, o| {
            for (queue, when, i) in queues(s) {
                o.put(&[("queue", queue), ("interval", when)], i.offered);
            }
        },
    },
    Family {
        name: "callpulse_queue_forecast_aht_seconds",
        help: "Average handle time forecast for the interval.",
        kind: GAUGE,
        labels: &["queue", "interval"],
        emit: |s, o| {
            for (queue, when, i) in queues(s) {
                o.maybe(&[("queue", queue), ("interval", when)], i.aht_s);
            }
        },
    },
    Family {
        name: "callpulse_queue_forecast_required_agents",
        help: "Fewest agents meeting the queue's SL target on the interval's forecast: Erlang C, or Erlang A with the observed patience.",
        kind: GAUGE,
        labels: &["queue", "interval", "model"],
        emit: |s, o| {
            for (queue, when, i) in queues(s) {
                for (model, agents) in [
                    ("erlang_c", i.required_agents),
                    ("erlang_a", i.required_agents_erlang_a),
                ] {
                    o.maybe(
                        &[("queue", queue), ("interval", when), ("model", model)],
                        agents.map(f64::from),
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_queue_forecast_volume_ratio",
        help: "Today's offered calls so far over what the queue's profile expected by now (damped): the reforecast's scale.",
        kind: GAUGE,
        labels: &["queue"],
        emit: |s, o| {
            for q in &s.queues {
                if let Some(f) = &q.forecast {
                    o.put(&[("queue", &q.queue)], f.volume_ratio);
                }
            }
        },
    },
    Family {
        name: "callpulse_team_scheduled_agents",
        help: "The team's agents scheduled open in the interval, on average over it.",
        kind: GAUGE,
        labels: &["team", "interval"],
        emit: |s, o| {
            for (team, when, p) in teams(s) {
                o.put(&[("team", team), ("interval", when)], p.scheduled_agents);
            }
        },
    },
    Family {
        name: "callpulse_team_plan_gap_agents",
        help: "Agents the team's queues need in the interval (Erlang C on the reforecast) minus agents scheduled: positive means short.",
        kind: GAUGE,
        labels: &["team", "interval"],
        emit: |s, o| {
            for (team, when, p) in teams(s) {
                o.maybe(&[("team", team), ("interval", when)], p.gap_agents);
            }
        },
    },
    Family {
        name: "callpulse_group_scheduled_agents",
        help: "The group's agents scheduled open in the interval, on average over it.",
        kind: GAUGE,
        labels: &["group", "interval"],
        emit: |s, o| {
            for (group, when, p) in groups(s) {
                o.put(&[("group", group), ("interval", when)], p.scheduled_agents);
            }
        },
    },
    Family {
        name: "callpulse_group_plan_gap_agents",
        help: "Agents the group's queues need in the interval minus agents scheduled: positive means short.",
        kind: GAUGE,
        labels: &["group", "interval"],
        emit: |s, o| {
            for (group, when, p) in groups(s) {
                o.maybe(&[("group", group), ("interval", when)], p.gap_agents);
            }
        },
    },
];
