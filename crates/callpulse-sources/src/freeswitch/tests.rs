//! mod_callcenter's events as its event socket sends them, built from the headers the
//! module writes (`mod_callcenter.c`): each action, each cancel reason, agents' statuses.

use callpulse_events::{AgentState, Envelope, Event, ExitReason};

use super::esl::event_frame;
use super::*;

const JOINED: i64 = 1_796_000_000;

fn cc(action: &str, extra: &[(&str, &str)]) -> String {
    let mut headers = vec![
        ("Event-Name", "CUSTOM"),
        ("Core-UUID", "3a8b5c7e-core"),
        ("Event-Subclass", "callcenter::info"),
        ("CC-Action", action),
    ];
    headers.extend_from_slice(extra);
    event_frame(&headers)
}

fn member(action: &str, uuid: &str, extra: &[(&str, &str)]) -> String {
    let joined = JOINED.to_string();
    let mut headers = vec![
        ("CC-Queue", "support@default"),
        ("CC-Member-UUID", uuid),
        ("CC-Member-Session-UUID", "sess-1"),
        ("CC-Member-CID-Number", "+4930999"),
        ("CC-Member-CID-Name", "Jane Doe"),
        ("CC-Member-Joined-Time", joined.as_str()),
    ];
    headers.extend_from_slice(extra);
    cc(action, &headers)
}

fn run(mapper: &mut CallcenterMapper, stream: &str) -> Vec<Envelope> {
    let mut out = Vec::new();
    mapper.push(stream.as_bytes(), &mut out).expect("framed");
    out
}

#[test]
fn an_answered_member_carries_the_modules_wait_and_talk_time() {
    let (answered, ended) = ((JOINED + 17).to_string(), (JOINED + 17 + 245).to_string());
    let agent = [
        ("CC-Agent", "1001@default"),
        ("CC-Agent-Type", "callback"),
        ("CC-Agent-Called-Time", "1796000015"),
        ("CC-Agent-Answered-Time", answered.as_str()),
    ];
    let mut end = agent.to_vec();
    end.extend([
        ("CC-Bridge-Terminated-Time", ended.as_str()),
        ("CC-Hangup-Cause", "NORMAL_CLEARING"),
    ]);
    let leaving = (JOINED + 262).to_string();
    let stream = [
        // A command reply and a foreign event on the same socket are skipped.
        "Content-Type: command/reply\nReply-Text: +OK accepted\n\n".to_owned(),
        event_frame(&[("Event-Name", "HEARTBEAT"), ("Event-Info", "System Ready")]),
        member("member-queue-start", "m-1", &[]),
        cc("agent-offering", &[("CC-Agent", "1001@default")]),
        member("bridge-agent-start", "m-1", &agent),
        member("bridge-agent-end", "m-1", &end),
        member(
            "member-queue-end",
            "m-1",
            &[
                ("CC-Cause", "Terminated"),
                ("CC-Member-Leaving-Time", leaving.as_str()),
            ],
        ),
    ]
    .concat();
    let mut m = CallcenterMapper::new(FreeswitchOptions::default());
    let out = run(&mut m, &stream);
    assert_eq!(out.len(), 3, "{out:?}");
    let Event::CallQueued(q) = &out[0].event else {
        panic!("{out:?}")
    };
    assert_eq!(
        (q.queue.as_str(), q.customer_id.as_deref()),
        ("support@default", Some("+4930999"))
    );
    assert_eq!(
        out[1].ts.millis_since(out[0].ts),
        17_000,
        "the module's wait"
    );
    let Event::CallCompleted(c) = &out[2].event else {
        panic!("{out:?}")
    };
    assert_eq!((c.talk_ms, c.hold_ms, c.acw_ms), (245_000, 0, 0));
    assert_eq!(m.open_members(), 0);
    assert_eq!(m.stats().other_frames, 2);
    assert_eq!(m.stats().ignored.get("agent-offering"), Some(&1));
}

