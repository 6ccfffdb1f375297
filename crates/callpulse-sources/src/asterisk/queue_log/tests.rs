//! Hand-built `queue_log` fixtures, one or more per verb and edge case, with the events
//! each must give.

use std::collections::BTreeSet;

use super::*;
use callpulse_events::{DecodeLimits, check};

const T0: i64 = 1_764_579_600; // 2025-12-01T09:00:00Z

fn run(lines: &[String]) -> (Vec<Envelope>, QueueLogMapper) {
    let mut mapper = QueueLogMapper::new(QueueLogOptions::default());
    let mut out = Vec::new();
    for line in lines {
        let _ = mapper.map(line, &mut out);
    }
    // Every event is one the contract accepts.
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    for env in &out {
        check(env, Ts((T0 + 86_400) * 1000), &limits).expect("a valid event");
    }
    (out, mapper)
}

fn l(offset: i64, rest: &str) -> String {
    format!("{}|{rest}", T0 + offset)
}

/// (type, ts offset in ms from T0, call or agent id, extra) for compact assertions.
fn brief(out: &[Envelope]) -> Vec<(String, i64, String, String)> {
    out.iter()
        .map(|e| {
            let at = e.ts.millis() - T0 * 1000;
            match &e.event {
                Event::CallQueued(c) => (
                    "queued".into(),
                    at,
                    c.call_id.clone(),
                    c.customer_id.clone().unwrap_or_default(),
                ),
                Event::CallAnswered(c) => {
                    ("answered".into(), at, c.call_id.clone(), c.agent_id.clone())
                }
                Event::CallAbandoned(c) => {
                    ("abandoned".into(), at, c.call_id.clone(), c.queue.clone())
                }
                Event::CallCompleted(c) => (
                    "completed".into(),
                    at,
                    c.call_id.clone(),
                    format!(
                        "{} talk={} hold={} acw={}",
                        c.agent_id, c.talk_ms, c.hold_ms, c.acw_ms
                    ),
                ),
                Event::AgentState(a) => (
                    "agent".into(),
                    at,
                    a.agent_id.clone(),
                    format!(
                        "{} {}{}",
                        a.team,
                        a.state.as_str(),
                        a.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                ),
                other => ("other".into(), at, format!("{other:?}"), String::new()),
            }
        })
        .collect()
}

fn row(kind: &str, at_ms: i64, id: &str, extra: &str) -> (String, i64, String, String) {
    (kind.into(), at_ms, id.into(), extra.into())
}

#[test]
fn an_answered_call_carries_the_pbxs_own_wait_and_talk_time() {
    let (out, mapper) = run(&[
        l(-60, "NONE|billing|SIP/1001|ADDMEMBER|"),
        l(0, "1.42|billing|NONE|ENTERQUEUE||+4930123456|1"),
        l(5, "1.42|billing|SIP/1001|RINGNOANSWER|5000"),
        // The CONNECT line's second is 13 s after the entry's, the holdtime 12: the
        // answer is stamped at entry + 12 s.
        l(13, "1.42|billing|SIP/1001|CONNECT|12|1.43|7"),
        l(193, "1.42|billing|SIP/1001|COMPLETECALLER|12|180|1"),
    ]);
    assert_eq!(
        brief(&out),
        vec![
            row("agent", -60_000, "SIP/1001", "billing available"),
            row("queued", 0, "1.42@billing", "+4930123456"),
            row("answered", 12_000, "1.42@billing", "SIP/1001"),
            row("agent", 13_000, "SIP/1001", "billing on_call"),
            row(
                "completed",
                193_000,
                "1.42@billing",
                "SIP/1001 talk=180000 hold=0 acw=0"
            ),
            row("agent", 193_000, "SIP/1001", "billing available"),
        ]
    );
    assert_eq!(mapper.stats().ignored.get("RINGNOANSWER"), Some(&1));
    assert_eq!(mapper.open_calls(), 0);
    // COMPLETEAGENT is the same call ended by the agent.
    let (out, _) = run(&[
        l(0, "2.1|q|NONE|ENTERQUEUE||anonymous|1"),
        l(3, "2.1|q|Local/7@agents|CONNECT|3|2.2|1"),
        l(63, "2.1|q|Local/7@agents|COMPLETEAGENT|3|60|1"),
    ]);
    let kinds = brief(&out);
    assert_eq!(
        kinds[0],
        row("queued", 0, "2.1@q", ""),
        "a withheld number is no customer"
    );
    assert_eq!(
        kinds[3],
        row(
            "completed",
            63_000,
            "2.1@q",
            "Local/7@agents talk=60000 hold=0 acw=0"
        )
    );
}

#[test]
fn every_unanswered_exit_ends_the_call_at_entry_plus_its_waittime() {
    let (out, mapper) = run(&[
        l(0, "a|q|NONE|ENTERQUEUE||111|1"),
        l(0, "b|q|NONE|ENTERQUEUE||222|2"),
        l(0, "c|q|NONE|ENTERQUEUE||333|3"),
        l(0, "d|q|NONE|ENTERQUEUE||444|4"),
        l(0, "e|q|NONE|ENTERQUEUE||555|5"),
        // A ring cancelled in the same second as the caller hangs up.
        l(31, "a|q|SIP/1001|RINGCANCELED|1200"),
        l(31, "a|q|NONE|ABANDON|1|1|30"),
        l(60, "b|q|NONE|EXITWITHTIMEOUT|1|2|60"),
        l(2, "c|q|NONE|EXITEMPTY|1|3|2"),
        l(9, "d|q|NONE|EXITWITHKEY|5|1|4|9"),
        l(15, "e|q|NONE|WITHDRAW|1|5"),
    ]);
    let abandons: Vec<_> = brief(&out)
        .into_iter()
        .filter(|r| r.0 == "abandoned")
        .map(|r| (r.2, r.1))
        .collect();
    assert_eq!(
        abandons,
        vec![
            ("a@q".to_owned(), 30_000),
            ("b@q".to_owned(), 60_000),
            ("c@q".to_owned(), 2_000),
            ("d@q".to_owned(), 9_000),
            // WITHDRAW wrote no waittime: the line's own time.
            ("e@q".to_owned(), 15_000),
        ]
    );
    assert_eq!(mapper.stats().ignored.get("RINGCANCELED"), Some(&1));
    assert_eq!(mapper.open_calls(), 0);
}

#[test]
fn transfers_end_the_agents_call_with_its_calltime() {
    let (out, _) = run(&[
        l(0, "t1|q|NONE|ENTERQUEUE||1|1"),
        l(4, "t1|q|SIP/1|CONNECT|4|t1.1|2"),
        l(104, "t1|q|SIP/1|BLINDTRANSFER|200|from-internal|4|100|1"),
        l(0, "t2|q|NONE|ENTERQUEUE||2|1"),
        l(6, "t2|q|SIP/2|CONNECT|6|t2.1|2"),
        // Asterisk 12+ writes BRIDGE, APP or LINK forms with different field counts: the
        // last three are always holdtime|calltime|origposition.
        l(
            56,
            "t2|q|SIP/2|ATTENDEDTRANSFER|LINK|SIP/2-0001|SIP/9-0002|6|50|1",
        ),
        l(0, "t3|q|NONE|ENTERQUEUE||3|1"),
        l(1, "t3|q|SIP/3|CONNECT|1|t3.1|2"),
        l(21, "t3|q|SIP/3|ATTENDEDTRANSFER|BRIDGE|1234-abcd|1|20|1"),
    ]);
    let completed: Vec<_> = brief(&out)
        .into_iter()
        .filter(|r| r.0 == "completed")
        .map(|r| r.3)
        .collect();
    assert_eq!(
        completed,
        vec![
            "SIP/1 talk=100000 hold=0 acw=0",
            "SIP/2 talk=50000 hold=0 acw=0",
            "SIP/3 talk=20000 hold=0 acw=0",
        ]
    );
}

#[test]
fn a_queuestart_ends_the_calls_the_restart_lost() {
    let (out, mapper) = run(&[
        l(0, "w|q|NONE|ENTERQUEUE||1|1"),
        l(0, "x|q|NONE|ENTERQUEUE||2|2"),
        l(5, "x|q|SIP/1|CONNECT|5|x.1|1"),
        l(65, "NONE|NONE|NONE|QUEUESTART|"),
        // After the restart the same callid is a new call.
        l(70, "w|q|NONE|ENTERQUEUE||1|1"),
    ]);
    let b = brief(&out);
    assert!(b.contains(&row("abandoned", 65_000, "w@q", "q")), "{b:?}");
    assert!(
        b.contains(&row(
            "completed",
            65_000,
            "x@q",
            "SIP/1 talk=60000 hold=0 acw=0"
        )),
        "{b:?}"
    );
    assert!(
        b.contains(&row("agent", 65_000, "SIP/1", "q available")),
        "{b:?}"
    );
    assert_eq!(b.last(), Some(&row("queued", 70_000, "w@q", "1")));
    assert_eq!(mapper.stats().lost_on_restart, 2);
    assert_eq!(mapper.open_calls(), 1);
}

#[test]
fn a_log_that_begins_mid_call_infers_the_entry_from_the_pbxs_durations() {
    let (out, mapper) = run(&[
        l(100, "m1|q|SIP/1|COMPLETECALLER|10|90|1"),
        l(50, "m2|q|SIP/2|CONNECT|20|m2.1|1"),
        l(40, "m3|q|NONE|ABANDON|1|1|40"),
    ]);
    let b = brief(&out);
    assert_eq!(b[0], row("queued", 0, "m1@q", ""));
    assert_eq!(b[1], row("answered", 10_000, "m1@q", "SIP/1"));
    assert_eq!(
        b[2],
        row(
            "completed",
            100_000,
            "m1@q",
            "SIP/1 talk=90000 hold=0 acw=0"
        )
    );
    assert!(b.contains(&row("queued", 30_000, "m2@q", "")), "{b:?}");
    assert!(
        b.contains(&row("answered", 50_000, "m2@q", "SIP/2")),
        "{b:?}"
    );
    assert!(b.contains(&row("queued", 0, "m3@q", "")), "{b:?}");
    assert!(b.contains(&row("abandoned", 40_000, "m3@q", "q")), "{b:?}");
    assert_eq!(mapper.stats().inferred_entries, 3);
}

#[test]
fn an_overflowing_callid_is_a_contact_in_each_queue() {
    let (out, _) = run(&[
        l(0, "o|first|NONE|ENTERQUEUE||9|1"),
        l(30, "o|first|NONE|EXITWITHTIMEOUT|1|1|30"),
        l(30, "o|second|NONE|ENTERQUEUE||9|1"),
        l(35, "o|second|SIP/5|CONNECT|5|o.2|1"),
    ]);
    let b = brief(&out);
    assert_eq!(b[0], row("queued", 0, "o@first", "9"));
    assert_eq!(b[1], row("abandoned", 30_000, "o@first", "first"));
    assert_eq!(b[2], row("queued", 30_000, "o@second", "9"));
    assert_eq!(b[3], row("answered", 35_000, "o@second", "SIP/5"));
}

#[test]
fn members_logins_and_pauses_drive_agent_states() {
    let mut options = QueueLogOptions::default();
    options.agent_teams.insert("SIP/1".into(), "north".into());
    let mut mapper = QueueLogMapper::new(options);
    let mut out = Vec::new();
    for line in [
        l(0, "NONE|sales|SIP/1|ADDMEMBER|"),
        l(1, "NONE|billing|SIP/1|ADDMEMBER|"), // already available: nothing new
        l(10, "NONE|NONE|SIP/1|PAUSEALL|lunch"),
        l(11, "NONE|sales|SIP/1|PAUSE|coaching"), // a new reason: written
        l(20, "NONE|NONE|SIP/1|UNPAUSEALL|"),
        l(30, "NONE|sales|SIP/1|REMOVEMEMBER|"),
        l(31, "NONE|billing|SIP/1|REMOVEMEMBER|"), // the last queue: offline
        l(40, "NONE|NONE|Agent/7|AGENTLOGIN|SIP/7-0001"),
        l(50, "c|q|Agent/7|CONNECT|1|c.1|1"),
        l(55, "NONE|NONE|Agent/7|PAUSE|break"), // during the call: after it, aux
        l(60, "c|q|Agent/7|COMPLETEAGENT|1|10|1"),
        l(70, "NONE|NONE|Agent/7|AGENTLOGOFF|SIP/7-0001|30"),
    ] {
        mapper.map(&line, &mut out).expect("line");
    }
    let states: Vec<_> = brief(&out)
        .into_iter()
        .filter(|r| r.0 == "agent")
        .map(|r| (r.1 / 1000, r.2, r.3))
        .collect();
    let want = [
        (0, "SIP/1", "north available"),
        (10, "SIP/1", "north aux (lunch)"),
        (11, "SIP/1", "north aux (coaching)"),
        (20, "SIP/1", "north available"),
        (31, "SIP/1", "north offline"),
        (40, "Agent/7", "unassigned available"),
        (50, "Agent/7", "unassigned on_call"),
        (60, "Agent/7", "unassigned aux (break)"),
        (70, "Agent/7", "unassigned offline"),
    ]
    .map(|(t, a, s)| (t, a.to_owned(), s.to_owned()));
    assert_eq!(states, want);
}

#[test]
fn foreign_verbs_and_broken_lines_are_counted_and_skipped() {
    let mut mapper = QueueLogMapper::new(QueueLogOptions::default());
    let mut out = Vec::new();
    assert!(
        mapper
            .map(&l(0, "j|q|NONE|JOINEMPTY|1|2"), &mut out)
            .is_ok()
    );
    assert!(mapper.map(&l(0, "k|q|SIP/1|OUTDIAL|555"), &mut out).is_ok());
    assert!(
        mapper
            .map(&l(0, "NONE|NONE|NONE|CONFIGRELOAD|"), &mut out)
            .is_ok()
    );
    assert!(mapper.map("", &mut out).is_ok());
    assert_eq!(
        mapper.map(&l(0, "c|q|SIP/1|CONNECT|soon"), &mut out),
        Err(QueueLogError::BadNumber {
            field: "holdtime",
            value: "soon".into()
        })
    );
    assert_eq!(
        mapper.map(&l(0, "c|q|NONE|CONNECT|3|c.1|1"), &mut out),
        Err(QueueLogError::MissingField {
            verb: "CONNECT",
            field: "agent"
        })
    );
    assert_eq!(
        mapper.map("garbage", &mut out),
        Err(QueueLogError::TooFewFields)
    );
    assert!(out.is_empty(), "{out:?}");
    let stats = mapper.stats();
    assert_eq!(stats.lines, 6);
    assert_eq!(stats.unknown.get("JOINEMPTY"), Some(&1));
    assert_eq!(stats.unknown.get("OUTDIAL"), Some(&1));
    assert_eq!(stats.ignored.get("CONFIGRELOAD"), Some(&1));
    assert_eq!(stats.malformed.get("bad_number"), Some(&1));
    assert_eq!(stats.malformed.get("missing_field"), Some(&1));
    assert_eq!(stats.malformed.get("too_few_fields"), Some(&1));
    // A refused line changes nothing: the call it named was never opened.
    assert_eq!(mapper.open_calls(), 0);
}

#[test]
fn a_line_read_twice_gives_the_same_event_ids() {
    let lines = [
        l(0, "r|q|NONE|ENTERQUEUE||1|1"),
        l(4, "r|q|SIP/1|CONNECT|4|r.1|1"),
    ];
    let (first, _) = run(&lines);
    let (again, _) = run(&lines);
    let ids = |v: &[Envelope]| v.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&again));
    let unique: BTreeSet<_> = ids(&first).into_iter().collect();
    assert_eq!(unique.len(), first.len(), "ids are unique within a log");
}

