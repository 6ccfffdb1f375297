//! Rollups and the figures beside the calls: staffing, calendar windows, tickets, time in
//! state, the center.

use super::*;
use crate::tickets::TicketLive;

#[test]
fn staffing_compares_erlang_c_with_the_team() {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "q".into(),
        QueuePolicy {
            team: Some("t".into()),
            ..QueuePolicy::default()
        },
    );
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    // 60 calls in the last 10 minutes, 10 of them completed with 180 s of handle time each.
    for i in 0..60 {
        let at = Ts(NOW.0 - 10 * MIN + i * 10_000);
        s.apply(&queued(&format!("q{i}"), &format!("c{i}"), "q", at))
            .expect("queued");
        if i < 10 {
            s.apply(&completed(
                &format!("d{i}"),
                &format!("c{i}"),
                "q",
                Ts(at.0 + 200_000),
                (150_000, 10_000, 20_000),
            ))
            .expect("completed");
        }
    }
    for (i, agent_state) in [
        AgentState::Available,
        AgentState::OnCall,
        AgentState::WrapUp,
        AgentState::Aux,
    ]
    .into_iter()
    .enumerate()
    {
        let e = env(
            &format!("s{i}"),
            Ts(NOW.0 - MIN),
            Event::AgentState(AgentStateChanged {
                agent_id: format!("agent-{i}"),
                team: "t".into(),
                state: agent_state,
                reason: None,
            }),
        );
        s.apply(&e).expect("agent");
    }
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let staffing = snap
        .queue("q")
        .and_then(|q| q.staffing.clone())
        .expect("staffing");
    // The 15-minute window's span: 14 whole minutes plus the current one so far.
    let span_s = (14 * MIN + NOW.0.rem_euclid(MIN)) as f64 / 1000.0;
    let rate = 60.0 / span_s;
    assert!((staffing.arrival_rate_per_min - rate * 60.0).abs() < 1e-9);
    assert_eq!(staffing.aht_s, 180.0);
    let required = crate::erlang::required_agents(rate, 180.0, 20.0, 0.8).expect("finite");
    assert_eq!(staffing.required_agents, Some(required));
    assert_eq!(staffing.staffed_agents, Some(3), "aux is not staffed");
    assert_eq!(staffing.gap_agents, Some(i64::from(required) - 3));
    // The team answering q rolls up q's calls.
    let team = snap.teams.iter().find(|t| &*t.team == "t").expect("team t");
    let calls = team.calls.as_ref().expect("team calls");
    assert_eq!((calls[1].offered, calls[1].completed), (60, 10));
    assert_eq!(calls[1].aht_s, Some(180.0));
    // Without completed calls there is no AHT, hence no staffing figure.
    let mut empty = PartitionState::new(Arc::clone(&policy));
    empty
        .apply(&queued("x", "cx", "q", Ts(NOW.0 - MIN)))
        .expect("queued");
    let part = Arc::new(empty.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    assert_eq!(snap.queue("q").expect("q").staffing, None);
}

#[test]
fn calendar_windows_follow_the_center_clock() {
    // NOW is 12:00:30 UTC = 13:00:30 in Berlin.
    let policy = Arc::new(MetricsPolicy {
        timezone: "Europe/Berlin".into(),
        interval_mins: 15,
        ..MetricsPolicy::default()
    });
    let mut s = PartitionState::new(Arc::clone(&policy));
    for (i, ago) in [14 * 60 * MIN, 40 * MIN, 20 * MIN, 10_000]
        .iter()
        .enumerate()
    {
        s.apply(&queued(
            &format!("e{i}"),
            &format!("c{i}"),
            "q",
            Ts(NOW.0 - ago),
        ))
        .expect("queued");
    }
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    assert_eq!(
        snap.windows,
        ["5m", "15m", "30m", "1h", "interval", "today"]
    );
    let offered: Vec<u64> = snap
        .queue("q")
        .expect("q")
        .windows
        .iter()
        .map(|w| w.offered)
        .collect();
    // 14 h ago was yesterday 23:00:30 Berlin time: in no window but the lifetime total.
    assert_eq!(offered, [1, 1, 2, 3, 1, 3]);
}

