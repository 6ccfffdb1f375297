//! Team adherence families: adherence and conformance per window and today, agents out of
//! adherence now, shrinkage today (docs/adherence.md). Per team only; each agent's
//! adherence is on the API and the WebSocket feed.

use callpulse_core::{AdherenceView, TeamDay, TeamView, TeamWindow};
use callpulse_events::Activity;
use prometheus::proto::MetricType::*;

use super::Family;

/// Each sliding window's adherence, then the day's as `window="today"`: a team's or a
/// group's (`groups.rs`).
pub(super) fn with_today<'a>(
    windows: &'a [TeamWindow],
    day: &'a TeamDay,
) -> impl Iterator<Item = (&'a str, &'a AdherenceView)> {
    windows
        .iter()
        .map(|w| (w.window.as_str(), &w.adherence))
        .chain(std::iter::once(("today", &day.adherence_today)))
}

fn windows(team: &TeamView) -> impl Iterator<Item = (&str, &AdherenceView)> {
    with_today(&team.windows, &team.day)
}

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_team_adherence_ratio",
        help: "1 - out-of-adherence time (past the grace) / scheduled time, over the window.",
        kind: GAUGE,
        labels: &["team", "window"],
        emit: |s, o| {
            for team in &s.teams {
                for (window, a) in windows(team) {
                    o.maybe(&[("team", &team.team), ("window", window)], a.adherence);
                }
            }
        },
    },
    Family {
        name: "callpulse_team_conformance_ratio",
        help: "Time open for contacts / time scheduled open, over the window.",
        kind: GAUGE,
        labels: &["team", "window"],
        emit: |s, o| {
            for team in &s.teams {
                for (window, a) in windows(team) {
                    o.maybe(&[("team", &team.team), ("window", window)], a.conformance);
                }
            }
        },
    },
    Family {
        name: "callpulse_team_scheduled_seconds",
        help: "Scheduled paid time of the team's agents over the window.",
        kind: GAUGE,
        labels: &["team", "window"],
        emit: |s, o| {
            for team in &s.teams {
                for (window, a) in windows(team) {
                    o.put(&[("team", &team.team), ("window", window)], a.scheduled_s);
                }
            }
        },
    },
    Family {
        name: "callpulse_team_agents_out_of_adherence",
        help: "The team's agents out of adherence now, past the grace.",
        kind: GAUGE,
        labels: &["team"],
        emit: |s, o| {
            for team in &s.teams {
                o.put(
                    &[("team", &team.team)],
                    team.day.agents_out_of_adherence as f64,
                );
            }
        },
    },
    Family {
        name: "callpulse_team_shrinkage_ratio",
        help: "Share of today's scheduled time in each non-open activity: planned (by the schedule) or actual (off = absent).",
        kind: GAUGE,
        labels: &["team", "activity", "kind"],
        emit: |s, o| {
            for team in &s.teams {
                let day = &team.day.adherence_today;
                for activity in Activity::ALL {
                    if activity == Activity::Open {
                        continue;
                    }
                    let (planned, actual) = day.shrinkage(activity);
                    let name = activity.as_str();
                    // Nobody is scheduled off in paid time: that series would always be 0.
                    if activity != Activity::Off {
                        o.maybe(
                            &[
                                ("team", &team.team),
                                ("activity", name),
                                ("kind", "planned"),
                            ],
                            planned,
                        );
                    }
                    o.maybe(
                        &[("team", &team.team), ("activity", name), ("kind", "actual")],
                        actual,
                    );
                }
            }
        },
    },
];
