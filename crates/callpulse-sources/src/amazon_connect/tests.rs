//! Hand-built records in the shape Amazon Connect writes them (the contact record and agent
//! event data models), trimmed to the fields that matter plus a few that do not.

use callpulse_events::{AgentState, Envelope, Event, ExitReason, Ts};
use serde_json::json;

use super::*;

fn at(text: &str) -> Ts {
    time("test", text).expect("time")
}

fn map(mapper: &mut ConnectMapper, value: &serde_json::Value) -> Vec<Envelope> {
    let mut out = Vec::new();
    mapper.map(&value.to_string(), &mut out).expect("maps");
    out
}

fn answered_record() -> serde_json::Value {
    json!({
        "AWSAccountId": "123456789012",
        "Channel": "VOICE",
        "ContactId": "c-1",
        "InitialContactId": null,
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-11-30T09:00:00Z",
        "DisconnectTimestamp": "2026-11-30T09:06:10Z",
        "DisconnectReason": "CUSTOMER_DISCONNECT",
        "CustomerEndpoint": {"Address": "+4930123456", "Type": "TELEPHONE_NUMBER"},
        "Queue": {
            "Name": "billing",
            "ARN": "arn:aws:connect:eu-central-1:123456789012:instance/i/queue/q1",
            "EnqueueTimestamp": "2026-11-30T09:00:20Z",
            "DequeueTimestamp": "2026-11-30T09:00:57Z",
            "Duration": 37
        },
        "Agent": {
            "Username": "anna",
            "ARN": "arn:aws:connect:eu-central-1:123456789012:instance/i/agent/a1",
            "ConnectedToAgentTimestamp": "2026-11-30T09:00:58Z",
            "AgentInteractionDuration": 280,
            "CustomerHoldDuration": 32,
            "NumberOfHolds": 1,
            "AfterContactWorkStartTimestamp": "2026-11-30T09:06:10Z",
            "AfterContactWorkEndTimestamp": "2026-11-30T09:06:55Z",
            "AfterContactWorkDuration": 45
        },
        "Attributes": {"greetingPlayed": "true"}
    })
}

#[test]
fn an_answered_contact_carries_connects_own_wait_and_handle_parts() {
    let mut m = ConnectMapper::new();
    let out = map(&mut m, &answered_record());
    assert_eq!(out.len(), 3, "{out:?}");
    let Event::CallQueued(q) = &out[0].event else {
        panic!("{out:?}")
    };
    assert_eq!((q.call_id.as_str(), q.queue.as_str()), ("c-1", "billing"));
    assert_eq!(q.customer_id.as_deref(), Some("+4930123456"));
    assert_eq!(out[0].ts, at("2026-11-30T09:00:20Z"));
    // Answered at enqueue + Queue.Duration: the wait is Connect's 37 s.
    assert!(matches!(&out[1].event, Event::CallAnswered(a) if a.agent_id == "anna"));
    assert_eq!(out[1].ts.millis_since(out[0].ts), 37_000);
    let Event::CallCompleted(c) = &out[2].event else {
        panic!("{out:?}")
    };
    assert_eq!((c.talk_ms, c.hold_ms, c.acw_ms), (280_000, 32_000, 45_000));
    assert_eq!(out[2].ts, at("2026-11-30T09:06:55Z"));
    assert_eq!(m.stats().events, 3);
}

#[test]
fn a_resent_record_adds_nothing_and_a_revision_is_counted() {
    let mut m = ConnectMapper::new();
    let first = map(&mut m, &answered_record());
    assert!(map(&mut m, &answered_record()).is_empty());
    assert_eq!((m.stats().resent, m.stats().revised), (1, 0));
    let mut revised = answered_record();
    revised["Agent"]["AfterContactWorkDuration"] = json!(60);
    assert!(map(&mut m, &revised).is_empty());
    assert_eq!((m.stats().resent, m.stats().revised), (2, 1));
    // Event ids come from the contact, so the engine would drop a repeat too.
    let mut again = ConnectMapper::new();
    let ids: Vec<_> = map(&mut again, &answered_record())
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(
        ids,
        first.into_iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
}

#[test]
fn a_record_written_before_the_contact_ended_is_completed_by_its_update() {
    let mut m = ConnectMapper::new();
    let mut early = answered_record();
    let agent = early["Agent"].as_object_mut().expect("agent");
    for key in [
        "AgentInteractionDuration",
        "AfterContactWorkEndTimestamp",
        "AfterContactWorkDuration",
    ] {
        agent.remove(key);
    }
    early
        .as_object_mut()
        .expect("record")
        .remove("DisconnectTimestamp");
    let out = map(&mut m, &early);
    assert_eq!(out.len(), 2, "queued and answered: {out:?}");
    let out = map(&mut m, &answered_record());
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].event, Event::CallCompleted(_)));
    assert_eq!(m.stats().resent, 0);
}

