use proptest::prelude::*;

use super::*;
use crate::{AgentState, CallCompleted, CsatResponse};

const NOW: Ts = Ts(1_764_158_400_000); // 2025-11-26T12:00:00Z

fn ok(json: &str) -> Envelope {
    decode(json.as_bytes(), NOW, &DecodeLimits::default()).expect("valid event")
}

fn err(json: &str) -> Rejection {
    decode(json.as_bytes(), NOW, &DecodeLimits::default()).expect_err("invalid event")
}

#[test]
fn decodes_every_kind() {
    let e = ok(
        r#"{"type":"call_queued","event_id":"e1","ts":"2025-11-26T11:59:00.123Z","call_id":"c1","queue":"billing","priority":2}"#,
    );
    assert_eq!(e.ts, Ts(NOW.0 - 60_000 + 123));
    assert_eq!(e.event.kind(), EventKind::CallQueued);
    let e = ok(
        r#"{"type":"call_completed","event_id":"e2","ts":"2025-11-26T11:59:00Z","call_id":"c1","queue":"q","agent_id":"a","talk_ms":1,"hold_ms":2,"acw_ms":3,"resolved":true}"#,
    );
    assert_eq!(
        e.event,
        Event::CallCompleted(CallCompleted {
            call_id: "c1".into(),
            queue: "q".into(),
            agent_id: "a".into(),
            talk_ms: 1,
            hold_ms: 2,
            acw_ms: 3,
            resolved: Some(true)
        })
    );
    let e = ok(
        r#"{"type":"agent_state","event_id":"e3","ts":"2025-11-26T13:59:00+02:00","agent_id":"a","team":"t","state":"wrap_up"}"#,
    );
    assert_eq!(e.ts, Ts(NOW.0 - 60_000), "offsets are converted to UTC");
    match e.event {
        Event::AgentState(s) => assert_eq!(s.state, AgentState::WrapUp),
        other => panic!("unexpected {other:?}"),
    }
    let e = ok(
        r#"{"type":"csat_response","event_id":"e4","ts":"2025-11-26T11:00:00Z","interaction_id":"c1","queue":"q","score":5,"extra":"ignored"}"#,
    );
    assert_eq!(
        e.event,
        Event::CsatResponse(CsatResponse {
            interaction_id: "c1".into(),
            queue: "q".into(),
            agent_id: None,
            score: 5
        })
    );
    for json in [
        r#"{"type":"ticket_created","event_id":"t1","ts":"2025-11-26T11:00:00Z","ticket_id":"k","queue":"q","channel":"email"}"#,
        r#"{"type":"ticket_first_response","event_id":"t2","ts":"2025-11-26T11:00:00Z","ticket_id":"k","agent_id":"a"}"#,
        r#"{"type":"ticket_resolved","event_id":"t3","ts":"2025-11-26T11:00:00Z","ticket_id":"k","agent_id":"a"}"#,
        r#"{"type":"ticket_reopened","event_id":"t4","ts":"2025-11-26T11:00:00Z","ticket_id":"k"}"#,
        r#"{"type":"call_answered","event_id":"t5","ts":"2025-11-26T11:00:00Z","call_id":"k","queue":"q","agent_id":"a"}"#,
        r#"{"type":"call_abandoned","event_id":"t6","ts":"2025-11-26T11:00:00Z","call_id":"k","queue":"q"}"#,
    ] {
        ok(json);
    }
}

