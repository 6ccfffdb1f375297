use callpulse_events::{
    AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued, CsatResponse,
};
use proptest::prelude::*;

use super::*;
use crate::policy::{QueuePolicy, SlFormula};
use crate::snapshot::Snapshot;
use crate::tickets::TicketLive;

const MIN: i64 = 60_000;
const NOW: Ts = Ts(1_764_158_400_000 + 30_000); // 12:00:30 UTC: mid-bucket on purpose

fn env(id: &str, ts: Ts, event: Event) -> Envelope {
    Envelope {
        event_id: id.to_owned(),
        ts,
        event,
    }
}

fn queued(id: &str, call: &str, queue: &str, ts: Ts) -> Envelope {
    env(
        id,
        ts,
        Event::CallQueued(CallQueued {
            call_id: call.into(),
            queue: queue.into(),
            customer_id: None,
            priority: None,
            transferred_from: None,
        }),
    )
}

fn answered(id: &str, call: &str, queue: &str, ts: Ts) -> Envelope {
    env(
        id,
        ts,
        Event::CallAnswered(CallAnswered {
            call_id: call.into(),
            queue: queue.into(),
            agent_id: "a1".into(),
        }),
    )
}

fn abandoned(id: &str, call: &str, queue: &str, ts: Ts) -> Envelope {
    env(
        id,
        ts,
        Event::CallAbandoned(CallAbandoned {
            call_id: call.into(),
            queue: queue.into(),
        }),
    )
}

fn completed(id: &str, call: &str, queue: &str, ts: Ts, parts: (i64, i64, i64)) -> Envelope {
    env(
        id,
        ts,
        Event::CallCompleted(CallCompleted {
            call_id: call.into(),
            queue: queue.into(),
            agent_id: "a1".into(),
            talk_ms: parts.0,
            hold_ms: parts.1,
            acw_ms: parts.2,
            resolved: Some(true),
        }),
    )
}

fn csat(id: &str, queue: &str, ts: Ts, score: u8) -> Envelope {
    env(
        id,
        ts,
        Event::CsatResponse(CsatResponse {
            interaction_id: id.into(),
            queue: queue.into(),
            agent_id: None,
            score,
        }),
    )
}

fn state() -> PartitionState {
    PartitionState::new(Arc::new(MetricsPolicy::default()))
}

/// A policy under which no call expires within the generated histories (13 h): for the
/// properties about arbitrary arrival order, where a real partition's expiry rules (orphans
/// after 10 min, lost calls after 4 h of event time) would legitimately drop outcomes.
fn patient_policy() -> Arc<MetricsPolicy> {
    Arc::new(MetricsPolicy {
        orphan_timeout_secs: 14 * 3600,
        max_wait_secs: 14 * 3600,
        ..MetricsPolicy::default()
    })
}

fn view(s: &mut PartitionState, now: Ts) -> Snapshot {
    let part = Arc::new(s.snapshot(now));
    Snapshot::build(
        1,
        now,
        &[part],
        &Retired::default(),
        &MetricsPolicy::default(),
    )
}

use crate::snapshot::Retired;

