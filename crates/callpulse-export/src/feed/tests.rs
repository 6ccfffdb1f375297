//! A client that applies v2 frames holds exactly what a fresh snapshot of its subscription
//! shows, however many ticks it skips; frames are shared; alert events are not lost.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_core::{Check, Level, MetricsPolicy, QueueStatus, Retired, Snapshot, Ts};
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::prometheus::applied;

/// A snapshot with one queue `q`, one team `t` and one agent `a` to copy from.
fn template() -> Snapshot {
    let policy = Arc::new(MetricsPolicy::default());
    let now = Ts(1_764_158_400_000);
    let lines = [
        r#"{"type":"call_queued","event_id":"1","ts":"2025-11-26T11:50:00Z","call_id":"c1","queue":"q"}"#,
        r#"{"type":"agent_state","event_id":"2","ts":"2025-11-26T11:40:00Z","agent_id":"a","team":"t","state":"available"}"#,
    ];
    let mut part = applied(&policy, lines, now);
    Snapshot::build(
        1,
        now,
        &[Arc::new(part.snapshot(now))],
        &Retired::default(),
        &policy,
    )
}

/// One tick of the world: queue name -> waiting calls, team name -> agents available,
/// agent id -> team index.
#[derive(Debug, Clone)]
struct World {
    queues: BTreeMap<u8, u64>,
    teams: BTreeMap<u8, u64>,
    agents: BTreeMap<u8, u8>,
    center: u64,
}

fn level_of(waiting: u64) -> Level {
    match waiting {
        0 => Level::Ok,
        1 => Level::AtRisk,
        _ => Level::Breach,
    }
}

fn snapshot_of(template: &Snapshot, seq: u64, world: &World) -> Snapshot {
    let mut s = template.clone();
    s.seq = seq;
    s.center.waiting = world.center;
    let q = &template.queues[0];
    s.queues = world
        .queues
        .iter()
        .map(|(name, waiting)| {
            let mut q = q.clone();
            q.queue = Arc::from(format!("q{name}"));
            q.waiting = *waiting;
            q.status = QueueStatus {
                level: level_of(*waiting),
                window: "15m".into(),
                checks: vec![Check {
                    check: "longest_wait",
                    level: level_of(*waiting),
                    value: Some(*waiting as f64),
                    at_risk: 1.0,
                    breach: 2.0,
                    sample: *waiting,
                }],
            };
            q
        })
        .collect();
    let t = &template.teams[0];
    s.teams = world
        .teams
        .iter()
        .map(|(name, available)| {
            let mut t = t.clone();
            t.team = Arc::from(format!("t{name}"));
            t.states.available = *available;
            t
        })
        .collect();
    let a = &template.agents[0];
    s.agents = world
        .agents
        .iter()
        .map(|(id, team)| {
            let mut a = a.clone();
            a.agent_id = Arc::from(format!("a{id}"));
            a.team = Arc::from(format!("t{team}"));
            a
        })
        .collect();
    s
}

/// What a client holds: each section's entries, by name (`center`/`engine` under "").
#[derive(Debug, Default, PartialEq)]
struct Held(BTreeMap<String, BTreeMap<String, Value>>);

impl Held {
    fn apply(&mut self, frame: &str) {
        let frame: Value = serde_json::from_str(frame).expect("frame is JSON");
        let object = frame.as_object().expect("object");
        if object["type"] == "snapshot" {
            self.0.clear();
        } else {
            assert_eq!(object["type"], "update");
            for (section, names) in object["removed"].as_object().expect("removed") {
                let held = self.0.entry(section.clone()).or_default();
                for name in names.as_array().expect("names") {
                    held.remove(name.as_str().expect("name"));
                }
            }
        }
        for section in ["center", "engine"] {
            if let Some(value) = object.get(section) {
                self.0
                    .entry(section.to_owned())
                    .or_default()
                    .insert(String::new(), value.clone());
            }
        }
        for section in ["queues", "teams", "agents"] {
            if let Some(entries) = object.get(section) {
                let held = self.0.entry(section.to_owned()).or_default();
                for (name, value) in entries.as_object().expect("entries") {
                    held.insert(name.clone(), value.clone());
                }
            }
        }
    }
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::btree_map(0u8..6, 0u64..3, 0..5),
        prop::collection::btree_map(0u8..4, 0u64..2, 0..4),
        prop::collection::btree_map(0u8..8, 0u8..4, 0..6),
        0u64..2,
    )
        .prop_map(|(queues, teams, agents, center)| World {
            queues,
            teams,
            agents,
            center,
        })
}