#[test]
fn rejects_with_precise_reasons() {
    let cases = [
        ("{not json", "malformed_json"),
        ("[1,2]", "malformed_json"),
        ("", "malformed_json"),
        ("   ", "malformed_json"),
        // Positional arrays are not events, even when their fields would fit a type.
        (
            r#"["call_queued", "e1", "2025-11-26T11:00:00Z", "c1", "billing"]"#,
            "malformed_json",
        ),
        (
            r#"  ["call_queued", "e1", "2025-11-26T11:00:00Z"]"#,
            "malformed_json",
        ),
        ("42", "malformed_json"),
        (
            r#"{"event_id":"e","ts":"2025-11-26T11:00:00Z"}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_teleported","event_id":"e","ts":"2025-11-26T11:00:00Z"}"#,
            "unknown_type",
        ),
        (
            r#"{"type":"call_queued","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":"q"}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_queued","event_id":"","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":"q"}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","call_id":"c","queue":"q"}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"yesterday","call_id":"c","queue":"q"}"#,
            "invalid_timestamp",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"2125-11-26T11:00:00Z","call_id":"c","queue":"q"}"#,
            "timestamp_out_of_range",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"1999-11-26T11:00:00Z","call_id":"c","queue":"q"}"#,
            "timestamp_out_of_range",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"c"}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":""}"#,
            "missing_field",
        ),
        (
            r#"{"type":"call_queued","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":7,"queue":"q"}"#,
            "invalid_field",
        ),
        (
            r#"{"type":"call_completed","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":"q","agent_id":"a","talk_ms":-5,"hold_ms":0,"acw_ms":0}"#,
            "negative_duration",
        ),
        (
            r#"{"type":"call_completed","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":"q","agent_id":"a","talk_ms":999999999999,"hold_ms":0,"acw_ms":0}"#,
            "duration_out_of_range",
        ),
        (
            r#"{"type":"csat_response","event_id":"e","ts":"2025-11-26T11:00:00Z","interaction_id":"c","queue":"q","score":7}"#,
            "score_out_of_range",
        ),
        (
            r#"{"type":"csat_response","event_id":"e","ts":"2025-11-26T11:00:00Z","interaction_id":"c","queue":"q","score":0}"#,
            "score_out_of_range",
        ),
        (
            r#"{"type":"csat_response","event_id":"e","ts":"2025-11-26T11:00:00Z","interaction_id":"c","queue":"q","score":-1}"#,
            "invalid_field",
        ),
        (
            r#"{"type":"agent_state","event_id":"e","ts":"2025-11-26T11:00:00Z","agent_id":"a","team":"t","state":"sleeping"}"#,
            "invalid_field",
        ),
    ];
    for (json, reason) in cases {
        assert_eq!(err(json).reason(), reason, "{json}");
    }
    let long = format!(
        r#"{{"type":"call_queued","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"{}","queue":"q"}}"#,
        "x".repeat(300)
    );
    assert_eq!(err(&long), Rejection::FieldTooLong("call_id"));
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(70_000));
    assert!(matches!(err(&huge), Rejection::PayloadTooLarge(_)));
}

#[test]
fn missing_field_names_the_field() {
    let r = err(
        r#"{"type":"call_answered","event_id":"e","ts":"2025-11-26T11:00:00Z","call_id":"c","queue":"q"}"#,
    );
    assert_eq!(r, Rejection::MissingField("agent_id".into()));
}

#[test]
fn replay_limits_accept_old_events() {
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    let json = r#"{"type":"call_abandoned","event_id":"e","ts":"1999-01-01T08:00:00Z","call_id":"c","queue":"q"}"#;
    assert!(decode(json.as_bytes(), NOW, &limits).is_ok());
}

#[test]
fn every_reason_is_listed() {
    for r in [
        Rejection::Duplicate,
        Rejection::TooManyNames("queue"),
        Rejection::ScoreOutOfRange(9),
        Rejection::PayloadTooLarge(1),
    ] {
        assert_eq!(Rejection::REASONS[r.reason_index()], r.reason());
    }
}

fn arb_event() -> impl Strategy<Value = Event> {
    let id = "[a-z0-9-]{1,12}";
    prop_oneof![
        (
            id,
            id,
            proptest::option::of(id),
            proptest::option::of(0u8..3),
            proptest::option::of(id),
        )
            .prop_map(
                |(call_id, queue, customer_id, priority, transferred_from)| Event::CallQueued(
                    crate::CallQueued {
                        call_id,
                        queue,
                        customer_id,
                        priority,
                        transferred_from,
                    }
                )
            ),
        (
            id,
            id,
            id,
            0i64..100_000,
            0i64..100_000,
            0i64..100_000,
            proptest::option::of(any::<bool>())
        )
            .prop_map(
                |(call_id, queue, agent_id, talk_ms, hold_ms, acw_ms, resolved)| {
                    Event::CallCompleted(CallCompleted {
                        call_id,
                        queue,
                        agent_id,
                        talk_ms,
                        hold_ms,
                        acw_ms,
                        resolved,
                    })
                }
            ),
        (id, id, proptest::sample::select(AgentState::ALL.to_vec())).prop_map(
            |(agent_id, team, state)| {
                Event::AgentState(crate::AgentStateChanged {
                    agent_id,
                    team,
                    state,
                    reason: None,
                })
            }
        ),
        (id, id, 1u8..=5).prop_map(|(interaction_id, queue, score)| Event::CsatResponse(
            CsatResponse {
                interaction_id,
                queue,
                agent_id: None,
                score
            }
        )),
    ]
}

proptest! {
    /// What the simulator writes, the engine reads back unchanged.
    #[test]
    fn wire_round_trip(event in arb_event(), id in "[a-z0-9]{1,20}", back in 0i64..3_600_000) {
        let env = Envelope { event_id: id, ts: Ts(NOW.0 - back), event };
        let decoded = decode(env.to_json().as_bytes(), NOW, &DecodeLimits::default()).expect("round trip");
        prop_assert_eq!(decoded, env);
    }

    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes, NOW, &DecodeLimits::default());
    }
}
