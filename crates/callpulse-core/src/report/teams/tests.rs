use callpulse_events::{AgentSchedule, AgentStateChanged, QaEvaluation, ScheduleSegment};

use super::*;
use crate::calendar::Calendar;
use crate::report::Attribution;

/// Intervals of `interval_secs` in UTC.
fn utc(interval_secs: u32) -> ReportSpec {
    ReportSpec {
        interval_secs,
        calendar: Calendar::utc(),
        attribution: Attribution::Event,
        sl_thresholds_override: None,
    }
}

/// The team rows of a team-level report.
fn team_rows(rows: Vec<StaffRow>) -> Vec<TeamRow> {
    rows.into_iter()
        .map(|row| match row {
            StaffRow::Team(row) => row,
            StaffRow::Agent(row) => panic!("an agent row in a team report: {row:?}"),
        })
        .collect()
}

fn state(id: &str, agent: &str, team: &str, s: AgentState, at: &str) -> Envelope {
    Envelope {
        event_id: id.to_owned(),
        ts: Ts(chrono::DateTime::parse_from_rfc3339(at)
            .expect("time")
            .timestamp_millis()),
        event: Event::AgentState(AgentStateChanged {
            agent_id: agent.to_owned(),
            team: team.to_owned(),
            state: s,
            reason: None,
        }),
    }
}

/// Two agents over two 30-minute intervals, by hand:
/// a1 available 09:00-09:20, on call 09:20-09:40, wrap-up 09:40-09:45, available to 10:00;
/// a2 aux 09:10-10:00 (joins at 09:10).
/// 09:00-09:30: available 20+20 min... a1: available 20, on call 10; a2: aux 20.
/// 09:30-10:00: a1: on call 10, wrap-up 5, available 15; a2: aux 30.
#[test]
fn time_in_state_and_occupancy_per_interval() {
    let policy = MetricsPolicy::default();
    let mut report = TeamReport::new(&policy, utc(1800), StaffLevel::Team);
    use AgentState::*;
    for env in [
        state("1", "a1", "t", Available, "2026-11-30T09:00:00Z"),
        state("2", "a2", "t", Aux, "2026-11-30T09:10:00Z"),
        state("3", "a1", "t", OnCall, "2026-11-30T09:20:00Z"),
        state("3", "a1", "t", OnCall, "2026-11-30T09:20:00Z"),
        state("4", "a1", "t", WrapUp, "2026-11-30T09:40:00Z"),
        state("5", "a1", "t", Available, "2026-11-30T09:45:00Z"),
        state("6", "a2", "t", Offline, "2026-11-30T10:00:00Z"),
        state("7", "a1", "t", Offline, "2026-11-30T10:00:00Z"),
    ] {
        let _ = report.apply(&env);
    }
    let (rows, counters) = report.finish();
    let rows = team_rows(rows);
    assert_eq!(counters.duplicates, 1);
    assert_eq!(counters.applied, 7);
    let first = &rows[0];
    assert_eq!(first.interval_start, "2026-11-30T09:00:00+00:00");
    assert_eq!(first.agents, 2);
    assert_eq!(
        (
            first.time.available_s,
            first.time.on_call_s,
            first.time.aux_s
        ),
        (1200.0, 600.0, 1200.0)
    );
    // (on call + wrap-up) / (available + on call + wrap-up) = 600 / 1800.
    assert_eq!(first.time.occupancy, Some(600.0 / 1800.0));
    let second = &rows[1];
    assert_eq!(
        (
            second.time.available_s,
            second.time.on_call_s,
            second.time.wrap_up_s,
            second.time.aux_s
        ),
        (900.0, 600.0, 300.0, 1800.0)
    );
    assert_eq!(second.time.occupancy, Some(900.0 / 1800.0));
    assert_eq!(rows.len(), 2, "{rows:?}");
}

