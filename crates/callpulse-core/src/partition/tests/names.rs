//! Names at the caps: idle unconfigured queues make room (their totals stay), and so do
//! idle unconfigured teams with no agent in them.

use super::*;
use crate::calls::CallTotals;

const HOUR: i64 = 3_600_000;

fn totals(s: &mut PartitionState, now: Ts, queue: &str) -> Option<CallTotals> {
    let snap = s.snapshot(now);
    let mut found: Option<CallTotals> = None;
    for q in snap.queues.iter().filter(|q| &*q.name == queue) {
        found
            .get_or_insert_with(CallTotals::default)
            .merge(&q.totals);
    }
    found
}

fn ticket(id: &str, ticket: &str, queue: &str, ts: Ts) -> Envelope {
    env(
        id,
        ts,
        Event::TicketCreated(callpulse_events::TicketCreated {
            ticket_id: ticket.into(),
            queue: queue.into(),
            channel: callpulse_events::TicketChannel::Email,
            priority: None,
            customer_id: None,
        }),
    )
}

#[test]
fn idle_unconfigured_queues_make_room_and_keep_their_totals() {
    let mut policy = MetricsPolicy {
        max_queues: 3,
        ..MetricsPolicy::default()
    };
    policy.queues.insert("vip".into(), QueuePolicy::default());
    policy.validate().expect("policy");
    let idle = i64::from(policy.name_idle_secs) * 1000;
    let mut s = PartitionState::new(Arc::new(policy));
    // `a`: one answered call; `b`: one call still waiting; `t`: one open ticket.
    s.apply(&queued("a1", "ca", "a", NOW)).expect("a");
    s.apply(&answered("a2", "ca", "a", NOW.plus_millis(10_000)))
        .expect("a answered");
    s.apply(&queued("b1", "cb", "b", NOW)).expect("b");
    s.apply(&ticket("t1", "tk", "t", NOW)).expect("t");
    // Full, and nothing idle yet: a new name is refused.
    let soon = NOW.plus_millis(idle / 2);
    s.apply(&queued("v1", "cv1", "vip", soon))
        .expect("configured: past the cap");
    assert_eq!(
        s.apply(&queued("c1", "cc", "c", soon)),
        Err(Rejection::TooManyNames("queue"))
    );
    // Idle long enough by the new event's own time.
    let later = NOW.plus_millis(idle + HOUR);
    s.apply(&queued("c2", "cc", "c", later))
        .expect("room made by an idle queue");
    s.apply(&queued("d1", "cd", "d", later))
        .expect("room made by the next idle queue");
    // The queue with a ticket stays; the next new name is refused again.
    assert_eq!(
        s.apply(&queued("e1", "ce", "e", later)),
        Err(Rejection::TooManyNames("queue"))
    );
    assert_eq!(s.counters.queue_evicted, 2);
    // `b`'s waiting call went with it.
    assert_eq!(s.counters.call_evicted, 1);
    let snap = s.snapshot(later);
    assert_eq!(snap.queues.iter().map(|q| q.waiting).sum::<u64>(), 3);
    // Evicted queues keep their lifetime totals, and nothing else.
    let a = totals(&mut s, later, "a").expect("a's totals");
    assert_eq!((a.counts.offered, a.counts.answered), (1, 1));
    assert_eq!(totals(&mut s, later, "b").expect("b").counts.offered, 1);
    // A checkpoint holds the free ids and the evicted totals.
    let mut back =
        PartitionState::restore(Arc::clone(&s.policy), &s.checkpoint()).expect("restore");
    assert_eq!(
        format!("{:?}", back.snapshot(later)),
        format!("{:?}", s.snapshot(later))
    );
    // When the name returns (room made by `c` and `d`, idle by then), its totals continue.
    let much_later = later.plus_millis(idle + HOUR);
    for s in [&mut s, &mut back] {
        s.apply(&queued("v3", "cv3", "vip", much_later))
            .expect("vip");
        s.apply(&queued("a3", "ca2", "a", much_later))
            .expect("a again");
        let a = totals(s, much_later, "a").expect("a");
        assert_eq!((a.counts.offered, a.counts.answered), (2, 1));
        // One entry for `a`: the totals-only one went back into the queue.
        let snap = s.snapshot(much_later);
        assert_eq!(snap.queues.iter().filter(|q| &*q.name == "a").count(), 1);
        assert_eq!(s.counters.queue_evicted, 3);
    }
}

