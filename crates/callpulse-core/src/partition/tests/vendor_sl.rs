//! The vendors' service-level formulas through the whole path: events applied to a
//! partition, the snapshot built, each queue's window read.

use super::*;
use callpulse_events::AgentState;

/// Six calls against a 30 s threshold: answered after 15 s and 45 s; abandoned after 1 s
/// (short), 20 s and 40 s; one still waiting.
#[test]
fn vendor_formulas_count_abandons_within_the_threshold() {
    let mut policy = MetricsPolicy::default();
    let formulas = [
        ("ast1", SlFormula::AsteriskSl),
        ("ast2", SlFormula::AsteriskSl2),
        ("connect", SlFormula::RemovedWithin),
        ("ours", SlFormula::AnsweredAbandoned),
    ];
    for (queue, formula) in formulas {
        policy.queues.insert(
            queue.into(),
            QueuePolicy {
                sl_thresholds_secs: vec![30, 60],
                short_abandon_secs: 5,
                sl_formula: formula,
                ..QueuePolicy::default()
            },
        );
    }
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    let start = NOW.0 - 3 * MIN;
    for (queue, _) in formulas {
        let call = |n: u32| format!("{queue}-c{n}");
        let id = |n: u32, verb: &str| format!("{queue}-{n}-{verb}");
        for n in 1..=6 {
            s.apply(&queued(&id(n, "q"), &call(n), queue, Ts(start)))
                .expect("queued");
        }
        for (n, wait_s) in [(1, 15), (2, 45)] {
            s.apply(&answered(
                &id(n, "a"),
                &call(n),
                queue,
                Ts(start + wait_s * 1000),
            ))
            .expect("answered");
        }
        for (n, wait_s) in [(3, 1), (4, 20), (5, 40)] {
            s.apply(&abandoned(
                &id(n, "x"),
                &call(n),
                queue,
                Ts(start + wait_s * 1000),
            ))
            .expect("abandoned");
        }
    }
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let window = |queue: &str| snap.queue(queue).expect("queue").windows[0].clone();
    let sl = |queue: &str| {
        let w = window(queue);
        (w.sl_numerator[&30], w.sl_numerator[&60], w.sl_denominator)
    };
    // Asterisk SL: answered within / answered.
    assert_eq!(sl("ast1"), (1, 2, 2));
    // Asterisk SL2: (answered + abandoned within) / (answered + abandoned), the short abandon
    // counted like any other.
    assert_eq!(sl("ast2"), (1 + 2, 2 + 3, 2 + 3));
    // Connect: removed from the queue within / every call queued, the waiting one too.
    assert_eq!(sl("connect"), (1 + 2, 2 + 3, 6));
    // Ours: answered within / (answered + abandoned - short).
    assert_eq!(sl("ours"), (1, 2, 2 + 2));
    let w = window("ast2");
    assert_eq!(w.service_level[&30], Some(0.6));
    assert_eq!(
        w.answered_within[&30], 1,
        "the raw part stays answered only"
    );
    let totals = &snap.queue("ast2").expect("queue").totals;
    assert_eq!(
        totals.abandoned_within,
        [(30, 2), (60, 3)].into_iter().collect()
    );
}

