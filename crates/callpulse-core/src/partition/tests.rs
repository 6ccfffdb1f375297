use callpulse_events::{
    AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued, CsatResponse,
    ExitReason,
};
use proptest::prelude::*;

use super::*;
use crate::policy::{QueuePolicy, SlFormula};
use crate::snapshot::Snapshot;

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
        Event::CallAbandoned(CallAbandoned::new(call, queue)),
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
            score: Some(score),
            nps: None,
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
    let mut policy = MetricsPolicy {
        max_queues: 1,
        max_teams: 1,
        ..MetricsPolicy::default()
    };
    // Names the configuration knows are admitted past the caps, whatever junk came first.
    policy.queues.insert(
        "vip".into(),
        QueuePolicy {
            team: Some("vip-team".into()),
            ..QueuePolicy::default()
        },
    );
    let policy = Arc::new(policy);
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
    s.apply(&queued("e3", "c3", "vip", NOW))
        .expect("a configured queue past the cap");
    s.apply(&agent("a3", "vip-team"))
        .expect("a configured queue's team past the cap");
    assert_eq!(
        s.apply(&queued("e4", "c4", "junk", NOW)),
        Err(Rejection::TooManyNames("queue"))
    );
    assert_eq!(s.agents_in(AgentState::Available), 2);
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

/// A partition given away and restored here later: the snapshot's totals count its history
/// once (the restored state holds what was retired of it), while the Prometheus view counts
/// what this process applied, so neither double counts nor goes down.
#[test]
fn a_partition_that_comes_back_is_counted_once() {
    let policy = MetricsPolicy::default();
    let topic: Arc<str> = Arc::from("calls");
    let mut s = state();
    s.apply(&queued("e1", "c1", "q", NOW)).expect("ok");
    s.apply(&queued("e2", "c2", "q", NOW)).expect("ok");
    let bytes = s.checkpoint();
    let mut retired = Retired::default();
    retired.retire(&topic, 0, &s.snapshot(NOW));
    let gone = Snapshot::build(1, NOW, &[], &retired, &policy);
    let q = gone.queue("q").expect("q");
    assert_eq!((q.totals.offered, q.counted.offered), (2, 2));
    // It comes back from its checkpoint, and one more call arrives.
    let mut back = PartitionState::restore(Arc::new(policy.clone()), &bytes).expect("restores");
    retired.restore(&topic, 0, &back.snapshot(NOW));
    back.apply(&queued("e3", "c3", "q", NOW)).expect("ok");
    let snap = Snapshot::build(2, NOW, &[Arc::new(back.snapshot(NOW))], &retired, &policy);
    let q = snap.queue("q").expect("q");
    assert_eq!(q.totals.offered, 3, "the partition's history, once");
    assert_eq!(
        q.counted.offered, 3,
        "two applied before it left, one since"
    );
    assert_eq!(snap.engine.counters.applied, 3);
    assert_eq!(snap.engine.counted_here().applied, 3);
}

/// One generated call: queue, queued time (ms before NOW), outcome and wait, completion.
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

mod adherence;
mod names;
mod org;
mod plan;
mod properties;
mod quality;
mod rollups;
mod vendor_sl;

#[test]
fn a_completion_before_its_queueing_still_settles_fcr() {
    let with_customer = |id: &str, call: &str, ts: Ts| {
        let mut e = queued(id, call, "q", ts);
        if let Event::CallQueued(q) = &mut e.event {
            q.customer_id = Some("k".into());
        }
        e
    };
    let mut s = state();
    let t = |secs: i64| Ts(NOW.0 - 10 * MIN + secs * 1000);
    // c1's completion is delivered first, then its queueing and answer.
    s.apply(&completed("d1", "c1", "q", t(200), (100_000, 0, 10_000)))
        .expect("ok");
    s.apply(&with_customer("q1", "c1", t(0))).expect("ok");
    s.apply(&answered("a1", "c1", "q", t(10))).expect("ok");
    // The customer calls again after c1 completed: c1 was not resolved first time.
    s.apply(&with_customer("q2", "c2", t(300))).expect("ok");
    let mut tracker = crate::FcrTracker::for_policy(&MetricsPolicy::default());
    tracker.apply_all(s.drain_fcr_facts());
    let (_, q) = tracker
        .view(NOW, &MetricsPolicy::default())
        .into_iter()
        .next()
        .expect("queue q");
    assert_eq!((q.totals.eligible, q.totals.success), (1, 0));
}