fn evaluation(id: &str, agent: &str, score: u32, critical: u32, at: &str) -> Envelope {
    Envelope {
        event_id: id.to_owned(),
        ts: Ts(chrono::DateTime::parse_from_rfc3339(at)
            .expect("time")
            .timestamp_millis()),
        event: Event::QaEvaluation(QaEvaluation {
            evaluation_id: id.to_owned(),
            agent_id: agent.to_owned(),
            evaluator_id: "lead".into(),
            form: "f".into(),
            score,
            max_score: 10,
            critical_failures: critical,
            sections: Vec::new(),
            contact_id: None,
        }),
    }
}

/// Per day: a1 (team t) 9/10 and 6/10 on the first day, one with a critical failure;
/// a stranger's evaluation goes to `unknown`; the second day has a1's 8/10.
#[test]
fn quality_per_team_and_day() {
    let policy = MetricsPolicy::default();
    let mut report = TeamReport::new(&policy, utc(86_400), StaffLevel::Team);
    for env in [
        state(
            "1",
            "a1",
            "t",
            AgentState::Available,
            "2026-11-30T09:00:00Z",
        ),
        evaluation("q1", "a1", 9, 0, "2026-11-30T10:00:00Z"),
        evaluation("q2", "a1", 6, 1, "2026-11-30T11:00:00Z"),
        evaluation("q3", "zed", 10, 0, "2026-11-30T12:00:00Z"),
        evaluation("q4", "a1", 8, 0, "2026-12-01T09:00:00Z"),
    ] {
        report.apply(&env).expect("applied");
    }
    let (rows, _) = report.finish();
    let rows = team_rows(rows);
    let row = |day: &str, team: &str| {
        rows.iter()
            .find(|r| r.interval_start.starts_with(day) && r.team == team)
            .unwrap_or_else(|| panic!("{day} {team}: {rows:?}"))
    };
    let t = row("2026-11-30", "t");
    assert_eq!(t.qa_evaluations, 2);
    assert!((t.qa_score.expect("score") - 0.75).abs() < 1e-9);
    assert_eq!(
        (t.qa_pass_rate, t.qa_critical_failure_rate),
        (Some(0.5), Some(0.5))
    );
    assert_eq!(row("2026-11-30", "unknown").qa_evaluations, 1);
    let next = row("2026-12-01", "t");
    assert_eq!((next.qa_evaluations, next.qa_pass_rate), (1, Some(1.0)));
}

fn ts(at: &str) -> Ts {
    Ts(chrono::DateTime::parse_from_rfc3339(at)
        .expect("time")
        .timestamp_millis())
}

/// Open 09:00-10:20, a break 10:20-10:35 across the 10:30 boundary, open to 11:00. The agent
/// takes the break on time and comes back at 10:38: 3 minutes late, 2 of grace.
#[test]
fn adherence_and_shrinkage_per_interval() {
    let policy = MetricsPolicy::default();
    let mut report = TeamReport::new(&policy, utc(1800), StaffLevel::Team);
    let seg = |from: &str, to: &str, activity| ScheduleSegment {
        start: ts(&format!("2026-11-30T{from}:00Z")),
        end: ts(&format!("2026-11-30T{to}:00Z")),
        activity,
    };
    let schedule = Envelope {
        event_id: "s".into(),
        ts: ts("2026-11-29T18:00:00Z"),
        event: Event::AgentSchedule(AgentSchedule {
            agent_id: "a1".into(),
            team: None,
            start: ts("2026-11-30T00:00:00Z"),
            end: ts("2026-12-01T00:00:00Z"),
            segments: vec![
                seg("09:00", "10:20", Activity::Open),
                seg("10:20", "10:35", Activity::Break),
                seg("10:35", "11:00", Activity::Open),
            ],
        }),
    };
    let mut on_break = state("2", "a1", "t", AgentState::Aux, "2026-11-30T10:20:00Z");
    if let Event::AgentState(change) = &mut on_break.event {
        change.reason = Some("break".into());
    }
    for env in [
        schedule,
        state(
            "1",
            "a1",
            "t",
            AgentState::Available,
            "2026-11-30T09:00:00Z",
        ),
        on_break,
        state(
            "3",
            "a1",
            "t",
            AgentState::Available,
            "2026-11-30T10:38:00Z",
        ),
        state("4", "a1", "t", AgentState::Offline, "2026-11-30T11:00:00Z"),
    ] {
        report.apply(&env).expect("applied");
    }
    let (rows, counters) = report.finish();
    let rows = team_rows(rows);
    assert_eq!(counters.applied, 5);
    let row = |start: &str| {
        rows.iter()
            .find(|r| r.interval_start.contains(start))
            .map(|r| &r.adherence)
            .unwrap_or_else(|| panic!("{start}: {rows:?}"))
    };
    let first = row("T10:00");
    assert_eq!((first.scheduled_s, first.out_of_adherence_s), (1800.0, 0.0));
    assert_eq!(
        (first.planned_break_s, first.actual_break_s),
        (600.0, 600.0)
    );
    assert_eq!(first.shrinkage_planned, Some(1.0 / 3.0));
    let second = row("T10:30");
    assert_eq!(second.scheduled_s, 1800.0);
    assert_eq!(
        (second.planned_break_s, second.actual_break_s),
        (300.0, 480.0)
    );
    assert_eq!(second.out_of_adherence_s, 60.0);
    assert_eq!(second.adherence, Some(1.0 - 60.0 / 1800.0));
    assert_eq!((second.worked_s, second.scheduled_open_s), (1320.0, 1500.0));
    assert_eq!(second.conformance, Some(1320.0 / 1500.0));
    assert_eq!(second.shrinkage_actual, Some(480.0 / 1800.0));
    let early = row("T09:00");
    assert_eq!(
        (early.adherence, early.shrinkage_planned),
        (Some(1.0), Some(0.0))
    );
}

