use std::collections::BTreeSet;

use super::*;

/// Caps, with teams idle after a minute of a clock far ahead of every event.
fn lim(max_teams: usize, max_agents: usize) -> AgentLimits {
    AgentLimits {
        max_teams,
        max_agents,
        name_idle_ms: 60_000,
        clock: Ts(0),
        grace_ms: 0,
    }
}

#[test]
fn newer_agent_state_wins() {
    let mut agents = Agents::new(60_000, 61, Calendar::new("UTC").expect("zone"));
    let caps = &lim(10, 10);
    assert_eq!(
        agents.apply(
            "a1",
            "t",
            (AgentState::OnCall, Activity::Open),
            Ts(2_000),
            caps,
            |_| false
        ),
        AgentUpdate::Applied
    );
    assert_eq!(
        agents.apply(
            "a1",
            "t",
            (AgentState::Available, Activity::Open),
            Ts(1_000),
            caps,
            |_| false
        ),
        AgentUpdate::Stale
    );
    assert_eq!(
        agents.apply(
            "a2",
            "t",
            (AgentState::Aux, Activity::Open),
            Ts(1_000),
            caps,
            |_| false
        ),
        AgentUpdate::Applied
    );
    let view = agents.view(Ts(2_000), &[5], 0);
    let (teams, list) = (view.teams, view.agents);
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0].1, [0, 1, 0, 1, 0]);
    assert_eq!(list[0].state, AgentState::OnCall);
    assert_eq!(list[0].since_ms, 2_000);
    // At the cap the agent whose state changed longest ago makes room: never a
    // permanent lockout of new agents.
    assert_eq!(
        agents.apply(
            "a3",
            "t",
            (AgentState::Aux, Activity::Open),
            Ts(3_000),
            &lim(10, 2),
            |_| { false }
        ),
        AgentUpdate::Applied
    );
    assert_eq!(agents.evicted, 1);
    let ids: Vec<_> = agents
        .view(Ts(3_000), &[5], 0)
        .agents
        .iter()
        .map(|a| a.agent_id.to_string())
        .collect();
    assert_eq!(ids, ["a1", "a3"]);
    // Logged-off agents are forgotten after a while.
    agents.apply(
        "a1",
        "t",
        (AgentState::Offline, Activity::Open),
        Ts(4_000),
        &lim(10, 2),
        |_| false,
    );
    agents.expire_offline(Ts(5_000));
    assert_eq!(agents.view(Ts(6_000), &[5], 0).agents.len(), 1);
    // A flood of new ids: at a cap of 300 the 3 oldest go at once, ties by id.
    let mut agents = Agents::new(60_000, 61, Calendar::new("UTC").expect("zone"));
    for i in 0..300 {
        let at = Ts(10_000 + i64::from(i / 2));
        agents.apply(
            &format!("x{i:03}"),
            "t",
            (AgentState::Aux, Activity::Other),
            at,
            &lim(10, 300),
            |_| false,
        );
    }
    agents.apply(
        "new",
        "t",
        (AgentState::Aux, Activity::Open),
        Ts(20_000),
        &lim(10, 300),
        |_| false,
    );
    assert_eq!(agents.evicted, 3);
    let view = agents.view(Ts(20_000), &[5], 0);
    let kept: BTreeSet<&str> = view.agents.iter().map(|a| &*a.agent_id).collect();
    assert_eq!(kept.len(), 298);
    for gone in ["x000", "x001", "x002"] {
        assert!(!kept.contains(gone), "{gone}");
    }
    assert!(kept.contains("x003") && kept.contains("new"));
}