#[test]
fn a_mapper_restored_from_its_state_continues_as_if_never_stopped() {
    let lines = [
        l(-60, "NONE|q|SIP/1|ADDMEMBER|"),
        l(0, "s|q|NONE|ENTERQUEUE||1|1"),
        l(0, "u|q|NONE|ENTERQUEUE||2|2"),
        l(4, "s|q|SIP/1|CONNECT|4|s.1|1"),
        l(9, "NONE|q|SIP/1|PAUSE|break"),
        // Cut here.
        l(30, "u|q|NONE|ABANDON|1|2|30"),
        l(64, "s|q|SIP/1|COMPLETECALLER|4|60|1"),
    ];
    let (whole, _) = run(&lines);
    let mut first = QueueLogMapper::new(QueueLogOptions::default());
    let mut out = Vec::new();
    for line in &lines[..5] {
        first.map(line, &mut out).expect("line");
    }
    // Through its serialized form, as the bridge keeps it.
    let saved = serde_json::to_string(&first.state()).expect("serialize");
    let mut second = QueueLogMapper::with_state(
        QueueLogOptions::default(),
        serde_json::from_str(&saved).expect("deserialize"),
    );
    for line in &lines[5..] {
        second.map(line, &mut out).expect("line");
    }
    assert_eq!(out, whole);
    assert_eq!(second.stats().inferred_entries, 0);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A call as the test means it: the naive reference of what the log says.
    #[derive(Debug, Clone)]
    struct Spec {
        queue: usize,
        enter: i64,
        /// Answered: (holdtime, calltime, how it ended); else an exit: (verb, waittime).
        answered: Option<(i64, i64, usize)>,
        exit: (usize, i64),
        /// The outcome line's second lags entry + wait by this much (timestamp rounding).
        lag: i64,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            0..3usize,
            0..3600i64,
            proptest::option::of((0..600i64, 0..3000i64, 0..4usize)),
            (0..5usize, 0..600i64),
            0..2i64,
        )
            .prop_map(|(queue, enter, answered, exit, lag)| Spec {
                queue,
                enter,
                answered,
                exit,
                lag,
            })
    }

    fn lines(calls: &[Spec]) -> Vec<String> {
        let mut lines: Vec<(i64, usize, String)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let (id, q) = (format!("p.{i}"), ["a", "b", "c"][c.queue]);
            lines.push((c.enter, 0, format!("{id}|{q}|NONE|ENTERQUEUE||{i}|1")));
            match c.answered {
                Some((hold, call, end)) => {
                    let at = c.enter + hold + c.lag;
                    let agent = format!("SIP/{}", i % 5);
                    lines.push((at, 1, format!("{id}|{q}|{agent}|CONNECT|{hold}|x|1")));
                    let done = match end {
                        0 => format!("COMPLETECALLER|{hold}|{call}|1"),
                        1 => format!("COMPLETEAGENT|{hold}|{call}|1"),
                        2 => format!("BLINDTRANSFER|9|ctx|{hold}|{call}|1"),
                        _ => format!("ATTENDEDTRANSFER|BRIDGE|b1|{hold}|{call}|1"),
                    };
                    lines.push((at + call, 2, format!("{id}|{q}|{agent}|{done}")));
                }
                None => {
                    let (verb, wait) = c.exit;
                    let data = match verb {
                        0 => format!("ABANDON|1|1|{wait}"),
                        1 => format!("EXITWITHTIMEOUT|1|1|{wait}"),
                        2 => format!("EXITEMPTY|1|1|{wait}"),
                        3 => format!("EXITWITHKEY|1|1|1|{wait}"),
                        _ => format!("WITHDRAW|1|1|{wait}"),
                    };
                    lines.push((c.enter + wait + c.lag, 1, format!("{id}|{q}|NONE|{data}")));
                }
            }
        }
        // Time order, a call's own lines in their order within a second.
        lines.sort_by_key(|(t, step, _)| (*t, *step));
        lines
            .into_iter()
            .map(|(t, _, rest)| format!("{}|{rest}", T0 + t))
            .collect()
    }

    /// Per call id: (queued ms, outcome ms, agent, talk ms), from the mapper's events.
    fn per_call(out: &[Envelope]) -> BTreeMap<String, (i64, i64, String, i64)> {
        let mut calls: BTreeMap<String, (i64, i64, String, i64)> = BTreeMap::new();
        for e in out {
            let at = e.ts.millis() - T0 * 1000;
            match &e.event {
                Event::CallQueued(c) => calls.entry(c.call_id.clone()).or_default().0 = at,
                Event::CallAnswered(c) => {
                    let row = calls.entry(c.call_id.clone()).or_default();
                    row.1 = at;
                    row.2.clone_from(&c.agent_id);
                }
                Event::CallAbandoned(c) => calls.entry(c.call_id.clone()).or_default().1 = at,
                Event::CallCompleted(c) => {
                    calls.entry(c.call_id.clone()).or_default().3 = c.talk_ms;
                }
                _ => {}
            }
        }
        calls
    }

    proptest! {
        #[test]
        fn every_call_gets_the_pbxs_own_wait_and_talk_time(
            calls in proptest::collection::vec(spec(), 1..40),
            cut in 0.0..1.0f64,
        ) {
            let text = lines(&calls);
            let mut mapper = QueueLogMapper::new(QueueLogOptions::default());
            let mut out = Vec::new();
            for line in &text {
                mapper.map(line, &mut out).expect("a valid line");
            }
            prop_assert_eq!(mapper.open_calls(), 0);
            prop_assert_eq!(mapper.stats().inferred_entries, 0);
            let got = per_call(&out);
            prop_assert_eq!(got.len(), calls.len());
            for (i, c) in calls.iter().enumerate() {
                let q = ["a", "b", "c"][c.queue];
                let want = match c.answered {
                    Some((hold, call, _)) => {
                        (c.enter * 1000, (c.enter + hold) * 1000, format!("SIP/{}", i % 5), call * 1000)
                    }
                    None => (c.enter * 1000, (c.enter + c.exit.1) * 1000, String::new(), 0),
                };
                prop_assert_eq!(got.get(&format!("p.{i}@{q}")), Some(&want), "call {}", i);
            }
            // Stopped anywhere and restored from its saved state: the same events.
            let at = ((text.len() as f64) * cut) as usize;
            let mut first = QueueLogMapper::new(QueueLogOptions::default());
            let mut split = Vec::new();
            for line in &text[..at] {
                first.map(line, &mut split).expect("line");
            }
            let saved = serde_json::to_vec(&first.state()).expect("serialize");
            let mut second = QueueLogMapper::with_state(
                QueueLogOptions::default(),
                serde_json::from_slice(&saved).expect("deserialize"),
            );
            for line in &text[at..] {
                second.map(line, &mut split).expect("line");
            }
            prop_assert_eq!(split, out);
        }
    }
}