#[test]
fn a_known_hour_gives_exact_figures() {
    let mut s = state();
    let t = |mins_ago: i64, secs: i64| Ts(NOW.0 - mins_ago * MIN + secs * 1000);
    // c1: answered after 10 s; c2: after 30 s; c3: abandoned after 3 s (short);
    // c4: abandoned after 40 s; c5: still waiting since 2 min ago; c6 20 min ago, answered 20 s.
    let events = [
        queued("e1", "c1", "billing", t(3, 0)),
        answered("e2", "c1", "billing", t(3, 10)),
        queued("e3", "c2", "billing", t(2, 0)),
        answered("e4", "c2", "billing", t(2, 30)),
        queued("e5", "c3", "billing", t(1, 0)),
        abandoned("e6", "c3", "billing", t(1, 3)),
        queued("e7", "c4", "billing", t(1, 0)),
        abandoned("e8", "c4", "billing", t(1, 40)),
        queued("e9", "c5", "billing", t(2, 0)),
        queued("e10", "c6", "billing", t(20, 0)),
        answered("e11", "c6", "billing", t(20, 20)),
        completed("e12", "c1", "billing", t(1, 0), (100_000, 20_000, 30_000)),
        completed("e13", "c2", "billing", t(1, 0), (200_000, 0, 50_000)),
        csat("e14", "billing", t(1, 0), 5),
        csat("e15", "billing", t(1, 0), 3),
    ];
    for e in &events {
        assert_eq!(s.apply(e), Ok(Applied::Counted), "{}", e.event_id);
    }
    let snap = view(&mut s, NOW);
    let q = snap.queue("billing").expect("queue");
    assert_eq!(q.waiting, 1);
    assert_eq!(
        q.longest_wait_s, 120.0,
        "waiting since 2 min before the snapshot"
    );
    let w5 = &q.windows[0];
    assert_eq!(w5.window, "5m");
    assert_eq!(
        (w5.offered, w5.answered, w5.abandoned, w5.short_abandoned),
        (5, 2, 2, 1)
    );
    assert_eq!(w5.sl_denominator, 3);
    assert_eq!(w5.answered_within[&20], 1);
    assert_eq!(w5.service_level[&20], Some(1.0 / 3.0));
    // (2 abandoned - 1 short) / (5 offered - 1 short)
    assert_eq!(w5.abandon_rate, Some(1.0 / 4.0));
    assert_eq!(w5.asa_s, Some(20.0));
    assert_eq!(w5.wait_max_s, Some(30.0));
    assert_eq!(w5.avg_abandon_s, Some(21.5));
    assert_eq!(w5.completed, 2);
    assert_eq!(w5.aht_s, Some(200.0));
    assert_eq!(w5.talk_avg_s, Some(150.0));
    assert_eq!(w5.csat, Some(0.5));
    assert_eq!(w5.csat_mean, Some(4.0));
    let w30 = &q.windows[2];
    assert_eq!(
        (w30.offered, w30.answered, w30.answered_within[&20]),
        (6, 3, 2)
    );
    assert_eq!(q.totals.offered, 6);
    assert_eq!(q.totals.wait_le_bounds_s[..4], [5, 10, 15, 20]);
    assert_eq!(q.totals.wait_le_cumulative[..4], [0, 1, 1, 2]);
}

#[test]
fn duplicates_are_rejected_and_change_nothing() {
    let mut s = state();
    let e = queued("e1", "c1", "q", Ts(NOW.0 - MIN));
    assert_eq!(s.apply(&e), Ok(Applied::Counted));
    assert_eq!(s.apply(&e), Err(Rejection::Duplicate));
    let snap = view(&mut s, NOW);
    assert_eq!(snap.queue("q").expect("q").windows[0].offered, 1);
}

#[test]
fn unchanged_partitions_need_no_new_snapshot() {
    let mut s = state();
    assert!(s.changed_since_snapshot(NOW));
    s.apply(&queued("e1", "c1", "q", Ts(NOW.0 - MIN)))
        .expect("ok");
    s.snapshot(NOW);
    assert!(
        !s.changed_since_snapshot(NOW.plus_millis(1_000)),
        "same bucket, no event"
    );
    assert!(
        s.changed_since_snapshot(NOW.plus_millis(MIN)),
        "next bucket: windows slide"
    );
    let _ = s.apply(&queued("e1", "c1", "q", NOW));
    assert!(
        !s.changed_since_snapshot(NOW),
        "a duplicate changes nothing"
    );
    s.apply(&queued("e2", "c2", "q", NOW)).expect("ok");
    assert!(s.changed_since_snapshot(NOW));
}

#[test]
fn answer_before_queued_is_parked_then_counted() {
    let mut s = state();
    assert_eq!(
        s.apply(&answered("e2", "c1", "q", Ts(NOW.0 - MIN))),
        Ok(Applied::Parked)
    );
    assert_eq!(
        s.apply(&queued("e1", "c1", "q", Ts(NOW.0 - MIN - 12_000))),
        Ok(Applied::Counted)
    );
    let snap = view(&mut s, NOW);
    let w = &snap.queue("q").expect("q").windows[0];
    assert_eq!((w.offered, w.answered, w.asa_s), (1, 1, Some(12.0)));
    assert_eq!(snap.queue("q").expect("q").waiting, 0);
}