/// Asterisk's rule: a key pressed to leave is no abandon, a timeout is. Under `asterisk_sl2`
/// the key exit is in neither side of the formula, and in the center's count of exits too.
#[test]
fn exits_the_policy_names_are_not_abandons() {
    let mut policy = MetricsPolicy::default();
    policy.queues.insert(
        "pbx".into(),
        QueuePolicy {
            sl_thresholds_secs: vec![30],
            sl_formula: SlFormula::AsteriskSl2,
            exits_not_abandoned: vec![ExitReason::Key],
            ..QueuePolicy::default()
        },
    );
    let policy = Arc::new(policy);
    let mut s = PartitionState::new(Arc::clone(&policy));
    let start = NOW.0 - 3 * MIN;
    let leave = |id: &str, call: &str, wait_s: i64, reason: Option<ExitReason>| {
        env(
            id,
            Ts(start + wait_s * 1000),
            Event::CallAbandoned(CallAbandoned {
                reason,
                ..CallAbandoned::new(call, "pbx")
            }),
        )
    };
    for call in ["c1", "c2", "c3", "c4"] {
        s.apply(&queued(&format!("{call}-q"), call, "pbx", Ts(start)))
            .expect("queued");
    }
    s.apply(&answered("c1-a", "c1", "pbx", Ts(start + 10_000)))
        .expect("answered");
    for event in [
        leave("c2-x", "c2", 12, Some(ExitReason::Key)),
        leave("c3-x", "c3", 25, Some(ExitReason::Timeout)),
        leave("c4-x", "c4", 50, None),
    ] {
        s.apply(&event).expect("left");
    }
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let w = &snap.queue("pbx").expect("queue").windows[0];
    assert_eq!((w.offered, w.answered, w.abandoned, w.exited), (4, 1, 2, 1));
    // (answered within + abandoned within) / (answered + abandoned): (1 + 1) / (1 + 2).
    assert_eq!((w.sl_numerator[&30], w.sl_denominator), (2, 3));
    let center = &snap.center.windows[0];
    assert_eq!((center.abandoned, center.exited), (2, 1));
}

/// NPS from the answers 0, 6, 7, 9, 10: two promoters, two detractors, one passive: 0.
/// Then 10, 10, 3 more: 4 promoters and 3 detractors of 8, +12.5. The agent's own NPS
/// counts the answers that name it; a CSAT-less survey moves no CSAT figure.
#[test]
fn nps_counts_promoters_detractors_and_passives() {
    let policy = Arc::new(MetricsPolicy::default());
    let mut s = PartitionState::new(Arc::clone(&policy));
    let survey = |n: usize, nps: u8, agent: Option<&str>| {
        env(
            &format!("s-{n}"),
            Ts(NOW.0 - MIN),
            Event::CsatResponse(CsatResponse {
                interaction_id: format!("c-{n}"),
                queue: "q".into(),
                agent_id: agent.map(str::to_owned),
                score: None,
                nps: Some(nps),
            }),
        )
    };
    s.apply(&env(
        "anna-on",
        Ts(NOW.0 - 2 * MIN),
        Event::AgentState(AgentStateChanged {
            agent_id: "anna".into(),
            team: "t".into(),
            state: AgentState::Available,
            reason: None,
        }),
    ))
    .expect("state");
    for (n, answer) in [0, 6, 7, 9, 10].into_iter().enumerate() {
        s.apply(&survey(n, answer, Some("anna"))).expect("survey");
    }
    let snap = |s: &mut PartitionState| {
        let part = Arc::new(s.snapshot(NOW));
        Snapshot::build(1, NOW, &[part], &Retired::default(), &policy)
    };
    let first = snap(&mut s);
    let w = &first.queue("q").expect("q").windows[0];
    assert_eq!(
        (w.nps_responses, w.nps_promoters, w.nps_detractors, w.nps),
        (5, 2, 2, Some(0.0))
    );
    assert_eq!((w.csat_responses, w.csat), (0, None));
    for (n, answer) in [10, 10, 3].into_iter().enumerate() {
        s.apply(&survey(10 + n, answer, None)).expect("survey");
    }
    let second = snap(&mut s);
    let w = &second.queue("q").expect("q").windows[0];
    assert_eq!((w.nps_responses, w.nps), (8, Some(12.5)));
    assert_eq!(second.center.windows[0].nps, Some(12.5));
    let anna = second
        .agents
        .iter()
        .find(|a| &*a.agent_id == "anna")
        .and_then(|a| a.calls_today.as_ref())
        .expect("anna's figures");
    assert_eq!((anna.nps_responses, anna.nps), (5, Some(0.0)));
}