#[test]
fn an_unanswered_contact_is_abandoned_with_its_reason_after_its_queue_time() {
    let mut m = ConnectMapper::new();
    let record = json!({
        "ContactId": "c-2",
        "Channel": "VOICE",
        "InitiationMethod": "INBOUND",
        "DisconnectTimestamp": "2026-11-30T09:01:10Z",
        "DisconnectReason": "CUSTOMER_DISCONNECT",
        "Queue": {"Name": "sales", "EnqueueTimestamp": "2026-11-30T09:00:28Z",
                  "DequeueTimestamp": "2026-11-30T09:01:10Z", "Duration": 42},
        "Agent": null
    });
    let out = map(&mut m, &record);
    assert_eq!(out.len(), 2);
    let Event::CallAbandoned(x) = &out[1].event else {
        panic!("{out:?}")
    };
    assert_eq!(x.reason, Some(ExitReason::Hangup));
    assert_eq!(out[1].ts.millis_since(out[0].ts), 42_000);
    // Expired in the queue: a timeout.
    let mut expired = record.clone();
    expired["ContactId"] = json!("c-3");
    expired["DisconnectReason"] = json!("EXPIRED");
    let out = map(&mut m, &expired);
    assert!(
        matches!(&out[1].event, Event::CallAbandoned(x) if x.reason == Some(ExitReason::Timeout))
    );
}

#[test]
fn a_queue_transfer_continues_the_contact_in_the_next_queue() {
    let mut m = ConnectMapper::new();
    let first = json!({
        "ContactId": "c-4", "NextContactId": "c-5", "InitiationMethod": "INBOUND",
        "DisconnectTimestamp": "2026-11-30T09:02:00Z", "DisconnectReason": "OTHER",
        "Queue": {"Name": "billing", "EnqueueTimestamp": "2026-11-30T09:00:00Z", "Duration": 120}
    });
    let out = map(&mut m, &first);
    assert_eq!(out.len(), 1, "queued, no abandon: {out:?}");
    assert_eq!(m.stats().transferred, 1);
    let second = json!({
        "ContactId": "c-5", "InitialContactId": "c-4", "PreviousContactId": "c-4",
        "InitiationMethod": "QUEUE_TRANSFER",
        "DisconnectTimestamp": "2026-11-30T09:10:00Z",
        "Queue": {"Name": "retention", "EnqueueTimestamp": "2026-11-30T09:02:00Z", "Duration": 15},
        "Agent": {"Username": "ben", "ConnectedToAgentTimestamp": "2026-11-30T09:02:15Z",
                  "AgentInteractionDuration": 400, "CustomerHoldDuration": 0,
                  "AfterContactWorkDuration": 30}
    });
    let out = map(&mut m, &second);
    let Event::CallQueued(q) = &out[0].event else {
        panic!("{out:?}")
    };
    // The same contact (its initial id), marked as coming from the first queue.
    assert_eq!(q.call_id, "c-4");
    assert_eq!(q.transferred_from.as_deref(), Some("billing"));
    let Event::CallCompleted(c) = &out[2].event else {
        panic!("{out:?}")
    };
    assert_eq!(c.call_id, "c-4");
    // No ACW end time: completed at disconnect + ACW.
    assert_eq!(out[2].ts, at("2026-11-30T09:10:30Z"));
}

