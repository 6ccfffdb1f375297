//! Team families: agents by state now, time in state and occupancy per window, quality
//! evaluations today. Never a per-agent label (agent detail is on the API and the WebSocket feed).

use prometheus::proto::MetricType::*;

use super::Family;

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_team_agents",
        help: "Agents per team and state, now.",
        kind: GAUGE,
        labels: &["team", "state"],
        emit: |s, o| {
            for team in &s.teams {
                for (state, n) in team.states.by_state() {
                    o.put(&[("team", &team.team), ("state", state.as_str())], n as f64);
                }
            }
        },
    },
    Family {
        name: "callpulse_team_state_seconds",
        help: "Agent time per state in the window, summed over the team's agents.",
        kind: GAUGE,
        labels: &["team", "window", "state"],
        emit: |s, o| {
            for team in &s.teams {
                for w in &team.windows {
                    let t = &w.time;
                    for (state, secs) in [
                        ("available", t.available_s),
                        ("on_call", t.on_call_s),
                        ("wrap_up", t.wrap_up_s),
                        ("aux", t.aux_s),
                        ("offline", t.offline_s),
                    ] {
                        o.put(
                            &[
                                ("team", &team.team),
                                ("window", &w.window),
                                ("state", state),
                            ],
                            secs,
                        );
                    }
                }
            }
        },
    },
    Family {
        name: "callpulse_team_occupancy_ratio",
        help: "(on_call + wrap_up) / (available + on_call + wrap_up) time in the window.",
        kind: GAUGE,
        labels: &["team", "window"],
        emit: |s, o| {
            for team in &s.teams {
                for w in &team.windows {
                    o.maybe(
                        &[("team", &team.team), ("window", &w.window)],
                        w.time.occupancy,
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_team_qa_evaluations",
        help: "Quality evaluations of the team's agents since local midnight.",
        kind: GAUGE,
        labels: &["team"],
        emit: |s, o| {
            for team in &s.teams {
                o.put(
                    &[("team", &team.team)],
                    team.day.calls_today.qa.evaluations as f64,
                );
            }
        },
    },
    Family {
        name: "callpulse_team_qa_score_ratio",
        help: "Mean quality score today, as a share of each form's maximum.",
        kind: GAUGE,
        labels: &["team"],
        emit: |s, o| {
            for team in &s.teams {
                o.maybe(&[("team", &team.team)], team.day.calls_today.qa.score);
            }
        },
    },
    Family {
        name: "callpulse_team_qa_pass_ratio",
        help: "Share of today's quality evaluations that passed (at the pass mark, no critical failure).",
        kind: GAUGE,
        labels: &["team"],
        emit: |s, o| {
            for team in &s.teams {
                o.maybe(&[("team", &team.team)], team.day.calls_today.qa.pass_rate);
            }
        },
    },
    Family {
        name: "callpulse_team_qa_critical_failure_ratio",
        help: "Share of today's quality evaluations with a critical item failed.",
        kind: GAUGE,
        labels: &["team"],
        emit: |s, o| {
            for team in &s.teams {
                o.maybe(
                    &[("team", &team.team)],
                    team.day.calls_today.qa.critical_failure_rate,
                );
            }
        },
    },
];
