//! Schedule adherence through the partition and the snapshot: two agents of one team in two
//! partitions, one back late from a break, one on a call through the start of a lunch.

use super::*;
use callpulse_events::{Activity, AgentSchedule, AgentState, ScheduleSegment};

/// Local midnight of `NOW`'s day (UTC), and a time of that day.
const DAY: i64 = NOW.0 - 12 * 60 * MIN - 30_000;
fn at(h: i64, m: i64) -> Ts {
    Ts(DAY + (h * 60 + m) * MIN)
}

fn schedule(agent: &str, segments: &[(Ts, Ts, Activity)]) -> Envelope {
    env(
        &format!("{agent}-schedule"),
        at(7, 0),
        Event::AgentSchedule(AgentSchedule {
            agent_id: agent.into(),
            team: None,
            start: at(9, 0),
            end: at(13, 0),
            segments: segments
                .iter()
                .map(|&(start, end, activity)| ScheduleSegment {
                    start,
                    end,
                    activity,
                })
                .collect(),
        }),
    )
}

fn state(agent: &str, ts: Ts, state: AgentState, reason: Option<&str>) -> Envelope {
    env(
        &format!("{agent}-{}", ts.0),
        ts,
        Event::AgentState(AgentStateChanged {
            agent_id: agent.into(),
            team: "t".into(),
            state,
            reason: reason.map(str::to_owned),
        }),
    )
}

#[test]
fn adherence_per_agent_and_team_with_grace_across_partitions() {
    use Activity::{Break, Lunch, Open};
    let policy = Arc::new(MetricsPolicy::default());
    assert_eq!(policy.adherence.grace_secs, 120);
    let mut one = PartitionState::new(Arc::clone(&policy));
    let mut two = PartitionState::new(Arc::clone(&policy));
    // Anna: break 10:00-10:15, back at 10:18 (3 minutes late, 2 of grace: 1 minute out).
    one.apply(&schedule(
        "anna",
        &[
            (at(9, 0), at(10, 0), Open),
            (at(10, 0), at(10, 15), Break),
            (at(10, 15), at(13, 0), Open),
        ],
    ))
    .expect("schedule");
    for (ts, s, reason) in [
        (at(9, 0), AgentState::Available, None),
        (at(10, 0), AgentState::Aux, Some("Break")),
        (at(10, 18), AgentState::Available, None),
    ] {
        one.apply(&state("anna", ts, s, reason)).expect("state");
    }
    // Ben: lunch from 11:50, still on the call he took at 11:40 at 12:00:30.
    two.apply(&schedule(
        "ben",
        &[
            (at(9, 0), at(11, 50), Open),
            (at(11, 50), at(12, 20), Lunch),
            (at(12, 20), at(13, 0), Open),
        ],
    ))
    .expect("schedule");
    two.apply(&state("ben", at(9, 0), AgentState::Available, None))
        .expect("state");
    two.apply(&state("ben", at(11, 40), AgentState::OnCall, None))
        .expect("state");
    let parts = [Arc::new(one.snapshot(NOW)), Arc::new(two.snapshot(NOW))];
    let snap = Snapshot::build(1, NOW, &parts, &Retired::default(), &policy);
    let agent = |id: &str| {
        snap.agents
            .iter()
            .find(|a| &*a.agent_id == id)
            .expect("agent")
    };
    let min = |m: f64| m * 60.0;
    let anna = agent("anna");
    let anna_day = anna.adherence_today.as_ref().expect("scheduled");
    assert_eq!(anna_day.scheduled_s, min(180.5));
    assert_eq!(anna_day.out_of_adherence_s, min(1.0));
    assert_eq!(anna_day.adherence, Some(1.0 - 1.0 / 180.5));
    assert_eq!(anna_day.worked_s, min(60.0 + 102.5));
    assert_eq!(anna_day.conformance, Some(162.5 / 165.5));
    assert_eq!(anna_day.actual.break_, min(18.0));
    let now = anna.adherence.as_ref().expect("scheduled");
    assert!(!now.out_of_adherence);
    let ben = agent("ben");
    let ben_day = ben.adherence_today.as_ref().expect("scheduled");
    let now = ben.adherence.as_ref().expect("scheduled");
    assert_eq!((now.scheduled, now.actual), (Lunch, Open));
    assert!(now.out_of_adherence);
    assert_eq!(now.out_since_ms, Some(at(11, 50).0));
    assert_eq!(now.out_s, min(10.5));
    assert_eq!(ben_day.out_of_adherence_s, min(8.5));
    // The team: both days summed, Ben on its out-of-adherence list.
    let team = snap.teams.iter().find(|t| &*t.team == "t").expect("team");
    let day = &team.day.adherence_today;
    assert_eq!(day.scheduled_s, min(361.0));
    assert_eq!(day.out_of_adherence_s, min(9.5));
    assert_eq!(day.shrinkage_planned, Some(25.5 / 361.0));
    assert_eq!(day.shrinkage_actual, Some(18.0 / 361.0));
    assert_eq!(team.day.agents_out_of_adherence, 1);
    // The 60-minute window (11:01 to 12:00:30): Ben's lunch so far, 8.5 minutes out.
    let hour = team.windows.iter().find(|w| w.window == "1h").expect("1h");
    assert_eq!(hour.adherence.scheduled_s, min(2.0 * 59.5));
    assert_eq!(hour.adherence.out_of_adherence_s, min(8.5));
    assert_eq!(hour.adherence.planned.lunch, min(10.5));
    assert_eq!(
        hour.adherence.shrinkage(Lunch),
        (Some(10.5 / 119.0), Some(0.0))
    );
    // Anna's next event books the finished span the same way the read did.
    one.apply(&state("anna", NOW, AgentState::Aux, Some("lunch")))
        .expect("state");
    let parts = [Arc::new(one.snapshot(NOW)), Arc::new(two.snapshot(NOW))];
    let again = Snapshot::build(2, NOW, &parts, &Retired::default(), &policy);
    let anna_again = again
        .agents
        .iter()
        .find(|a| &*a.agent_id == "anna")
        .expect("anna");
    assert_eq!(anna_again.adherence_today, anna.adherence_today);
}
