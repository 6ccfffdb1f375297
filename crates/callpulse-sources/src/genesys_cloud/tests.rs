//! Conversation details in the shape the analytics API returns them (participants,
//! sessions, segments, metrics in ms), trimmed to what matters plus some that does not.

use callpulse_events::{Envelope, Event, Ts};
use serde_json::json;

use super::*;

fn at(text: &str) -> Ts {
    time("test", text).expect("time")
}

fn map(m: &mut GenesysMapper, v: &serde_json::Value) -> Vec<Envelope> {
    let mut out = Vec::new();
    m.map(&v.to_string(), &mut out).expect("maps");
    out
}

fn customer() -> serde_json::Value {
    json!({"participantId": "p-c", "purpose": "customer", "sessions": [{
        "mediaType": "voice", "ani": "tel:+4930123", "direction": "inbound",
        "segments": [{"segmentStart": "2026-11-30T09:00:00.000Z", "segmentEnd": "2026-11-30T09:05:35.000Z", "segmentType": "interact"}]
    }]})
}

fn acd(name: &str, queue_id: &str, start: &str, metrics: serde_json::Value) -> serde_json::Value {
    json!({"participantId": format!("p-{queue_id}"), "purpose": "acd", "participantName": name, "sessions": [{
        "mediaType": "voice",
        "segments": [{"segmentStart": start, "segmentEnd": "2026-11-30T09:00:35.000Z", "segmentType": "interact", "queueId": queue_id}],
        "metrics": metrics
    }]})
}

fn agent(queue_id: &str, wrapup_end: Option<&str>) -> serde_json::Value {
    let mut wrapup = json!({"segmentStart": "2026-11-30T09:05:35.000Z", "segmentType": "wrapup", "queueId": queue_id, "wrapUpCode": "resolved"});
    if let Some(end) = wrapup_end {
        wrapup["segmentEnd"] = json!(end);
    }
    json!({"participantId": "p-a", "purpose": "agent", "userId": "u-anna", "participantName": "Anna", "sessions": [{
        "mediaType": "voice",
        "segments": [
            {"segmentStart": "2026-11-30T09:00:30.000Z", "segmentEnd": "2026-11-30T09:00:35.000Z", "segmentType": "alert", "queueId": queue_id},
            {"segmentStart": "2026-11-30T09:00:35.000Z", "segmentEnd": "2026-11-30T09:02:00.000Z", "segmentType": "interact", "queueId": queue_id},
            {"segmentStart": "2026-11-30T09:02:00.000Z", "segmentEnd": "2026-11-30T09:02:30.000Z", "segmentType": "hold", "queueId": queue_id},
            {"segmentStart": "2026-11-30T09:02:30.000Z", "segmentEnd": "2026-11-30T09:05:35.000Z", "segmentType": "interact", "queueId": queue_id},
            wrapup
        ],
        "metrics": [
            {"name": "tAlert", "value": 5000, "emitDate": "2026-11-30T09:00:35.000Z"},
            {"name": "tAnswered", "value": 25000, "emitDate": "2026-11-30T09:00:35.000Z"},
            {"name": "tTalk", "value": 85000, "emitDate": "2026-11-30T09:02:00.000Z"},
            {"name": "tTalk", "value": 185000, "emitDate": "2026-11-30T09:05:35.000Z"},
            {"name": "tTalkComplete", "value": 270000, "emitDate": "2026-11-30T09:05:35.000Z"},
            {"name": "tHeld", "value": 30000, "emitDate": "2026-11-30T09:02:30.000Z"},
            {"name": "tHeldComplete", "value": 30000, "emitDate": "2026-11-30T09:02:30.000Z"},
            {"name": "tAcw", "value": 30000, "emitDate": "2026-11-30T09:06:05.000Z"}
        ]
    }]})
}

fn answered(wrapup_end: Option<&str>) -> serde_json::Value {
    json!({
        "conversationId": "conv-1",
        "conversationStart": "2026-11-30T09:00:00.000Z",
        "originatingDirection": "inbound",
        "divisionIds": ["d-1"],
        "participants": [
            customer(),
            acd("Support", "q-support", "2026-11-30T09:00:10.000Z", json!([
                {"name": "nOffered", "value": 1, "emitDate": "2026-11-30T09:00:10.000Z"},
                {"name": "tAcd", "value": 25000, "emitDate": "2026-11-30T09:00:35.000Z"},
                {"name": "tAnswered", "value": 25000, "emitDate": "2026-11-30T09:00:35.000Z"}
            ])),
            agent("q-support", wrapup_end)
        ]
    })
}