#[test]
fn concatenated_records_not_queued_contacts_and_bad_records() {
    let mut m = ConnectMapper::new();
    let outbound = json!({"ContactId": "c-9", "InitiationMethod": "OUTBOUND", "Queue": null});
    let line = format!("{}{}", answered_record(), outbound);
    let mut out = Vec::new();
    m.map(&line, &mut out).expect("two records in one line");
    assert_eq!((out.len(), m.stats().not_queued), (3, 1));

    let refused = |m: &mut ConnectMapper, text: &str| {
        let mut out = Vec::new();
        m.map(text, &mut out).expect_err("refused").reason()
    };
    assert_eq!(refused(&mut m, "not json"), "not_json");
    assert_eq!(refused(&mut m, r#"{"Foo": 1}"#), "not_a_record");
    assert_eq!(
        refused(
            &mut m,
            r#"{"ContactId":"c-10","Queue":{"Name":"q","EnqueueTimestamp":"yesterday"}}"#
        ),
        "bad_time"
    );
    assert_eq!(
        refused(&mut m, r#"{"ContactId": 7}"#),
        "bad_shape",
        "a ContactId that is no string"
    );
    // A good record before the broken part of a line is kept.
    let mut out = Vec::new();
    let mut second = answered_record();
    second["ContactId"] = json!("c-11");
    assert!(m.map(&format!("{second} {{broken"), &mut out).is_err());
    assert_eq!(out.len(), 3);
    assert_eq!(m.stats().malformed.values().sum::<u64>(), 5);
}

fn agent_event(kind: &str, status: (&str, &str), contacts: serde_json::Value) -> serde_json::Value {
    json!({
        "AWSAccountId": "123456789012",
        "AgentARN": "arn:aws:connect:eu-central-1:123456789012:instance/i/agent/a1",
        "AgentEventId": format!("ev-{kind}-{}-{}", status.0, contacts.to_string().len()),
        "EventTimestamp": "2026-11-30T09:00:58.123Z",
        "EventType": kind,
        "InstanceARN": "arn:aws:connect:eu-central-1:123456789012:instance/i",
        "Version": "2019-05-25",
        "CurrentAgentSnapshot": {
            "AgentStatus": {"Name": status.0, "Type": status.1,
                            "StartTimestamp": "2026-11-30T08:00:00Z"},
            "Configuration": {
                "Username": "anna", "FirstName": "Anna", "LastName": "K",
                "RoutingProfile": {"Name": "Basic Routing Profile"},
                "AgentHierarchyGroups": {"Level1": {"Name": "EMEA"}, "Level2": {"Name": "billing-team"}}
            },
            "Contacts": contacts
        },
        "PreviousAgentSnapshot": null
    })
}

#[test]
fn agent_events_become_states_with_the_hierarchy_as_team() {
    let mut m = ConnectMapper::new();
    let state = |m: &mut ConnectMapper, e: serde_json::Value| {
        let out = map(m, &e);
        match out.as_slice() {
            [] => None,
            [env] => match &env.event {
                Event::AgentState(s) => Some((s.state, s.reason.clone(), s.team.clone())),
                other => panic!("{other:?}"),
            },
            more => panic!("{more:?}"),
        }
    };
    let team = || "billing-team".to_owned();
    assert_eq!(
        state(
            &mut m,
            agent_event("LOGIN", ("Available", "ROUTABLE"), json!([]))
        ),
        Some((AgentState::Available, None, team()))
    );
    assert_eq!(
        state(
            &mut m,
            agent_event("STATE_CHANGE", ("Break", "CUSTOM"), json!([]))
        ),
        Some((AgentState::Aux, Some("Break".into()), team()))
    );
    let on_call = json!([{"ContactId": "c-1", "Channel": "VOICE", "State": "CONNECTED_ONHOLD"}]);
    assert_eq!(
        state(
            &mut m,
            agent_event("STATE_CHANGE", ("Available", "ROUTABLE"), on_call)
        ),
        Some((AgentState::OnCall, None, team()))
    );
    let acw = json!([{"ContactId": "c-1", "Channel": "VOICE", "State": "ENDED"}]);
    assert_eq!(
        state(
            &mut m,
            agent_event("STATE_CHANGE", ("Available", "ROUTABLE"), acw)
        ),
        Some((AgentState::WrapUp, None, team()))
    );
    assert_eq!(
        state(
            &mut m,
            agent_event("HEART_BEAT", ("Available", "ROUTABLE"), json!([]))
        ),
        None
    );
    assert_eq!(m.stats().heartbeats, 1);
    assert_eq!(
        state(
            &mut m,
            agent_event("LOGOUT", ("Offline", "OFFLINE"), json!([]))
        ),
        Some((AgentState::Offline, None, team()))
    );
    let mut flat = agent_event("STATE_CHANGE", ("Available", "ROUTABLE"), json!([]));
    flat["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] = json!(null);
    assert_eq!(
        state(&mut m, flat).map(|s| s.2),
        Some("Basic Routing Profile".to_owned()),
        "without a hierarchy, the routing profile"
    );
}