#[test]
fn orphans_and_stale_calls_expire() {
    let mut s = state();
    s.apply(&answered("e1", "lost", "q", Ts(NOW.0 - 30 * MIN)))
        .expect("parked");
    s.apply(&queued("e2", "forever", "q", Ts(NOW.0 - 5 * 3600 * 1000)))
        .expect("late but live");
    // Read at NOW, the call queued five hours ago is presumed lost, but nothing expires
    // before the partition's own event time moves on: expiry never depends on when or at
    // which instant the partition is read.
    let snap = view(&mut s, NOW);
    assert_eq!(snap.queue("q").expect("q").waiting, 0);
    assert_eq!(snap.engine.counters.orphaned, 0);
    assert_eq!(s.tracked_calls(), 2);
    s.apply(&queued("e3", "fresh", "r", NOW)).expect("now");
    let snap = view(&mut s, NOW);
    assert_eq!(snap.engine.counters.orphaned, 1);
    assert_eq!(snap.engine.counters.stale_waiting, 1);
    assert_eq!(snap.engine.counters.late, 1);
    assert_eq!(snap.queue("q").expect("q").waiting, 0);
    assert_eq!(s.tracked_calls(), 1);
}

#[test]
fn late_events_count_in_totals_not_windows() {
    let mut s = state();
    s.apply(&queued("e0", "c0", "q", NOW)).expect("fresh");
    assert_eq!(
        s.apply(&queued("e1", "c1", "q", Ts(NOW.0 - 3 * 3600 * 1000))),
        Ok(Applied::Late)
    );
    let snap = view(&mut s, NOW);
    let q = snap.queue("q").expect("q");
    assert_eq!(
        (q.windows[3].offered, q.totals.offered, q.waiting),
        (1, 2, 2)
    );
}

#[test]
fn negative_wait_is_clamped_and_counted() {
    let mut s = state();
    s.apply(&queued("e1", "c1", "q", Ts(NOW.0 - MIN)))
        .expect("ok");
    s.apply(&answered("e2", "c1", "q", Ts(NOW.0 - MIN - 500)))
        .expect("ok");
    let snap = view(&mut s, NOW);
    assert_eq!(snap.engine.counters.clock_skew, 1);
    assert_eq!(snap.queue("q").expect("q").windows[0].asa_s, Some(0.0));
}

#[test]
fn per_queue_policy_applies() {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "vip".into(),
        QueuePolicy {
            sl_thresholds_secs: vec![10, 30],
            sl_target: 0.9,
            short_abandon_secs: 0,
            ..QueuePolicy::default()
        },
    );
    // The same calls under the other formulas, with a 2 s short-abandon threshold.
    for (name, formula) in [
        ("offered", SlFormula::Offered),
        ("oms", SlFormula::OfferedMinusShort),
    ] {
        policy.queues.insert(
            name.into(),
            QueuePolicy {
                sl_thresholds_secs: vec![30],
                short_abandon_secs: 2,
                sl_formula: formula,
                abandon_rate_excludes_short: formula == SlFormula::Offered,
                ..QueuePolicy::default()
            },
        );
    }
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    s.apply(&queued("e1", "c1", "vip", Ts(NOW.0 - MIN)))
        .expect("ok");
    s.apply(&answered("e2", "c1", "vip", Ts(NOW.0 - MIN + 15_000)))
        .expect("ok");
    s.apply(&queued("e3", "c2", "vip", Ts(NOW.0 - MIN)))
        .expect("ok");
    s.apply(&abandoned("e4", "c2", "vip", Ts(NOW.0 - MIN + 1_000)))
        .expect("ok");
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let w = &snap.queue("vip").expect("vip").windows[0];
    assert_eq!(w.answered_within, [(10, 0), (30, 1)].into_iter().collect());
    assert_eq!(
        w.short_abandoned, 0,
        "short-abandon threshold 0 disables it"
    );
    assert_eq!(w.service_level[&30], Some(0.5));
    assert_eq!((w.abandon_denominator, w.abandon_rate), (2, Some(0.5)));

    // A third call, still waiting: offered but in no outcome-based denominator.
    for queue in ["offered", "oms"] {
        let mut s = PartitionState::new(Arc::clone(&policy));
        for (id, e) in [
            queued("e1", "c1", queue, Ts(NOW.0 - MIN)),
            answered("e2", "c1", queue, Ts(NOW.0 - MIN + 15_000)),
            queued("e3", "c2", queue, Ts(NOW.0 - MIN)),
            abandoned("e4", "c2", queue, Ts(NOW.0 - MIN + 1_000)),
            queued("e5", "c3", queue, Ts(NOW.0 - MIN)),
        ]
        .iter()
        .enumerate()
        {
            s.apply(e).unwrap_or_else(|r| panic!("{id}: {r}"));
        }
        let part = Arc::new(s.snapshot(NOW));
        let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
        let w = &snap.queue(queue).expect("queue").windows[0];
        assert_eq!(w.short_abandoned, 1);
        if queue == "offered" {
            // answered / offered; abandon rate excludes the short one: 0 / (3 - 1).
            assert_eq!(
                (w.sl_denominator, w.service_level[&30]),
                (3, Some(1.0 / 3.0))
            );
            assert_eq!((w.abandon_denominator, w.abandon_rate), (2, Some(0.0)));
        } else {
            // answered / (offered - short); abandon rate counts the short one: 1 / 3.
            assert_eq!((w.sl_denominator, w.service_level[&30]), (2, Some(0.5)));
            assert_eq!(
                (w.abandon_denominator, w.abandon_rate),
                (3, Some(1.0 / 3.0))
            );
        }
    }
}