#[test]
fn tickets_backlog_first_response_and_resolution() {
    use callpulse_events::{
        TicketChannel, TicketCreated, TicketFirstResponse, TicketReopened, TicketResolved,
    };
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "digital".into(),
        QueuePolicy {
            ticket_first_response_secs: 600,
            ticket_first_response_by_priority: [("1".to_owned(), 60)].into_iter().collect(),
            ..QueuePolicy::default()
        },
    );
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    let created = |id: &str, ticket: &str, ago: i64, priority: Option<u8>| {
        env(
            id,
            Ts(NOW.0 - ago),
            Event::TicketCreated(TicketCreated {
                ticket_id: ticket.into(),
                queue: "digital".into(),
                channel: TicketChannel::Email,
                customer_id: None,
                priority,
            }),
        )
    };
    let ticket = |id: &str| id.to_owned();
    let events = [
        (created("e1", "t1", 30 * MIN, None), Applied::Counted),
        (
            env(
                "e2",
                Ts(NOW.0 - 20 * MIN),
                Event::TicketFirstResponse(TicketFirstResponse {
                    ticket_id: ticket("t1"),
                    agent_id: "a".into(),
                }),
            ),
            Applied::Counted,
        ),
        (
            env(
                "e3",
                Ts(NOW.0 - 10 * MIN),
                Event::TicketResolved(TicketResolved {
                    ticket_id: ticket("t1"),
                    agent_id: "a".into(),
                }),
            ),
            Applied::Counted,
        ),
        (
            env(
                "e4",
                Ts(NOW.0 - 5 * MIN),
                Event::TicketReopened(TicketReopened {
                    ticket_id: ticket("t1"),
                }),
            ),
            Applied::Counted,
        ),
        (created("e5", "t2", 9 * MIN, Some(1)), Applied::Counted),
        (created("e6", "t3", 9 * MIN, None), Applied::Counted),
        (created("e7", "t4", MIN, None), Applied::Counted),
        // A first response for a ticket never created here, and a re-creation of t1.
        (
            env(
                "e8",
                Ts(NOW.0 - MIN),
                Event::TicketFirstResponse(TicketFirstResponse {
                    ticket_id: ticket("t9"),
                    agent_id: "a".into(),
                }),
            ),
            Applied::Ignored,
        ),
        (created("e9", "t1", MIN, None), Applied::Ignored),
    ];
    for (e, expected) in &events {
        assert_eq!(s.apply(e), Ok(*expected), "{}", e.event_id);
    }
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let tickets = snap
        .queue("digital")
        .and_then(|q| q.tickets.clone())
        .expect("tickets");
    // Open: t1 (reopened), t2, t3, t4. Waiting for a first response: t2 (priority 1, 60 s
    // target, 9 min old: breached), t3 (600 s target, 570 s old: at risk), t4.
    assert_eq!(
        tickets.live,
        TicketLive {
            backlog: 4,
            awaiting_first_response: 3,
            at_risk: 1,
            breached: 1,
        }
    );
    let hour = &tickets.windows[3];
    assert_eq!(hour.window, "1h");
    assert_eq!(
        (hour.created, hour.first_responses, hour.resolved),
        (4, 1, 1)
    );
    // 600 s is the target itself: not a breach.
    assert_eq!(
        (hour.first_response_avg_s, hour.first_response_breaches),
        (Some(600.0), 0)
    );
    assert_eq!(hour.resolution_avg_s, Some(1200.0));
    assert_eq!((hour.reopened, hour.reopen_rate), (1, Some(1.0)));
    assert_eq!(
        (
            hour.by_channel["email"].created,
            hour.by_channel["email"].resolved
        ),
        (4, 1)
    );
    assert_eq!(hour.by_channel["chat"].created, 0);
    let p90 = hour.first_response_p90_s.expect("p90");
    assert!((594.0..=606.0).contains(&p90), "{p90}");
    // A policy cap: with room for two tickets and none resolved, a third is rejected.
    let tight = Arc::new(MetricsPolicy {
        max_tickets: 2,
        ..MetricsPolicy::default()
    });
    let mut s = PartitionState::new(tight);
    s.apply(&created("f1", "u1", MIN, None)).expect("first");
    s.apply(&created("f2", "u2", MIN, None)).expect("second");
    assert_eq!(
        s.apply(&created("f3", "u3", MIN, None)),
        Err(Rejection::TooManyNames("ticket"))
    );
    assert_eq!(s.tracked_tickets(), 2);
}