#[test]
fn an_answered_leg_carries_genesys_own_wait_and_handle_parts() {
    let mut m = GenesysMapper::new();
    let out = map(&mut m, &answered(Some("2026-11-30T09:06:05.000Z")));
    assert_eq!(out.len(), 3, "{out:?}");
    let Event::CallQueued(q) = &out[0].event else {
        panic!("{out:?}")
    };
    assert_eq!(
        (q.queue.as_str(), q.customer_id.as_deref()),
        ("Support", Some("+4930123"))
    );
    assert_eq!(out[0].ts, at("2026-11-30T09:00:10Z"));
    assert!(matches!(&out[1].event, Event::CallAnswered(a) if a.agent_id == "Anna"));
    assert_eq!(out[1].ts.millis_since(out[0].ts), 25_000, "tAnswered");
    let Event::CallCompleted(c) = &out[2].event else {
        panic!("{out:?}")
    };
    // The Complete variants, not the per-segment tTalk entries summed twice.
    assert_eq!((c.talk_ms, c.hold_ms, c.acw_ms), (270_000, 30_000, 30_000));
    assert_eq!(out[2].ts, at("2026-11-30T09:06:05Z"));
}

#[test]
fn a_conversation_read_again_adds_only_what_is_new() {
    let mut m = GenesysMapper::new();
    // Read while the agent was still in wrap-up: no completion yet.
    let out = map(&mut m, &answered(None));
    assert_eq!(out.len(), 2);
    let out = map(&mut m, &answered(Some("2026-11-30T09:06:05.000Z")));
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].event, Event::CallCompleted(_)));
    assert!(map(&mut m, &answered(Some("2026-11-30T09:06:05.000Z"))).is_empty());
    assert_eq!(m.stats().repeated, 2 + 3);
}

#[test]
fn abandons_transfers_query_responses_and_bad_lines() {
    let mut m = GenesysMapper::new();
    let abandoned = json!({"conversationId": "conv-2", "participants": [
        customer(),
        acd("Sales", "q-sales", "2026-11-30T09:10:00.000Z", json!([
            {"name": "nOffered", "value": 1}, {"name": "tAbandon", "value": 41000}, {"name": "tAcd", "value": 41000}
        ]))
    ]});
    // Transferred from Sales to Retention while waiting, answered there.
    let transferred = json!({"conversationId": "conv-3", "participants": [
        customer(),
        acd("Sales", "q-sales", "2026-11-30T09:00:00.000Z", json!([{"name": "nOffered", "value": 1}, {"name": "tAcd", "value": 8000}])),
        acd("Retention", "q-ret", "2026-11-30T09:00:08.000Z", json!([{"name": "nOffered", "value": 1}, {"name": "tAnswered", "value": 5000}])),
        agent("q-ret", Some("2026-11-30T09:06:05.000Z"))
    ]});
    let response = json!({"conversations": [abandoned, transferred], "totalHits": 2});
    let out = map(&mut m, &response);
    assert_eq!(m.stats().conversations, 2);
    assert!(matches!(&out[1].event, Event::CallAbandoned(x) if x.queue == "Sales"));
    assert_eq!(out[1].ts, at("2026-11-30T09:10:41Z"));
    let legs: Vec<_> = out[2..]
        .iter()
        .filter_map(|e| match &e.event {
            Event::CallQueued(q) => Some((
                q.queue.clone(),
                q.transferred_from.clone(),
                q.call_id.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("Sales".into(), None, "conv-3".into()),
            ("Retention".into(), Some("Sales".into()), "conv-3".into())
        ]
    );
    assert_eq!(out.len(), 2 + 4, "no abandon for the leg transferred out");
    let refused = |m: &mut GenesysMapper, text: &str| {
        m.map(text, &mut Vec::new()).expect_err("refused").reason()
    };
    assert_eq!(refused(&mut m, "{"), "not_json");
    assert_eq!(refused(&mut m, "{\"totalHits\": 0}"), "not_a_record");
    assert_eq!(refused(&mut m, "{\"conversationId\": 5}"), "bad_shape");
    let outbound = json!({"conversationId": "conv-4", "participants": [customer()]});
    assert!(map(&mut m, &outbound).is_empty());
    assert_eq!(m.stats().not_queued, 1);
}
