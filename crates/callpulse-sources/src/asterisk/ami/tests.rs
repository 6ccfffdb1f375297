//! AMI messages as `app_queue` and `manager.c` send them (Asterisk 13+ field names).

use callpulse_events::{AgentState, Envelope, Event, ExitReason, Ts};

use super::*;

const T0: i64 = 1_796_000_000_000;

fn msg(lines: &[(&str, &str)]) -> String {
    let mut text: String = lines.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    text.push_str("\r\n");
    text
}

fn join(id: &str, queue: &str) -> String {
    msg(&[
        ("Event", "QueueCallerJoin"),
        ("Privilege", "agent,all"),
        ("Channel", "PJSIP/trunk-00000001"),
        ("Uniqueid", id),
        ("Linkedid", id),
        ("CallerIDNum", "+4930555"),
        ("Queue", queue),
        ("Position", "1"),
        ("Count", "1"),
    ])
}

/// Feeds `text` as received at `at_ms` and returns what came out.
fn feed(m: &mut AmiMapper, text: &str, at_ms: i64) -> Vec<Envelope> {
    let mut framer = AmiFramer::new();
    framer.push(text.as_bytes());
    let mut out = Vec::new();
    while let Some(message) = framer.next_message() {
        let _ = m.message(&message, Ts(at_ms), &mut out);
    }
    out
}

#[test]
fn answered_call_carries_the_pbxs_hold_and_talk_time() {
    let mut m = AmiMapper::new(AmiOptions::default());
    let out = feed(&mut m, &join("1700.1", "support"), T0);
    assert!(
        matches!(&out[0].event, Event::CallQueued(q) if q.call_id == "1700.1@support" && q.customer_id.as_deref() == Some("+4930555"))
    );
    // Leave comes just before the connect: not an exit.
    let leave = msg(&[
        ("Event", "QueueCallerLeave"),
        ("Queue", "support"),
        ("Uniqueid", "1700.1"),
        ("Count", "0"),
    ]);
    assert!(feed(&mut m, &leave, T0 + 23_400).is_empty());
    let connect = msg(&[
        ("Event", "AgentConnect"),
        ("Queue", "support"),
        ("Uniqueid", "1700.1"),
        ("MemberName", "Anna"),
        ("Interface", "PJSIP/1001"),
        ("HoldTime", "23"),
        ("RingTime", "4"),
    ]);
    let out = feed(&mut m, &connect, T0 + 23_500);
    assert_eq!(out[0].ts, Ts(T0 + 23_000), "join + HoldTime");
    assert!(
        matches!(&out[1].event, Event::AgentState(s) if s.state == AgentState::OnCall && s.team == "support")
    );
    let complete = msg(&[
        ("Event", "AgentComplete"),
        ("Queue", "support"),
        ("Uniqueid", "1700.1"),
        ("MemberName", "Anna"),
        ("HoldTime", "23"),
        ("TalkTime", "310"),
        ("Reason", "caller"),
    ]);
    // Much later than the grace: the leave was settled by the answer, not as an exit.
    let out = feed(&mut m, &complete, T0 + 400_000);
    let Event::CallCompleted(c) = &out[0].event else {
        panic!("{out:?}")
    };
    assert_eq!(c.talk_ms, 310_000);
    assert_eq!(out[0].ts, Ts(T0 + 23_000 + 310_000));
    assert!(matches!(&out[1].event, Event::AgentState(s) if s.state == AgentState::Available));
    assert_eq!((m.stats().other_exits, m.open_calls()), (0, 0));
}

#[test]
fn a_hangup_is_abandoned_and_a_bare_leave_is_an_other_exit_after_the_grace() {
    let mut m = AmiMapper::new(AmiOptions::default());
    feed(
        &mut m,
        &format!("{}{}", join("1.1", "sales"), join("1.2", "sales")),
        T0,
    );
    let abandon = msg(&[
        ("Event", "QueueCallerAbandon"),
        ("Queue", "sales"),
        ("Uniqueid", "1.1"),
        ("Position", "1"),
        ("OriginalPosition", "1"),
        ("HoldTime", "41"),
    ]);
    let leave = |id: &str| {
        msg(&[
            ("Event", "QueueCallerLeave"),
            ("Queue", "sales"),
            ("Uniqueid", id),
        ])
    };
    let out = feed(&mut m, &format!("{abandon}{}", leave("1.1")), T0 + 41_300);
    assert_eq!(out.len(), 1);
    assert!(
        matches!(&out[0].event, Event::CallAbandoned(x) if x.reason == Some(ExitReason::Hangup))
    );
    assert_eq!(out[0].ts, Ts(T0 + 41_000));
    // A timeout: a leave only. Nothing until the grace has passed, then an exit at the leave.
    // The PBX stamps its events (timestampevents) an hour behind the bridge's clock: the
    // grace is measured from the leave's receipt all the same.
    let stamped = msg(&[
        ("Event", "QueueCallerLeave"),
        ("Timestamp", "1795996460.0"),
        ("Queue", "sales"),
        ("Uniqueid", "1.2"),
    ]);
    assert!(feed(&mut m, &stamped, T0 + 60_000).is_empty());
    let mut out = Vec::new();
    m.tick(Ts(T0 + 61_000), &mut out);
    assert!(out.is_empty());
    m.tick(Ts(T0 + 62_000), &mut out);
    assert!(
        matches!(&out[0].event, Event::CallAbandoned(x) if x.reason == Some(ExitReason::Other))
    );
    assert_eq!(out[0].ts, Ts(1_795_996_460_000));
    assert_eq!(m.stats().other_exits, 1);
}