#[test]
fn time_in_state_and_occupancy() {
    let mut s = state();
    for (i, (ago, agent_state)) in [
        (10 * MIN, AgentState::Available),
        (8 * MIN, AgentState::OnCall),
        (4 * MIN, AgentState::WrapUp),
        (3 * MIN, AgentState::Available),
    ]
    .into_iter()
    .enumerate()
    {
        let e = env(
            &format!("s{i}"),
            Ts(NOW.0 - ago),
            Event::AgentState(AgentStateChanged {
                agent_id: "a1".into(),
                team: "t".into(),
                state: agent_state,
                reason: None,
            }),
        );
        s.apply(&e).expect("agent");
    }
    let snap = view(&mut s, NOW);
    let team = &snap.teams[0];
    // 5m = 11:56:00 to 12:00:30: 30 s of the call, 60 s wrap-up, 180 s available (running).
    let five = &team.windows[0].time;
    assert_eq!(
        (five.on_call_s, five.wrap_up_s, five.available_s),
        (30.0, 60.0, 180.0)
    );
    assert_eq!(five.occupancy, Some(1.0 / 3.0));
    // 15m covers all ten minutes: 300 s available, 240 s on call, 60 s wrap-up.
    let fifteen = &team.windows[1].time;
    assert_eq!(
        (fifteen.available_s, fifteen.on_call_s, fifteen.wrap_up_s),
        (300.0, 240.0, 60.0)
    );
    assert_eq!(fifteen.occupancy, Some(0.5));
    assert_eq!(snap.agents[0].today, team.windows[1].time);
    assert_eq!(snap.agents[0].calls_today, None, "no calls yet");
    // The agent's calls (events of the calls topic) join the agent in the snapshot.
    s.apply(&queued("k1", "c1", "q", Ts(NOW.0 - 3 * MIN)))
        .expect("queued");
    s.apply(&answered("k2", "c1", "q", Ts(NOW.0 - 2 * MIN)))
        .expect("answered");
    s.apply(&completed(
        "k3",
        "c1",
        "q",
        Ts(NOW.0 - MIN),
        (100_000, 0, 20_000),
    ))
    .expect("completed");
    let snap = view(&mut s, NOW);
    let calls = snap.agents[0].calls_today.clone().expect("calls today");
    assert_eq!(
        (calls.answered, calls.completed, calls.aht_s),
        (1, 1, Some(120.0))
    );
    assert_eq!(calls.resolved_reported_ratio, Some(1.0));
}

#[test]
fn the_center_rolls_up_every_queue_at_the_default_thresholds() {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "vip".into(),
        QueuePolicy {
            sl_thresholds_secs: vec![10],
            ..QueuePolicy::default()
        },
    );
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    let t = |ago: i64| Ts(NOW.0 - ago);
    for (i, (queue, wait_ms)) in [("vip", 15_000), ("billing", 15_000), ("billing", 30_000)]
        .into_iter()
        .enumerate()
    {
        let call = format!("c{i}");
        s.apply(&queued(&format!("q{i}"), &call, queue, t(MIN)))
            .expect("queued");
        s.apply(&answered(&format!("a{i}"), &call, queue, t(MIN - wait_ms)))
            .expect("answered");
    }
    s.apply(&queued("q9", "c9", "vip", t(2 * MIN)))
        .expect("waiting");
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let center = &snap.center;
    assert_eq!((center.waiting, center.longest_wait_s), (1, 120.0));
    let w = &center.windows[0];
    assert_eq!((w.offered, w.answered), (4, 3));
    // The vip call (15 s) misses vip's own 10 s threshold but counts within the center's 20 s.
    assert_eq!(
        snap.queue("vip").expect("vip").windows[0].answered_within[&10],
        0
    );
    assert_eq!(w.answered_within[&20], 2);
    assert_eq!(center.sl_thresholds_secs, [20]);
}
