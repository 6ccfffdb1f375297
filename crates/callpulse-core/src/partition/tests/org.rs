//! The org chart: center > group > team > agent, every level by the same merges.

use super::*;
use crate::StateTimeView;
use crate::policy::GroupPolicy;

fn agent(id: &str, agent: &str, team: &str, state: AgentState) -> Envelope {
    env(
        id,
        Ts(NOW.0 - 20 * MIN),
        Event::AgentState(AgentStateChanged {
            agent_id: agent.into(),
            team: team.into(),
            state,
            reason: None,
        }),
    )
}

/// Group `retail` owns teams t1 and t2 and, beyond billing (t1's queue), the sales queue;
/// team t3 and the other queue are in no group. Two partitions.
#[test]
fn three_levels_roll_up_by_the_same_merge() {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "billing".into(),
        QueuePolicy {
            team: Some("t1".into()),
            ..QueuePolicy::default()
        },
    );
    policy.groups.insert(
        "retail".into(),
        GroupPolicy {
            teams: vec!["t1".into(), "t2".into()],
            queues: vec!["sales".into()],
        },
    );
    policy.validate().expect("valid");
    assert_eq!(policy.group_of_queue("billing"), Some("retail"));
    assert_eq!(policy.group_of_queue("other"), None);
    let policy = Arc::new(policy);
    let mut one = PartitionState::new(Arc::clone(&policy));
    let mut two = PartitionState::new(Arc::clone(&policy));
    let ago = |m: i64| Ts(NOW.0 - m * MIN);
    // billing: two calls answered after 10 s; sales: one abandoned after 30 s, one waiting
    // since 3 minutes ago; other: one answered.
    for (s, n) in [(&mut one, 1), (&mut two, 2)] {
        s.apply(&queued(
            &format!("bq{n}"),
            &format!("b{n}"),
            "billing",
            ago(5),
        ))
        .expect("queued");
        s.apply(&answered(
            &format!("ba{n}"),
            &format!("b{n}"),
            "billing",
            Ts(ago(5).0 + 10_000),
        ))
        .expect("answered");
    }
    one.apply(&queued("sq1", "s1", "sales", ago(4)))
        .expect("queued");
    one.apply(&abandoned("sx1", "s1", "sales", Ts(ago(4).0 + 30_000)))
        .expect("abandoned");
    two.apply(&queued("sq2", "s2", "sales", ago(3)))
        .expect("queued");
    two.apply(&queued("oq1", "o1", "other", ago(5)))
        .expect("queued");
    two.apply(&answered("oa1", "o1", "other", ago(4)))
        .expect("answered");
    one.apply(&agent("g1", "a1", "t1", AgentState::Available))
        .expect("agent");
    two.apply(&agent("g2", "a2", "t2", AgentState::OnCall))
        .expect("agent");
    two.apply(&agent("g3", "a3", "t3", AgentState::OnCall))
        .expect("agent");
    one.apply(&csat("c1", "billing", ago(2), 5)).expect("csat");
    let parts = [Arc::new(one.snapshot(NOW)), Arc::new(two.snapshot(NOW))];
    let snap = Snapshot::build(1, NOW, &parts, &Retired::default(), &policy);
    let retail = &snap.center.groups[0];
    assert_eq!(&*retail.group, "retail");
    assert_eq!(retail.queues, [Arc::from("billing"), Arc::from("sales")]);
    assert_eq!((retail.states.available, retail.states.on_call), (1, 1));
    assert_eq!(retail.waiting, 1);
    assert_eq!(retail.longest_wait_s, 180.0);
    let calls = retail.calls.as_ref().expect("calls");
    let hour = calls.iter().find(|w| w.window == "1h").expect("1h");
    // Offered 4 (2 billing, 2 sales; the waiting call is offered), answered 2, abandoned 1.
    assert_eq!((hour.offered, hour.answered, hour.abandoned), (4, 2, 1));
    // The center holds everything: the other queue's call and team t3's agent too.
    let center_hour = snap
        .center
        .windows
        .iter()
        .find(|w| w.window == "1h")
        .expect("1h");
    assert_eq!(center_hour.offered, 5);
    assert_eq!(snap.center.day.agents, 3);
    assert_eq!(retail.day.agents, 2);
    // Time in state: the group's agents over 20 minutes, half of it on a call.
    let time = &retail
        .windows
        .iter()
        .find(|w| w.window == "1h")
        .expect("1h")
        .time;
    assert_eq!((time.available_s, time.on_call_s), (1200.0, 1200.0));
    assert_eq!(time.occupancy, Some(0.5));
    // The group's day is its teams' days summed, by the same merge as a team's.
    let team_days: Vec<&StateTimeView> = snap
        .teams
        .iter()
        .filter(|t| &*t.team != "t3")
        .map(|t| &t.day.today)
        .collect();
    assert_eq!(retail.day.today, StateTimeView::sum(team_days));
}
