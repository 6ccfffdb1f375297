//! Quality evaluations, counted in the evaluated agent's day, and the team's day: both
//! rolled up per team across partitions.

use super::*;
use callpulse_events::{AgentState, CallAnswered, CallCompleted, QaEvaluation};

fn agent_on(s: &mut PartitionState, agent: &str, team: &str) {
    s.apply(&env(
        &format!("{agent}-on"),
        Ts(NOW.0 - 10 * MIN),
        Event::AgentState(AgentStateChanged {
            agent_id: agent.into(),
            team: team.into(),
            state: AgentState::Available,
            reason: None,
        }),
    ))
    .expect("state");
}

fn evaluation(n: u32, agent: &str, score: u32, max_score: u32, critical: u32) -> Envelope {
    env(
        &format!("qa-{n}"),
        Ts(NOW.0 - MIN),
        Event::QaEvaluation(QaEvaluation {
            evaluation_id: format!("qa-{n}"),
            agent_id: agent.into(),
            evaluator_id: "lead".into(),
            form: "calls".into(),
            score,
            max_score,
            critical_failures: critical,
            sections: Vec::new(),
            contact_id: None,
        }),
    )
}

/// Anna: 90/100 (pass), 45/50 with a critical failure (fail). Ben, in another partition:
/// 7/10 (under the 80 % mark). Cleo has no evaluation. Team t: 3 evaluations over 3
/// agents, mean (0.9 + 0.9 + 0.7) / 3, one pass, one critical failure.
#[test]
fn qa_counts_per_agent_and_rolls_up_per_team_across_partitions() {
    let policy = Arc::new(MetricsPolicy::default());
    let mut one = PartitionState::new(Arc::clone(&policy));
    let mut two = PartitionState::new(Arc::clone(&policy));
    agent_on(&mut one, "anna", "t");
    agent_on(&mut one, "cleo", "t");
    agent_on(&mut two, "ben", "t");
    one.apply(&evaluation(1, "anna", 90, 100, 0)).expect("qa");
    // Ben's evaluation lands in partition one (keyed by evaluation id), Anna's second in two.
    one.apply(&evaluation(2, "ben", 7, 10, 0)).expect("qa");
    two.apply(&evaluation(3, "anna", 45, 50, 1)).expect("qa");
    assert_eq!(
        one.apply(&evaluation(1, "anna", 90, 100, 0)),
        Err(Rejection::Duplicate)
    );
    let parts = [Arc::new(one.snapshot(NOW)), Arc::new(two.snapshot(NOW))];
    let snap = Snapshot::build(1, NOW, &parts, &Retired::default(), &policy);
    let qa_of = |agent: &str| {
        snap.agents
            .iter()
            .find(|a| &*a.agent_id == agent)
            .and_then(|a| a.calls_today.as_ref())
            .map(|c| c.qa.clone())
    };
    let anna = qa_of("anna").expect("anna");
    assert_eq!(anna.evaluations, 2);
    assert!((anna.score.expect("score") - 0.9).abs() < 1e-9);
    assert_eq!(
        (anna.pass_rate, anna.critical_failure_rate),
        (Some(0.5), Some(0.5))
    );
    let ben = qa_of("ben").expect("ben");
    assert_eq!((ben.evaluations, ben.pass_rate), (1, Some(0.0)));
    assert_eq!(qa_of("cleo"), None, "no calls, no evaluation");
    let team = &snap
        .teams
        .iter()
        .find(|t| &*t.team == "t")
        .expect("t")
        .day
        .calls_today
        .qa;
    assert_eq!(team.evaluations, 3);
    assert!((team.score.expect("score") - 2.5 / 3.0).abs() < 1e-9);
    assert_eq!(team.pass_rate, Some(1.0 / 3.0));
    assert_eq!(team.critical_failure_rate, Some(1.0 / 3.0));
    assert_eq!(team.per_agent, Some(1.0));
}

#[test]
fn a_stricter_pass_mark_passes_fewer() {
    let policy = Arc::new(MetricsPolicy {
        qa_pass_mark: 0.95,
        ..MetricsPolicy::default()
    });
    let mut s = PartitionState::new(Arc::clone(&policy));
    agent_on(&mut s, "anna", "t");
    s.apply(&evaluation(1, "anna", 90, 100, 0)).expect("qa");
    s.apply(&evaluation(2, "anna", 19, 20, 0)).expect("qa");
    let part = Arc::new(s.snapshot(NOW));
    let snap = Snapshot::build(1, NOW, &[part], &Retired::default(), &policy);
    let team = &snap.teams[0].day.calls_today.qa;
    assert_eq!((team.evaluations, team.pass_rate), (2, Some(0.5)));
}

/// The team's day beside its agents' (the scorecard's comparison): Anna completes two calls
/// (60 + 90 s of talk, 30 s of wrap-up on the second), Ben one (120 s); the team's AHT is
/// their handle time over their calls, whatever partition each call was in.
#[test]
fn the_team_day_merges_its_agents_days() {
    let policy = Arc::new(MetricsPolicy::default());
    let mut one = PartitionState::new(Arc::clone(&policy));
    let mut two = PartitionState::new(Arc::clone(&policy));
    agent_on(&mut one, "anna", "t");
    agent_on(&mut two, "ben", "t");
    let calls = [
        (0, "c1", "anna", (60_000, 0, 0)),
        (1, "c2", "anna", (90_000, 0, 30_000)),
        (1, "c3", "ben", (120_000, 0, 0)),
    ];
    for (which, call, agent, parts) in calls {
        let part = if which == 0 { &mut one } else { &mut two };
        let at = Ts(NOW.0 - 8 * MIN);
        part.apply(&queued(&format!("{call}-q"), call, "q", at))
            .expect("queued");
        part.apply(&env(
            &format!("{call}-a"),
            Ts(at.0 + 10_000),
            Event::CallAnswered(CallAnswered {
                call_id: call.into(),
                queue: "q".into(),
                agent_id: agent.into(),
            }),
        ))
        .expect("answered");
        part.apply(&env(
            &format!("{call}-c"),
            Ts(at.0 + 4 * MIN),
            Event::CallCompleted(CallCompleted {
                call_id: call.into(),
                queue: "q".into(),
                agent_id: agent.into(),
                talk_ms: parts.0,
                hold_ms: parts.1,
                acw_ms: parts.2,
                resolved: None,
            }),
        ))
        .expect("completed");
    }
    let parts = [Arc::new(one.snapshot(NOW)), Arc::new(two.snapshot(NOW))];
    let snap = Snapshot::build(1, NOW, &parts, &Retired::default(), &policy);
    let anna = snap
        .agents
        .iter()
        .find(|a| &*a.agent_id == "anna")
        .and_then(|a| a.calls_today.clone())
        .expect("anna");
    assert_eq!((anna.completed, anna.aht_s), (2, Some(90.0)));
    let day = &snap.teams.iter().find(|t| &*t.team == "t").expect("t").day;
    assert_eq!(day.agents, 2);
    assert_eq!(day.calls_today.completed, 3);
    assert_eq!(day.calls_today.aht_s, Some(100.0));
    // Both agents available for 10 minutes: their day's time adds up.
    let each: Vec<f64> = snap.agents.iter().map(|a| a.today.available_s).collect();
    assert!((day.today.available_s - each.iter().sum::<f64>()).abs() < 1e-9);
    assert!(day.today.available_s > 0.0);
}
