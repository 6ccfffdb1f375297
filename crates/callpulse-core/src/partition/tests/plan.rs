//! The staffing plan through the partition and the snapshot: a queue running at twice its
//! profile with handle times half again as long, an agent scheduled before logging in, and
//! an engine whose state begins mid-day.

use std::collections::BTreeMap;

use super::*;
use crate::forecast::{Method, PROFILE_VERSION, Profile, ProfileSet};
use crate::policy::QueuePolicy;
use callpulse_events::{Activity, AgentSchedule, ScheduleSegment};

/// Local (UTC) midnight of `NOW`'s day, and a time of that day.
const DAY: i64 = NOW.0 - 12 * 60 * MIN - 30_000;
fn at(h: i64, m: i64) -> Ts {
    Ts(DAY + (h * 60 + m) * MIN)
}

/// Queue `q` answered by team `t`.
fn policy() -> Arc<MetricsPolicy> {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "q".into(),
        QueuePolicy {
            team: Some("t".into()),
            ..policy.default_queue.clone()
        },
    );
    Arc::new(policy)
}

/// One call per 30-minute interval, 100 s each, every weekday; the scaling undamped.
fn profiles() -> ProfileSet {
    let profile = Profile {
        offered: vec![1.0; 48],
        aht_s: vec![Some(100.0); 48],
        patience_s: Some(60.0),
        days: 8,
    };
    ProfileSet {
        version: PROFILE_VERSION,
        timezone: "UTC".into(),
        interval_secs: 1800,
        learned_to: chrono::NaiveDate::from_ymd_opt(2025, 11, 1).expect("date"),
        method: Method {
            weeks: 8,
            damping: 0.0,
            aht_damping_calls: 0.0,
        },
        queues: BTreeMap::from([(
            "q".to_owned(),
            std::array::from_fn(|_| Some(profile.clone())),
        )]),
    }
}

/// Two calls per interval from `from` to noon, each talking 150 s.
fn busy_morning(s: &mut PartitionState, from_hour: i64) {
    for slot in 2 * from_hour..24 {
        for k in 0..2 {
            let t = at(0, slot * 30 + k * 10);
            let call = format!("c{slot}-{k}");
            s.apply(&queued(&format!("{call}q"), &call, "q", t))
                .expect("queued");
            s.apply(&answered(
                &format!("{call}a"),
                &call,
                "q",
                t.plus_millis(5_000),
            ))
            .expect("answered");
            s.apply(&completed(
                &format!("{call}c"),
                &call,
                "q",
                t.plus_millis(155_000),
                (150_000, 0, 0),
            ))
            .expect("completed");
        }
    }
}

#[test]
fn twice_the_profile_and_one_scheduled_agent_give_the_plan() {
    let policy = policy();
    let mut s = PartitionState::new(Arc::clone(&policy));
    // Scheduled 12:00-13:15 for team t, never logged in; published the evening before.
    s.apply(&env(
        "sched",
        Ts(DAY - 60 * MIN),
        Event::AgentSchedule(AgentSchedule {
            agent_id: "sam".into(),
            team: Some("t".into()),
            start: at(0, 0),
            end: at(24, 0),
            segments: vec![ScheduleSegment {
                start: at(12, 0),
                end: at(13, 15),
                activity: Activity::Open,
            }],
        }),
    ))
    .expect("schedule");
    busy_morning(&mut s, 0);
    let noon = at(12, 0);
    let part = Arc::new(s.snapshot(noon));
    let snap = Snapshot::build(1, noon, &[part], &Retired::default(), &policy)
        .with_plan(Some(&profiles()), &policy);
    let q = snap.queue("q").expect("q");
    let f = q.forecast.as_ref().expect("forecast");
    // 48 calls against the profile's 24 by noon: twice; 150 s against 100 s: 1.5 times.
    assert_eq!((f.offered_so_far, f.expected_so_far), (48, 24.0));
    assert_eq!((f.volume_ratio, f.aht_ratio), (2.0, 1.5));
    assert_eq!(f.counted_from, None);
    assert_eq!(f.intervals.len(), 16, "plan_intervals");
    let first = &f.intervals[0];
    assert_eq!(first.start_ms, noon.millis());
    assert_eq!((first.offered, first.aht_s), (2.0, Some(150.0)));
    // 2 calls of 150 s in 30 min: 0.17 erlangs; one agent answers 85 % in 20 s.
    assert_eq!(
        (first.required_agents, first.required_agents_erlang_a),
        (Some(1), Some(1))
    );
    let team = snap.teams.iter().find(|t| &*t.team == "t").expect("team t");
    // Scheduled 1, 1, 0.5 (13:00-13:15), then 0 agents; 1 needed in each.
    let scheduled: Vec<f64> = team
        .plan
        .iter()
        .take(4)
        .map(|p| p.scheduled_agents)
        .collect();
    assert_eq!(scheduled, vec![1.0, 1.0, 0.5, 0.0]);
    let gaps: Vec<Option<f64>> = team.plan.iter().take(4).map(|p| p.gap_agents).collect();
    assert_eq!(gaps, vec![Some(0.0), Some(0.0), Some(0.5), Some(1.0)]);
    assert_eq!(team.plan[0].forecast_offered, Some(2.0));
    // The center sums its teams and queues alike.
    assert_eq!(snap.center.plan, team.plan);

    // Without profiles: the agents scheduled only.
    let part = Arc::new(s.snapshot(noon));
    let bare =
        Snapshot::build(1, noon, &[part], &Retired::default(), &policy).with_plan(None, &policy);
    let team = bare.teams.iter().find(|t| &*t.team == "t").expect("team t");
    assert_eq!(team.plan[2].scheduled_agents, 0.5);
    assert_eq!(
        (team.plan[2].required_agents, team.plan[2].gap_agents),
        (None, None)
    );
    assert!(bare.queue("q").expect("q").forecast.is_none());
}

#[test]
fn a_state_begun_mid_day_is_compared_from_its_start() {
    let policy = policy();
    let mut s = PartitionState::new(Arc::clone(&policy));
    // The engine's state begins at 10:00 (no checkpoint of the morning): 8 calls by noon
    // against the profile's 4 of those two hours is twice, not a third of 24.
    busy_morning(&mut s, 10);
    let noon = at(12, 0);
    let part = Arc::new(s.snapshot(noon));
    let snap = Snapshot::build(1, noon, &[part], &Retired::default(), &policy)
        .with_plan(Some(&profiles()), &policy);
    let f = snap
        .queue("q")
        .expect("q")
        .forecast
        .clone()
        .expect("forecast");
    assert_eq!(
        (f.offered_so_far, f.expected_so_far, f.volume_ratio),
        (8, 4.0, 2.0)
    );
    assert_eq!(f.counted_from.as_deref(), Some("2025-11-26T10:00:00+00:00"));
}
