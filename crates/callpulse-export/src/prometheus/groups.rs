//! Group families: the org chart's middle level (docs/org.md), one series per configured
//! group. A group's figures are the merges its API view shows: its queues' calls, its
//! teams' agents.

use prometheus::proto::MetricType::*;

use super::Family;

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_group_agents",
        help: "Agents of the group's teams per state, now.",
        kind: GAUGE,
        labels: &["group", "state"],
        emit: |s, o| {
            for g in &s.center.groups {
                for (state, n) in g.states.by_state() {
                    o.put(&[("group", &g.group), ("state", state.as_str())], n as f64);
                }
            }
        },
    },
    Family {
        name: "callpulse_group_calls_waiting",
        help: "Calls waiting now in the group's queues.",
        kind: GAUGE,
        labels: &["group"],
        emit: |s, o| {
            for g in &s.center.groups {
                o.put(&[("group", &g.group)], g.waiting as f64);
            }
        },
    },
    Family {
        name: "callpulse_group_offered_calls",
        help: "Calls offered to the group's queues in the window.",
        kind: GAUGE,
        labels: &["group", "window"],
        emit: |s, o| {
            for g in &s.center.groups {
                for w in g.calls.iter().flatten() {
                    o.put(
                        &[("group", &g.group), ("window", &w.window)],
                        w.offered as f64,
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_group_service_level_ratio",
        help: "The group's queues' service level at their shared first threshold, in the window.",
        kind: GAUGE,
        labels: &["group", "window"],
        emit: |s, o| {
            for g in &s.center.groups {
                for w in g.calls.iter().flatten() {
                    // Absent where the queues' thresholds or formulas differ (no sum).
                    let first = w.service_level.values().next().copied().flatten();
                    o.maybe(&[("group", &g.group), ("window", &w.window)], first);
                }
            }
        },
    },
    Family {
        name: "callpulse_group_occupancy_ratio",
        help: "(on_call + wrap_up) / (available + on_call + wrap_up) time of the group's agents in the window.",
        kind: GAUGE,
        labels: &["group", "window"],
        emit: |s, o| {
            for g in &s.center.groups {
                for w in &g.windows {
                    o.maybe(
                        &[("group", &g.group), ("window", &w.window)],
                        w.time.occupancy,
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_group_adherence_ratio",
        help: "1 - out-of-adherence time / scheduled time of the group's agents, over the window and today.",
        kind: GAUGE,
        labels: &["group", "window"],
        emit: |s, o| {
            for g in &s.center.groups {
                for (window, a) in super::adherence::with_today(&g.windows, &g.day) {
                    o.maybe(&[("group", &g.group), ("window", window)], a.adherence);
                }
            }
        },
    },
    Family {
        name: "callpulse_group_csat_ratio",
        help: "Top-2-box share of today's survey answers about the group's agents.",
        kind: GAUGE,
        labels: &["group"],
        emit: |s, o| {
            for g in &s.center.groups {
                o.maybe(&[("group", &g.group)], g.day.calls_today.csat);
            }
        },
    },
    Family {
        name: "callpulse_group_qa_score_ratio",
        help: "Mean quality score today of the group's agents, as a share of each form's maximum.",
        kind: GAUGE,
        labels: &["group"],
        emit: |s, o| {
            for g in &s.center.groups {
                o.maybe(&[("group", &g.group)], g.day.calls_today.qa.score);
            }
        },
    },
];