#[test]
fn caps_reject_new_names() {
    let policy = Arc::new(MetricsPolicy {
        max_queues: 1,
        max_teams: 1,
        ..MetricsPolicy::default()
    });
    let mut s = PartitionState::new(policy);
    s.apply(&queued("e1", "c1", "a", NOW)).expect("first queue");
    assert_eq!(
        s.apply(&queued("e2", "c2", "b", NOW)),
        Err(Rejection::TooManyNames("queue"))
    );
    let agent = |id: &str, team: &str| {
        env(
            id,
            NOW,
            Event::AgentState(AgentStateChanged {
                agent_id: id.into(),
                team: team.into(),
                state: AgentState::Available,
                reason: None,
            }),
        )
    };
    s.apply(&agent("a1", "t1")).expect("first team");
    assert_eq!(
        s.apply(&agent("a2", "t2")),
        Err(Rejection::TooManyNames("team"))
    );
    assert_eq!(s.agents_in(AgentState::Available), 1);
}

#[test]
fn retiring_a_partition_keeps_counters_monotonic() {
    let mut s = state();
    s.apply(&queued("e1", "c1", "q", NOW)).expect("ok");
    let last = s.snapshot(NOW);
    let mut retired = Retired::default();
    retired.absorb(&last);
    let mut fresh = state();
    fresh.apply(&queued("e9", "c9", "q", NOW)).expect("ok");
    let snap = Snapshot::build(
        2,
        NOW,
        &[Arc::new(fresh.snapshot(NOW))],
        &retired,
        &MetricsPolicy::default(),
    );
    let q = snap.queue("q").expect("q");
    assert_eq!(q.totals.offered, 2, "retired + live");
    assert_eq!(q.windows[0].offered, 1, "windows only from owned state");
}

/// One generated call: queue, queued time (ms before NOW), outcome and wait, completion.
#[derive(Debug, Clone)]
struct GenCall {
    queue: usize,
    queued_ago_ms: i64,
    outcome: Option<(bool, i64)>,
    handle: Option<(i64, i64, i64)>,
    csat: Option<u8>,
}

fn arb_call() -> impl Strategy<Value = GenCall> {
    (
        0usize..3,
        // Mostly within the hour; some from up to 13 h ago, across UTC midnight from NOW.
        prop_oneof![3 => 0i64..59 * MIN, 1 => 0i64..13 * 60 * MIN],
        proptest::option::of((any::<bool>(), 0i64..90_000)),
        proptest::option::of((0i64..600_000, 0i64..60_000, 0i64..120_000)),
        proptest::option::of(1u8..=5),
    )
        .prop_map(|(queue, queued_ago_ms, outcome, handle, csat)| GenCall {
            queue,
            queued_ago_ms,
            outcome,
            handle,
            csat,
        })
}