fn call_done(id: &str, agent: &str, talk_s: i64, at: &str) -> Envelope {
    Envelope {
        event_id: id.to_owned(),
        ts: ts(at),
        event: Event::CallCompleted(callpulse_events::CallCompleted {
            call_id: id.to_owned(),
            queue: "q".into(),
            agent_id: agent.to_owned(),
            talk_ms: talk_s * 1000,
            hold_ms: 0,
            acw_ms: 20_000,
            resolved: Some(talk_s < 250),
        }),
    }
}

/// The scorecard per interval: a1 handles two calls (100 s and 200 s talk, 20 s wrap-up
/// each) and gets a 5 and a 9; a2 one call of 300 s and a QA of 8/10; b1, never in an
/// agent state, one call (team `unknown`). Each agent's figures beside its team's.
#[test]
fn agent_rows_stand_beside_their_teams() {
    let policy = MetricsPolicy::default();
    let mut report = TeamReport::new(&policy, utc(1800), StaffLevel::Agent);
    use AgentState::*;
    let survey = Envelope {
        event_id: "s1".into(),
        ts: ts("2026-11-30T09:12:00Z"),
        event: Event::CsatResponse(callpulse_events::CsatResponse {
            interaction_id: "c1".into(),
            queue: "q".into(),
            agent_id: Some("a1".into()),
            score: Some(5),
            nps: Some(9),
        }),
    };
    for env in [
        state("1", "a1", "t", Available, "2026-11-30T09:00:00Z"),
        state("2", "a2", "t", Available, "2026-11-30T09:00:00Z"),
        call_done("c1", "a1", 100, "2026-11-30T09:10:00Z"),
        survey,
        call_done("c2", "a1", 200, "2026-11-30T09:20:00Z"),
        call_done("c3", "a2", 300, "2026-11-30T09:25:00Z"),
        call_done("c4", "b1", 60, "2026-11-30T09:26:00Z"),
        evaluation("e1", "a2", 8, 0, "2026-11-30T09:27:00Z"),
        state("3", "a1", "t", Offline, "2026-11-30T09:30:00Z"),
        state("4", "a2", "t", Offline, "2026-11-30T09:30:00Z"),
    ] {
        report.apply(&env).expect("applied");
    }
    let (rows, _) = report.finish();
    let rows: Vec<AgentRow> = rows
        .into_iter()
        .map(|row| match row {
            StaffRow::Agent(row) => row,
            StaffRow::Team(row) => panic!("a team row in an agent report: {row:?}"),
        })
        .collect();
    let row = |agent: &str| {
        rows.iter()
            .find(|r| r.agent == agent && r.interval_start == "2026-11-30T09:00:00+00:00")
            .unwrap_or_else(|| panic!("{agent}: {rows:?}"))
    };
    let (a1, a2, b1) = (row("a1"), row("a2"), row("b1"));
    assert_eq!((a1.calls.completed, a1.calls.aht_s), (2, Some(170.0)));
    assert_eq!((a1.calls.csat, a1.calls.nps), (Some(1.0), Some(100.0)));
    assert_eq!(a1.calls.resolved_reported_ratio, Some(1.0));
    assert_eq!((a2.calls.aht_s, a2.qa_score), (Some(320.0), Some(0.8)));
    // Team t: (120 + 220 + 320) / 3 calls; 3 calls over 2 agents; a2's 8/10 its only QA.
    for r in [a1, a2] {
        assert_eq!(r.team, "t");
        assert_eq!(r.team_agents, 2);
        assert_eq!(r.team_aht_s, Some(660.0 / 3.0));
        assert_eq!(r.team_completed_per_agent, Some(1.5));
        assert_eq!(r.team_resolved_reported_ratio, Some(2.0 / 3.0));
        assert_eq!((r.team_csat, r.team_qa_score), (Some(1.0), Some(0.8)));
        assert_eq!(r.team_occupancy, Some(0.0));
    }
    assert_eq!((b1.team.as_str(), b1.calls.completed), ("unknown", 1));
    assert_eq!(b1.team_agents, 0);
}