#[test]
fn each_cancel_reason_is_an_exit_reason() {
    let mut m = CallcenterMapper::new(FreeswitchOptions::default());
    for (i, (cancel, reason)) in [
        ("NONE", ExitReason::Hangup),
        ("TIMEOUT", ExitReason::Timeout),
        ("NO_AGENT_TIMEOUT", ExitReason::NoAgents),
        ("BREAK_OUT", ExitReason::Key),
        ("EXIT_WITH_KEY", ExitReason::Key),
    ]
    .into_iter()
    .enumerate()
    {
        let uuid = format!("m-x{i}");
        let leaving = (JOINED + 40).to_string();
        let stream = [
            member("member-queue-start", &uuid, &[]),
            member(
                "member-queue-end",
                &uuid,
                &[
                    ("CC-Cause", "Cancel"),
                    ("CC-Cancel-Reason", cancel),
                    ("CC-Member-Leaving-Time", leaving.as_str()),
                ],
            ),
        ]
        .concat();
        let out = run(&mut m, &stream);
        let Event::CallAbandoned(x) = &out[1].event else {
            panic!("{out:?}")
        };
        assert_eq!(x.reason, Some(reason), "{cancel}");
        assert_eq!(out[1].ts.millis_since(out[0].ts), 40_000);
    }
}

#[test]
fn a_resumed_member_is_queued_once_and_broken_events_are_counted() {
    let mut m = CallcenterMapper::new(FreeswitchOptions::default());
    let stream = [
        member("member-queue-resume", "m-r", &[]),
        member("member-queue-resume", "m-r", &[]),
        cc("member-queue-start", &[("CC-Queue", "support@default")]),
        member(
            "bridge-agent-start",
            "m-r",
            &[
                ("CC-Agent", "1002@default"),
                ("CC-Agent-Answered-Time", "soon"),
            ],
        ),
    ]
    .concat();
    let out = run(&mut m, &stream);
    assert_eq!(out.len(), 1);
    assert_eq!(m.stats().resumed, 1);
    assert_eq!(m.stats().malformed.get("missing_header"), Some(&1));
    assert_eq!(m.stats().malformed.get("bad_time"), Some(&1));
    // A broken frame ends the stream's framing: an error, counted.
    let mut out = Vec::new();
    assert!(m.push(b"Content-Length: x\n\n", &mut out).is_err());
    assert_eq!(m.stats().malformed.get("bad_frame"), Some(&1));
}

#[test]
fn agents_status_and_state_make_the_contract_state() {
    let mut teams = BTreeMap::new();
    teams.insert("1001@default".to_owned(), "support-team".to_owned());
    let mut m = CallcenterMapper::new(FreeswitchOptions { agent_teams: teams });
    let mut at = 1_796_000_000_000_000i64;
    let mut step = |m: &mut CallcenterMapper, action: &str, header: &str, value: &str| {
        at += 1_000_000;
        let ts = at.to_string();
        let out = run(
            m,
            &cc(
                action,
                &[
                    ("CC-Agent", "1001@default"),
                    (header, value),
                    ("Event-Date-Timestamp", ts.as_str()),
                ],
            ),
        );
        match &out[..] {
            [
                Envelope {
                    event: Event::AgentState(s),
                    ..
                },
            ] => {
                assert_eq!(s.team, "support-team");
                (s.state, s.reason.clone())
            }
            other => panic!("{other:?}"),
        }
    };
    let status = "agent-status-change";
    let state = "agent-state-change";
    assert_eq!(
        step(&mut m, status, "CC-Agent-Status", "Available"),
        (AgentState::Available, None)
    );
    assert_eq!(
        step(&mut m, state, "CC-Agent-State", "In a queue call"),
        (AgentState::OnCall, None)
    );
    assert_eq!(
        step(&mut m, state, "CC-Agent-State", "Waiting"),
        (AgentState::Available, None)
    );
    assert_eq!(
        step(&mut m, status, "CC-Agent-Status", "On Break"),
        (AgentState::Aux, Some("On Break".into()))
    );
    assert_eq!(
        step(&mut m, status, "CC-Agent-Status", "Logged Out"),
        (AgentState::Offline, None)
    );
}