#[derive(Debug, Default, PartialEq)]
struct Naive {
    offered: u64,
    answered: u64,
    abandoned: u64,
    short: u64,
    within20: u64,
    wait_ms: u64,
    max_wait_ms: u64,
    completed: u64,
    handle_ms: u64,
    csat: u64,
    csat_pos: u64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The engine's windows equal a naive recomputation from the raw event list, whatever the
    /// arrival order and however many events are delivered twice.
    #[test]
    fn windows_match_naive_reference(
        calls in proptest::collection::vec(arb_call(), 0..40),
        order_seed in any::<u64>(),
        dup_every in 2usize..7,
    ) {
        let queues = ["q0", "q1", "q2"];
        let mut events = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let q = queues[c.queue];
            let call = format!("c{i}");
            let at = Ts(NOW.0 - c.queued_ago_ms);
            events.push(queued(&format!("{call}-q"), &call, q, at));
            if let Some((answer, wait)) = c.outcome {
                let end = Ts((at.0 + wait).min(NOW.0));
                events.push(if answer { answered(&format!("{call}-o"), &call, q, end) } else { abandoned(&format!("{call}-o"), &call, q, end) });
            }
            if let Some(parts) = c.handle {
                events.push(completed(&format!("{call}-c"), &call, q, at, parts));
            }
            if let Some(score) = c.csat {
                events.push(csat(&format!("{call}-s"), q, at, score));
            }
        }
        // Shuffle deterministically from the seed, then redeliver every dup_every-th event.
        let mut keyed: Vec<(u64, Envelope)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (order_seed.wrapping_mul(i as u64 + 1).rotate_left(17) ^ i as u64, e.clone()))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let policy = patient_policy();
        let mut s = PartitionState::new(Arc::clone(&policy));
        for (i, (_, e)) in keyed.iter().enumerate() {
            prop_assert!(s.apply(e).is_ok());
            if i % dup_every == 0 {
                prop_assert_eq!(s.apply(e), Err(Rejection::Duplicate));
            }
        }
        let snap = view(&mut s, NOW);
        let bucket = |ts: i64| ts.div_euclid(MIN);
        let end = bucket(NOW.0);
        // The sliding windows, then the calendar ones: the 30-minute interval and the UTC day
        // holding NOW (events of earlier periods never count there, whatever the order).
        let interval_start = NOW.0 - NOW.0.rem_euclid(30 * MIN);
        let day_start = NOW.0 - NOW.0.rem_euclid(24 * 60 * MIN);
        let windows: [Box<dyn Fn(Ts) -> bool>; 6] = [
            Box::new(move |ts: Ts| bucket(ts.0) > end - 5 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 15 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 30 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 60 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| ts.0 >= interval_start && ts.0 <= NOW.0),
            Box::new(move |ts: Ts| ts.0 >= day_start && ts.0 <= NOW.0),
        ];
        for (w, inside) in windows.iter().enumerate() {
            for (qi, qname) in queues.iter().enumerate() {
                let mut n = Naive::default();
                for c in calls.iter().filter(|c| c.queue == qi) {
                    let at = Ts(NOW.0 - c.queued_ago_ms);
                    if inside(at) { n.offered += 1; }
                    if let Some((answer, wait)) = c.outcome {
                        let end_ts = (at.0 + wait).min(NOW.0);
                        let wait = end_ts - at.0;
                        if inside(Ts(end_ts)) {
                            if answer {
                                n.answered += 1;
                                n.within20 += u64::from(wait <= 20_000);
                                n.wait_ms += wait as u64;
                                n.max_wait_ms = n.max_wait_ms.max(wait as u64);
                            } else {
                                n.abandoned += 1;
                                n.short += u64::from(wait < 5_000);
                            }
                        }
                    }
                    if let (Some((t, h, a)), true) = (c.handle, inside(at)) {
                        n.completed += 1;
                        n.handle_ms += (t + h + a) as u64;
                    }
                    if let (Some(score), true) = (c.csat, inside(at)) {
                        n.csat += 1;
                        n.csat_pos += u64::from(score >= 4);
                    }
                }
                let got = snap.queue(qname).map(|q| {
                    let m = &q.windows[w];
                    Naive {
                        offered: m.offered,
                        answered: m.answered,
                        abandoned: m.abandoned,
                        short: m.short_abandoned,
                        within20: m.answered_within[&20],
                        wait_ms: (m.wait_sum_s * 1000.0).round() as u64,
                        max_wait_ms: m.wait_max_s.map_or(0, |s| (s * 1000.0).round() as u64),
                        completed: m.completed,
                        handle_ms: (m.handle_sum_s * 1000.0).round() as u64,
                        csat: m.csat_responses,
                        csat_pos: m.csat_positive,
                    }
                }).unwrap_or_default();
                prop_assert_eq!(&got, &n, "queue {} window {}", qname, w);
            }
        }
        // Live state: calls with no outcome are waiting (until max_wait_secs says they are
        // lost); the oldest sets the longest wait.
        let max_wait_ms = i64::from(policy.max_wait_secs) * 1000;
        for (qi, qname) in queues.iter().enumerate() {
            let waiting: Vec<i64> = calls
                .iter()
                .filter(|c| c.queue == qi && c.outcome.is_none() && c.queued_ago_ms <= max_wait_ms)
                .map(|c| c.queued_ago_ms)
                .collect();
            let q = snap.queue(qname);
            prop_assert_eq!(q.map_or(0, |q| q.waiting), waiting.len() as u64);
            let longest = waiting.iter().max().map_or(0.0, |ms| *ms as f64 / 1000.0);
            prop_assert_eq!(q.map_or(0.0, |q| q.longest_wait_s), longest);
        }
    }
}

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