fn queued(call: &str, customer: &str, at: &str) -> Envelope {
    Envelope {
        event_id: format!("{call}-q"),
        ts: ts(at),
        event: Event::CallQueued(callpulse_events::CallQueued {
            call_id: call.to_owned(),
            queue: "q".into(),
            customer_id: Some(customer.to_owned()),
            priority: None,
            transferred_from: None,
        }),
    }
}

fn answered(call: &str, agent: &str, at: &str) -> Envelope {
    Envelope {
        event_id: format!("{call}-a"),
        ts: ts(at),
        event: Event::CallAnswered(callpulse_events::CallAnswered {
            call_id: call.to_owned(),
            queue: "q".into(),
            agent_id: agent.to_owned(),
        }),
    }
}

fn ticket(id: &str, customer: &str, at: &str) -> Envelope {
    Envelope {
        event_id: id.to_owned(),
        ts: ts(at),
        event: Event::TicketCreated(callpulse_events::TicketCreated {
            ticket_id: id.to_owned(),
            queue: "email".into(),
            channel: callpulse_events::TicketChannel::Email,
            customer_id: Some(customer.to_owned()),
            priority: None,
        }),
    }
}

/// Repeat-contact FCR per agent, with the 24-hour window, by hand:
/// - x1 (customer k) completed by a1 at 09:10; k calls again at 09:30 (x2): a1 fails.
/// - x3 (customer m) completed by a2 at 09:15; m never comes back: a2 succeeds.
/// - x2 completed by a2 at 09:40: k never comes back: a2 succeeds.
/// - x4 (customer n): its completion by a1 (09:50) arrives before its queueing (09:45);
///   n opens a ticket at 10:00: a1 fails (counted once the window has closed, as the
///   queue report counts failures and successes alike).
/// - x5 (customer p) completed by a2 at 10:05: still open when the history ends
///   (12-01 09:55).
///
/// The queue report of the same events counts the same outcomes in the same intervals.
#[test]
fn fcr_per_agent_is_the_queue_reports_split_by_agent() {
    use AgentState::*;
    let events = vec![
        state("s1", "a1", "t", Available, "2026-11-30T09:00:00Z"),
        state("s2", "a2", "t", Available, "2026-11-30T09:00:00Z"),
        queued("x1", "k", "2026-11-30T09:00:00Z"),
        answered("x1", "a1", "2026-11-30T09:01:00Z"),
        queued("x3", "m", "2026-11-30T09:05:00Z"),
        answered("x3", "a2", "2026-11-30T09:06:00Z"),
        call_done("x1", "a1", 100, "2026-11-30T09:10:00Z"),
        call_done("x3", "a2", 100, "2026-11-30T09:15:00Z"),
        queued("x2", "k", "2026-11-30T09:30:00Z"),
        answered("x2", "a2", "2026-11-30T09:31:00Z"),
        call_done("x2", "a2", 100, "2026-11-30T09:40:00Z"),
        call_done("x4", "a1", 100, "2026-11-30T09:50:00Z"),
        queued("x4", "n", "2026-11-30T09:45:00Z"),
        ticket("t1", "n", "2026-11-30T10:00:00Z"),
        queued("x5", "p", "2026-11-30T10:01:00Z"),
        answered("x5", "a2", "2026-11-30T10:02:00Z"),
        call_done("x5", "a2", 100, "2026-11-30T10:05:00Z"),
        state("s3", "a1", "t", Offline, "2026-11-30T10:30:00Z"),
        state("s4", "a2", "t", Offline, "2026-11-30T10:30:00Z"),
        ticket("t2", "z", "2026-12-01T09:55:00Z"),
    ];
    let policy = MetricsPolicy::default();
    let mut report = TeamReport::new(&policy, utc(1800), StaffLevel::Agent);
    let mut rows = Vec::new();
    for (i, env) in events.iter().enumerate() {
        report.apply(env).expect("applied");
        let written = report.take_final();
        // Rows wait for the FCR window (and the lag, the orphan timeout, the skew): only
        // the next day's event makes the morning's final.
        assert_eq!(written.is_empty(), i + 1 < events.len(), "{written:?}");
        rows.extend(written);
    }
    let (last, counters) = report.finish();
    rows.extend(last);
    assert_eq!((counters.fcr_untracked, counters.late), (0, 0));
    let fcr = |agent: &str, start: &str| {
        rows.iter()
            .find_map(|row| match row {
                StaffRow::Agent(r) if r.agent == agent && r.interval_start.contains(start) => {
                    Some(r.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{agent} {start}: {rows:?}"))
    };
    let (a1, a2) = (fcr("a1", "T09:00"), fcr("a2", "T09:00"));
    assert_eq!((a1.fcr.fcr_eligible, a1.fcr.fcr_success), (1, 0));
    assert_eq!((a2.fcr.fcr_eligible, a2.fcr.fcr_success), (1, 1));
    assert_eq!((a1.team_fcr, a2.team_fcr), (Some(0.5), Some(0.5)));
    let (a1, a2) = (fcr("a1", "T09:30"), fcr("a2", "T09:30"));
    assert_eq!(
        (a1.fcr.fcr_eligible, a1.fcr.fcr, a1.fcr.fcr_open),
        (1, Some(0.0), 0)
    );
    assert_eq!(
        (a2.fcr.fcr_eligible, a2.fcr.fcr, a2.fcr.fcr_open),
        (1, Some(1.0), 0)
    );
    let a2 = fcr("a2", "T10:00");
    assert_eq!(
        (a2.fcr.fcr_eligible, a2.fcr.fcr, a2.fcr.fcr_open),
        (0, None, 1)
    );

    // The queue report, by event time: the same outcomes in the same intervals.
    let mut queues = ReportBuilder::new(Arc::new(policy), utc(1800));
    for env in &events {
        queues.apply(env).expect("applied");
    }
    let (queue_rows, _) = queues.finish();
    for start in ["T09:00", "T09:30", "T10:00"] {
        let q = queue_rows
            .iter()
            .find(|r| r.queue == "q" && r.interval_start.contains(start))
            .expect("queue row");
        let (a1, a2) = (fcr("a1", start), fcr("a2", start));
        assert_eq!(
            (q.fcr_eligible, q.fcr_success, q.fcr_open),
            (
                a1.fcr.fcr_eligible + a2.fcr.fcr_eligible,
                a1.fcr.fcr_success + a2.fcr.fcr_success,
                a1.fcr.fcr_open + a2.fcr.fcr_open
            ),
            "{start}"
        );
    }
}