fn linked(template: &Snapshot, worlds: &[World]) -> Vec<Parts> {
    let mut out: Vec<Parts> = Vec::new();
    for (i, world) in worlds.iter().enumerate() {
        let snapshot = snapshot_of(template, i as u64 + 1, world);
        let (mut parts, whole) = Parts::cut(&snapshot);
        // The assembled JSON is serde's, byte for byte.
        assert_eq!(
            whole,
            serde_json::to_string(&snapshot).expect("json"),
            "tick {}",
            i + 1
        );
        if let Some(prev) = out.last() {
            parts.follow(prev, &snapshot);
        }
        out.push(parts);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Clients reading every tick, skipping ticks at random, and filtering, each hold what a
    /// snapshot of their subscription shows at every tick they read.
    #[test]
    fn deltas_rebuild_the_snapshot(
        worlds in prop::collection::vec(world(), 1..12),
        reads in prop::collection::vec(any::<bool>(), 12),
    ) {
        let template = template();
        let ticks = linked(&template, &worlds);
        let everything = Subscription::parse(
            Some(vec!["center".into(), "engine".into(), "queues".into(), "teams".into(), "agents".into()]),
            None,
            None,
        ).expect("subscription");
        let some = Subscription::parse(
            Some(vec!["queues".into(), "agents".into()]),
            Some(vec!["q1".into(), "q2".into()]),
            Some(vec!["t0".into()]),
        ).expect("subscription");
        for subscription in [&everything, &some] {
            for skipping in [false, true] {
                let mut held = Held::default();
                let mut base = None;
                for (i, tick) in ticks.iter().enumerate() {
                    if skipping && !reads[i] && i + 1 < ticks.len() {
                        continue;
                    }
                    held.apply(tick.frame(subscription, base).as_str());
                    base = Some(tick.seq());
                    let mut fresh = Held::default();
                    fresh.apply(tick.frame(subscription, None).as_str());
                    // Sections left empty by a delta are empty maps either way.
                    held.0.retain(|_, v| !v.is_empty());
                    fresh.0.retain(|_, v| !v.is_empty());
                    prop_assert_eq!(&held, &fresh, "tick {}", tick.seq());
                }
            }
        }
    }
}

#[test]
fn equal_subscriptions_share_one_frame_and_unchanged_parts_are_left_out() {
    let template = template();
    let world = World {
        queues: BTreeMap::from([(0, 0), (1, 0)]),
        teams: BTreeMap::from([(0, 1)]),
        agents: BTreeMap::new(),
        center: 0,
    };
    let mut changed = world.clone();
    changed.queues.insert(1, 1);
    let ticks = linked(&template, &[world.clone(), changed]);
    let subscription = Subscription::default();
    let a = ticks[1].frame(&subscription, Some(1));
    let b = ticks[1].frame(&Subscription::default(), Some(1));
    // The same bytes, not merely equal text: one allocation serves both clients.
    assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
    let frame: Value = serde_json::from_str(a.as_str()).expect("json");
    let queues = frame["queues"].as_object().expect("queues");
    assert_eq!(queues.keys().collect::<Vec<_>>(), ["q1"], "only q1 changed");
    assert!(frame.get("center").is_none(), "the center did not change");
    assert_eq!(frame["teams"], serde_json::json!({}));
    assert_eq!(frame["base"], 1);
    // A base older than the history gets a snapshot.
    let old = linked(&template, &vec![world; HISTORY as usize + 3]);
    let last = old.last().expect("ticks");
    let frame: Value =
        serde_json::from_str(last.frame(&subscription, Some(1)).as_str()).expect("json");
    assert_eq!(frame["type"], "snapshot");
}

#[test]
fn alert_events_follow_level_changes_and_survive_skipped_ticks() {
    let template = template();
    let quiet = World {
        queues: BTreeMap::from([(0, 0), (1, 0)]),
        teams: BTreeMap::new(),
        agents: BTreeMap::new(),
        center: 0,
    };
    let mut breach = quiet.clone();
    breach.queues.insert(0, 2);
    let mut at_risk = breach.clone();
    at_risk.queues.insert(0, 1);
    let ticks = linked(&template, &[quiet.clone(), breach, at_risk, quiet]);
    let all = Subscription::default();
    let events: Vec<Value> = ticks[3]
        .events_after(1, &all)
        .map(|e| serde_json::from_str(e).expect("json"))
        .collect();
    let seen: Vec<(u64, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().expect("seq"),
                e["previous"].as_str().expect("previous"),
                e["level"].as_str().expect("level"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (2, "ok", "breach"),
            (3, "breach", "at_risk"),
            (4, "at_risk", "ok")
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["queue"] == "q0" && e["type"] == "alert")
    );
    let other = Subscription::parse(None, Some(vec!["q1".into()]), None).expect("sub");
    assert_eq!(ticks[3].events_after(1, &other).count(), 0);
}