/// One call of the time-model property: its true times, and how far ahead the clock of the
/// producer that stamped it runs.
#[derive(Debug, Clone)]
struct SkewedCall {
    queue: usize,
    /// True time the call was queued, before the read instant.
    queued_ago_ms: i64,
    /// `Some((answered?, wait))`.
    outcome: Option<(bool, i64)>,
    /// Added to both of its stamps (a fast producer clock), under the allowed future skew.
    fast_ms: i64,
}

fn arb_skewed_call() -> impl Strategy<Value = SkewedCall> {
    (
        0usize..2,
        0i64..59 * MIN,
        proptest::option::of((any::<bool>(), 0i64..90_000)),
        prop_oneof![2 => Just(0i64), 1 => 0i64..299_000],
    )
        .prop_map(|(queue, queued_ago_ms, outcome, fast_ms)| SkewedCall {
            queue,
            queued_ago_ms,
            outcome,
            fast_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// The time model (docs/time.md): events stamped up to the allowed skew ahead, delivered
    /// in true-time order, in any chunking, with the partition read at any instants in
    /// between (as a catching-up engine reads it at wall time, hours after the events), give
    /// the same figures at the read instant as the same events applied in one go; and every
    /// event stamped within the hour before the read instant counts in the 1 h window.
    #[test]
    fn fast_clocks_and_catch_up_pace_change_no_figure(
        calls in proptest::collection::vec(arb_skewed_call(), 1..40),
        chunk in 1usize..12,
        reads_ahead_ms in proptest::collection::vec(-3_600_000i64..6 * 3_600_000, 1..5),
    ) {
        let queues = ["q0", "q1"];
        // (true time, envelope), delivered in true-time order.
        let mut events: Vec<(i64, Envelope)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let (q, call) = (queues[c.queue], format!("c{i}"));
            let at = NOW.0 - c.queued_ago_ms;
            events.push((at, queued(&format!("{call}-q"), &call, q, Ts(at + c.fast_ms))));
            if let Some((answer, wait)) = c.outcome {
                let end = (at + wait).min(NOW.0);
                let stamped = Ts(end + c.fast_ms);
                let id = format!("{call}-o");
                events.push((end, if answer { answered(&id, &call, q, stamped) } else { abandoned(&id, &call, q, stamped) }));
            }
        }
        events.sort_by_key(|(t, _)| *t);
        let mut whole = state();
        for (_, e) in &events {
            prop_assert!(whole.apply(e).is_ok());
        }
        let mut paced = state();
        for (n, part) in events.chunks(chunk).enumerate() {
            for (_, e) in part {
                prop_assert!(paced.apply(e).is_ok());
            }
            let ahead = reads_ahead_ms[n % reads_ahead_ms.len()];
            let _ = paced.snapshot(Ts(part[part.len() - 1].0 + ahead));
        }
        let expected = view(&mut whole, NOW);
        let got = view(&mut paced, NOW);
        prop_assert_eq!(
            serde_json::to_value(&got).expect("json"),
            serde_json::to_value(&expected).expect("json")
        );
        // Nothing on time was late, and the hour holds every call stamped in it.
        prop_assert_eq!(got.engine.counters.late, 0);
        let end = NOW.0.div_euclid(MIN);
        for (qi, name) in queues.iter().enumerate() {
            let offered = calls
                .iter()
                .filter(|c| c.queue == qi)
                .filter(|c| {
                    let b = (NOW.0 - c.queued_ago_ms + c.fast_ms).div_euclid(MIN);
                    b > end - 60 && b <= end
                })
                .count() as u64;
            let hour = got.queue(name).map_or(0, |q| q.windows[3].offered);
            prop_assert_eq!(hour, offered, "queue {}", name);
        }
    }
}

#[test]
fn every_input_fed_map_is_capped_and_counted() {
    let policy = Arc::new(MetricsPolicy {
        max_calls: 2,
        max_agents: 1,
        ..MetricsPolicy::default()
    });
    let mut s = PartitionState::new(policy);
    // Calls: the longest-waiting one makes room for the third.
    s.apply(&queued("q1", "c1", "q", Ts(NOW.0 - 3 * MIN)))
        .expect("ok");
    s.apply(&queued("q2", "c2", "q", Ts(NOW.0 - 2 * MIN)))
        .expect("ok");
    s.apply(&queued("q3", "c3", "q", Ts(NOW.0 - MIN)))
        .expect("ok");
    assert_eq!(s.tracked_calls(), 2);
    let snap = view(&mut s, NOW);
    assert_eq!(snap.engine.counters.call_evicted, 1);
    let q = snap.queue("q").expect("q");
    assert_eq!((q.waiting, q.longest_wait_s), (2, 120.0));
    // Agents: a new agent at the cap replaces the one whose state changed longest ago.
    for (i, agent) in ["a1", "a2"].iter().enumerate() {
        let e = env(
            &format!("s{i}"),
            Ts(NOW.0 - MIN + i as i64),
            Event::AgentState(AgentStateChanged {
                agent_id: (*agent).into(),
                team: "t".into(),
                state: AgentState::Available,
                reason: None,
            }),
        );
        assert_eq!(s.apply(&e), Ok(Applied::Counted), "{agent}");
    }
    // Per-agent call figures of a day: one agent's worth, the second one counted as untracked.
    s.apply(&answered("o2", "c2", "q", Ts(NOW.0 - 30_000)))
        .expect("ok");
    let mut other = answered("o3", "c3", "q", Ts(NOW.0 - 20_000));
    if let Event::CallAnswered(e) = &mut other.event {
        e.agent_id = "someone-else".into();
    }
    s.apply(&other).expect("ok");
    let snap = view(&mut s, NOW);
    let c = snap.engine.counters;
    assert_eq!((c.agent_evicted, c.agent_calls_untracked), (1, 1));
    assert_eq!(snap.agents.len(), 1);
    assert_eq!(&*snap.agents[0].agent_id, "a2");
}

fn transferred(id: &str, call: &str, queue: &str, from: &str, ts: Ts) -> Envelope {
    let mut e = queued(id, call, queue, ts);
    if let Event::CallQueued(q) = &mut e.event {
        q.transferred_from = Some(from.into());
    }
    e
}

#[test]
fn transfers_count_legs_in_queues_and_contacts_in_the_center() {
    let mut s = state();
    let t = |secs: i64| Ts(NOW.0 - 10 * MIN + secs * 1000);
    // t1 waits in "a", is moved to "b" while still waiting (no marker: recognised), and is
    // answered there: 40 s after it first queued, 10 s after it reached "b".
    s.apply(&queued("1", "t1", "a", t(0))).expect("ok");
    s.apply(&queued("2", "t1", "b", t(30))).expect("ok");
    s.apply(&answered("3", "t1", "b", t(40))).expect("ok");
    // t2 is answered in "a" after 5 s, then the agent transfers it to "b" (marked), where it
    // is answered again.
    s.apply(&queued("4", "t2", "a", t(100))).expect("ok");
    s.apply(&answered("5", "t2", "a", t(105))).expect("ok");
    s.apply(&transferred("6", "t2", "b", "a", t(160)))
        .expect("ok");
    s.apply(&answered("7", "t2", "b", t(170))).expect("ok");
    let snap = view(&mut s, NOW);
    let hour = |q: &str| snap.queue(q).expect("queue").windows[3].clone();
    let (a, b) = (hour("a"), hour("b"));
    assert_eq!(
        (a.offered, a.transferred_in, a.transferred_out, a.answered),
        (2, 0, 2, 1)
    );
    assert_eq!(
        (b.offered, b.transferred_in, b.transferred_out, b.answered),
        (2, 2, 0, 2)
    );
    // Queue b's waits are its legs' (10 s each); the center's are the contacts' (40 s, 5 s).
    assert_eq!(b.wait_sum_s, 20.0);
    let center = &snap.center.windows[3];
    assert_eq!((center.offered, center.answered), (2, 2));
    assert_eq!(center.wait_sum_s, 45.0);
    assert_eq!(snap.queue("a").expect("a").waiting, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// Any partition assignment gives the same figures: the same calls spread over two
    /// partitions (each call's events in one, as Kafka keys them), one consumed well ahead
    /// of the other and both read at other instants meanwhile, merge at the read instant to
    /// exactly what one partition holding everything shows.
    #[test]
    fn partitions_at_different_paces_merge_to_one_partition(
        calls in proptest::collection::vec(arb_skewed_call(), 1..30),
        split_seed in any::<u64>(),
        lead in 1usize..20,
    ) {
        let queues = ["q0", "q1"];
        let mut all: Vec<(i64, usize, Envelope)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let (q, call) = (queues[c.queue], format!("c{i}"));
            let part = usize::from(split_seed.rotate_left(i as u32) & 1 == 1);
            let at = NOW.0 - c.queued_ago_ms;
            all.push((at, part, queued(&format!("{call}-q"), &call, q, Ts(at + c.fast_ms))));
            if let Some((answer, wait)) = c.outcome {
                let end = (at + wait).min(NOW.0);
                let stamped = Ts(end + c.fast_ms);
                let id = format!("{call}-o");
                all.push((end, part, if answer { answered(&id, &call, q, stamped) } else { abandoned(&id, &call, q, stamped) }));
            }
        }
        all.sort_by_key(|(t, _, _)| *t);
        let mut one = state();
        for (_, _, e) in &all {
            prop_assert!(one.apply(e).is_ok());
        }
        // Partition 1 runs `lead` events ahead of partition 0, and each is read (at its own
        // newest event time) after every event, as a worker's tick might.
        let mut parts = [state(), state()];
        let streams: Vec<Vec<&Envelope>> = (0..2)
            .map(|p| all.iter().filter(|(_, part, _)| *part == p).map(|(_, _, e)| e).collect())
            .collect();
        let (mut i0, mut i1) = (0, 0);
        while i0 < streams[0].len() || i1 < streams[1].len() {
            let ahead = i1 < streams[1].len() && (i1 < i0 + lead || i0 == streams[0].len());
            let (p, e) = if ahead { i1 += 1; (1, streams[1][i1 - 1]) } else { i0 += 1; (0, streams[0][i0 - 1]) };
            prop_assert!(parts[p].apply(e).is_ok());
            let _ = parts[p].snapshot(e.ts);
        }
        let merged = Snapshot::build(
            1,
            NOW,
            &[Arc::new(parts[0].snapshot(NOW)), Arc::new(parts[1].snapshot(NOW))],
            &Retired::default(),
            &MetricsPolicy::default(),
        );
        let single = view(&mut one, NOW);
        prop_assert_eq!(
            serde_json::to_value(&merged.queues).expect("json"),
            serde_json::to_value(&single.queues).expect("json")
        );
        prop_assert_eq!(
            serde_json::to_value(&merged.center).expect("json"),
            serde_json::to_value(&single.center).expect("json")
        );
        prop_assert_eq!(merged.engine.counters, single.engine.counters);
    }
}