fn agent(id: &str, agent: &str, team: &str, state: AgentState, ts: Ts) -> Envelope {
    env(
        id,
        ts,
        Event::AgentState(AgentStateChanged {
            agent_id: agent.into(),
            team: team.into(),
            state,
            reason: None,
        }),
    )
}

#[test]
fn idle_unconfigured_teams_make_room_with_their_agents() {
    let mut policy = MetricsPolicy {
        max_teams: 2,
        ..MetricsPolicy::default()
    };
    policy.queues.insert(
        "vip".into(),
        QueuePolicy {
            team: Some("vip-team".into()),
            ..QueuePolicy::default()
        },
    );
    policy.validate().expect("policy");
    let idle = i64::from(policy.name_idle_secs) * 1000;
    let mut s = PartitionState::new(Arc::new(policy));
    // `x` and `y` with an agent each; later `ay` moves to `x`, which stays in use.
    s.apply(&agent("1", "ax", "x", AgentState::Available, NOW))
        .expect("x");
    s.apply(&agent("2", "ay", "y", AgentState::Available, NOW))
        .expect("y");
    let later = NOW.plus_millis(idle + HOUR);
    s.apply(&agent(
        "3",
        "ay",
        "x",
        AgentState::Aux,
        later.plus_millis(-MIN),
    ))
    .expect("ay to x");
    // `y` is idle: it makes room; `x` is not, so the next new team is refused.
    s.apply(&agent("4", "az", "z", AgentState::Available, later))
        .expect("room made by y");
    s.apply(&agent("5", "av", "vip-team", AgentState::Aux, later))
        .expect("a configured queue's team past the cap");
    assert_eq!(
        s.apply(&agent("6", "aw", "w", AgentState::Available, later)),
        Err(Rejection::TooManyNames("team"))
    );
    let snap = s.snapshot(later);
    let mut teams: Vec<&str> = snap.teams.iter().map(|(t, _)| &**t).collect();
    teams.sort_unstable();
    assert_eq!(teams, ["vip-team", "x", "z"]);
    assert_eq!(
        (snap.counters.team_evicted, snap.counters.agent_evicted),
        (1, 0)
    );
    // The free id and the per-team bookkeeping survive a checkpoint.
    let mut back =
        PartitionState::restore(Arc::clone(&s.policy), &s.checkpoint()).expect("restore");
    assert_eq!(
        format!("{:?}", back.snapshot(later)),
        format!("{:?}", s.snapshot(later))
    );
    // Much later `x` and `z` are idle, agents and all: both go, with their three agents,
    // at the next new team; the configured team stays.
    let much_later = later.plus_millis(idle + HOUR);
    for s in [&mut s, &mut back] {
        s.apply(&agent("7", "aq", "q", AgentState::Available, much_later))
            .expect("room made by x and z");
        let snap = s.snapshot(much_later);
        let mut teams: Vec<&str> = snap.teams.iter().map(|(t, _)| &**t).collect();
        teams.sort_unstable();
        assert_eq!(teams, ["q", "vip-team"]);
        assert_eq!(
            (snap.counters.team_evicted, snap.counters.agent_evicted),
            (3, 3)
        );
        let agents: Vec<&str> = snap.agents.iter().map(|a| &*a.agent_id).collect();
        assert_eq!(agents, ["aq", "av"]);
    }
}