#[test]
fn timestamps_pauses_mid_call_starts_and_bad_messages() {
    let mut teams = BTreeMap::new();
    teams.insert("Ben".to_owned(), "north".to_owned());
    let mut m = AmiMapper::new(AmiOptions { agent_teams: teams });
    // timestampevents = yes: the header's time wins over the receive time.
    let pause = msg(&[
        ("Event", "QueueMemberPause"),
        ("Timestamp", "1796000100.250000"),
        ("Queue", "support"),
        ("MemberName", "Ben"),
        ("Interface", "PJSIP/1002"),
        ("Paused", "1"),
        ("PausedReason", "lunch"),
    ]);
    let out = feed(&mut m, &pause, T0 + 999_999);
    assert_eq!(out[0].ts, Ts(1_796_000_100_250));
    assert!(
        matches!(&out[0].event, Event::AgentState(s) if s.state == AgentState::Aux && s.reason.as_deref() == Some("lunch") && s.team == "north")
    );
    // Connected before the bridge was: the join is inferred from HoldTime.
    let connect = msg(&[
        ("Event", "AgentConnect"),
        ("Queue", "support"),
        ("Uniqueid", "9.9"),
        ("MemberName", "Ben"),
        ("HoldTime", "12"),
    ]);
    let out = feed(&mut m, &connect, T0 + 50_000);
    assert!(matches!(&out[0].event, Event::CallQueued(_)));
    assert_eq!(out[0].ts, Ts(T0 + 38_000));
    assert_eq!(m.stats().inferred_joins, 1);
    // Responses and other events pass; a broken queue event is counted.
    let noise = format!(
        "{}{}{}",
        msg(&[
            ("Response", "Success"),
            ("Message", "Authentication accepted")
        ]),
        msg(&[("Event", "FullyBooted"), ("Status", "Fully Booted")]),
        msg(&[
            ("Event", "AgentConnect"),
            ("Queue", "support"),
            ("Uniqueid", "9.8"),
            ("MemberName", "Ben"),
            ("HoldTime", "soon")
        ]),
    );
    assert!(feed(&mut m, &noise, T0 + 60_000).is_empty());
    assert_eq!(m.stats().ignored.get("FullyBooted"), Some(&1));
    assert_eq!(m.stats().malformed.get("bad_number"), Some(&1));
}

#[test]
fn a_member_goes_offline_when_its_last_queue_goes() {
    let mut m = AmiMapper::new(AmiOptions::default());
    let member = |event: &str, queue: &str| {
        msg(&[
            ("Event", event),
            ("Queue", queue),
            ("MemberName", "Cleo"),
            ("Interface", "PJSIP/1003"),
            ("Paused", "0"),
        ])
    };
    let states = |out: Vec<Envelope>| -> Vec<AgentState> {
        out.iter()
            .filter_map(|e| match &e.event {
                Event::AgentState(s) => Some(s.state),
                _ => None,
            })
            .collect()
    };
    let added = format!(
        "{}{}",
        member("QueueMemberAdded", "support"),
        member("QueueMemberAdded", "sales")
    );
    assert_eq!(states(feed(&mut m, &added, T0)), [AgentState::Available; 2]);
    assert_eq!(
        states(feed(
            &mut m,
            &member("QueueMemberRemoved", "sales"),
            T0 + 1_000
        )),
        [AgentState::Available],
        "still in support"
    );
    assert_eq!(
        states(feed(
            &mut m,
            &member("QueueMemberRemoved", "support"),
            T0 + 2_000
        )),
        [AgentState::Offline]
    );
}
