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
            score: Some(5),
            nps: None,
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
    let e = ok(
        r#"{"type":"qa_evaluation","event_id":"q1","ts":"2025-11-26T11:00:00Z","evaluation_id":"v","agent_id":"a","evaluator_id":"l","form":"f","score":42,"max_score":50,"sections":[{"name":"greeting","score":10,"max_score":10}]}"#,
    );
    match e.event {
        Event::QaEvaluation(q) => {
            assert_eq!((q.score, q.max_score, q.critical_failures), (42, 50, 0));
            assert_eq!(q.sections.len(), 1);
            assert_eq!(q.contact_id, None);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn schedules_are_checked_span_and_order() {
    let schedule = |span: &str, segments: &str| {
        format!(
            r#"{{"type":"agent_schedule","event_id":"e","ts":"2025-11-26T11:00:00Z","agent_id":"a",{span},"segments":[{segments}]}}"#
        )
    };
    let day = r#""start":"2025-11-26T00:00:00Z","end":"2025-11-27T00:00:00Z""#;
    let seg = |from: &str, to: &str, activity: &str| {
        format!(
            r#"{{"start":"2025-11-26T{from}:00Z","end":"2025-11-26T{to}:00Z","activity":"{activity}"}}"#
        )
    };
    let good = schedule(
        day,
        &[
            seg("09:00", "10:00", "open"),
            seg("10:00", "10:15", "break"),
        ]
        .join(","),
    );
    let Event::AgentSchedule(e) = ok(&good).event else {
        panic!("a schedule");
    };
    assert_eq!(e.segments[1].activity, crate::Activity::Break);
    assert_eq!(e.segments[1].start, Ts(NOW.0 - 2 * 3_600_000));
    // Overlapping, out of order, outside the span, empty, and a span past a week.
    for segments in [
        [
            seg("09:00", "10:00", "open"),
            seg("09:30", "10:15", "break"),
        ]
        .join(","),
        [
            seg("10:00", "10:15", "break"),
            seg("09:00", "10:00", "open"),
        ]
        .join(","),
        seg("10:00", "10:00", "open"),
    ] {
        assert!(matches!(
            err(&schedule(day, &segments)),
            Rejection::InvalidField(_)
        ));
    }
    let outside = schedule(
        r#""start":"2025-11-26T10:00:00Z","end":"2025-11-26T11:00:00Z""#,
        &seg("09:00", "10:30", "open"),
    );
    assert!(matches!(err(&outside), Rejection::InvalidField(_)));
    let long = schedule(
        r#""start":"2025-11-26T00:00:00Z","end":"2025-12-04T00:00:00Z""#,
        "",
    );
    assert!(matches!(err(&long), Rejection::InvalidField(_)));
    // An activity the contract does not know, and a time that is not one.
    assert!(matches!(
        err(&schedule(day, &seg("09:00", "10:00", "nap"))),
        Rejection::InvalidField(_)
    ));
    assert!(matches!(
        err(&schedule(
            r#""start":"today","end":"2025-11-27T00:00:00Z""#,
            ""
        )),
        Rejection::InvalidField(_)
    ));
}

#[test]
fn qa_points_are_checked_against_their_maximum() {
    let qa = |fields: &str| {
        format!(
            r#"{{"type":"qa_evaluation","event_id":"e","ts":"2025-11-26T11:00:00Z","evaluation_id":"v","agent_id":"a","evaluator_id":"l","form":"f",{fields}}}"#
        )
    };
    for (fields, rejection) in [
        (
            r#""score":51,"max_score":50"#,
            Rejection::ScoreOutOfRange {
                field: "score",
                value: 51,
            },
        ),
        (
            r#""score":0,"max_score":0"#,
            Rejection::ScoreOutOfRange {
                field: "max_score",
                value: 0,
            },
        ),
        (
            r#""score":5,"max_score":10,"critical_failures":1001"#,
            Rejection::ScoreOutOfRange {
                field: "critical_failures",
                value: 1001,
            },
        ),
        (
            r#""score":5,"max_score":10,"sections":[{"name":"s","score":11,"max_score":10}]"#,
            Rejection::ScoreOutOfRange {
                field: "sections.score",
                value: 11,
            },
        ),
        (
            r#""score":5,"max_score":10,"sections":[{"name":"","score":1,"max_score":10}]"#,
            Rejection::MissingField("sections.name".into()),
        ),
    ] {
        assert_eq!(err(&qa(fields)), rejection, "{fields}");
    }
    assert_eq!(
        err(&qa(r#""score":-1,"max_score":5"#)).reason(),
        "invalid_field"
    );
    assert!(matches!(
        err(&qa(r#""score":1"#)),
        Rejection::MissingField(f) if f == "max_score"
    ));
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
        Rejection::ScoreOutOfRange {
            field: "nps",
            value: 11,
        },
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
        (id, id, proptest::option::of(1u8..=5), 0u8..=10).prop_map(
            |(interaction_id, queue, score, nps)| Event::CsatResponse(CsatResponse {
                interaction_id,
                queue,
                agent_id: None,
                score,
                nps: Some(nps),
            })
        ),
        (id, id, 1u32..1000, 0u32..3).prop_map(|(evaluation_id, agent_id, max, critical)| {
            Event::QaEvaluation(crate::QaEvaluation {
                evaluation_id,
                agent_id,
                evaluator_id: "lead".into(),
                form: "f".into(),
                score: max / 2,
                max_score: max,
                critical_failures: critical,
                sections: vec![crate::QaSection {
                    name: "s".into(),
                    score: max / 3,
                    max_score: max,
                }],
                contact_id: None,
            })
        }),
        (id, 0i64..3_600_000, 1i64..3_600_000).prop_map(|(agent_id, start, len)| {
            let at = |ms: i64| Ts(NOW.0 + start + ms);
            Event::AgentSchedule(crate::AgentSchedule {
                team: (start % 2 == 0).then(|| format!("team-{}", start % 7)),
                agent_id,
                start: at(0),
                end: at(2 * len),
                segments: vec![crate::ScheduleSegment {
                    start: at(len / 2),
                    end: at(len),
                    activity: crate::Activity::Coaching,
                }],
            })
        }),
    ]
}

proptest! {
    /// What the simulator writes, the engine reads back unchanged.
    #[test]
    fn wire_round_trip(event in arb_event(), id in "[a-z0-9]{1,20}", back in 0i64..3_600_000) {
        let env = Envelope { event_id: id, ts: Ts(NOW.0 - back), event };
        let json = env.to_json();
        let decoded = decode(json.as_bytes(), NOW, &DecodeLimits::default()).expect("round trip");
        prop_assert_eq!(&decoded, &env);
        // In one pass: the simulator's format is the fast path's, not its fallback.
        let kind = super::one_pass::hinted_kind(json.as_bytes()).expect("type found");
        let (event, _, _) = super::one_pass::read(kind, json.as_bytes()).expect("one pass");
        prop_assert_eq!(event, env.event);
    }

    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes, NOW, &DecodeLimits::default());
    }
}

/// A JSON value for a field: a good string or number, or something wrong for it.
fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_]{0,12}".prop_map(|s| format!("\"{s}\"")),
        2 => Just("\"2026-11-26T11:59:00Z\"".to_owned()),
        1 => Just("\"2026-11-26T11:59:00+01:00\"".to_owned()),
        1 => Just("\"bad time\"".to_owned()),
        1 => Just("\"with \\\"escape\\\" \\u00e9\"".to_owned()),
        2 => (-5i64..100_000_000).prop_map(|n| n.to_string()),
        1 => Just("1e400".to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("[1,[2]]".to_owned()),
        1 => Just("{\"a\":{}}".to_owned()),
        1 => Just("{\"type\":\"call_queued\"}".to_owned()),
        1 => (1u8..=7).prop_map(|n| n.to_string()),
    ]
}

/// A field name: every one the event kinds read, the header's, and an unknown one.
fn arb_key() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "event_id",
        "ts",
        "type",
        "call_id",
        "queue",
        "agent_id",
        "customer_id",
        "priority",
        "transferred_from",
        "talk_ms",
        "hold_ms",
        "acw_ms",
        "resolved",
        "team",
        "state",
        "reason",
        "ticket_id",
        "channel",
        "interaction_id",
        "score",
        "nps",
        "evaluation_id",
        "evaluator_id",
        "form",
        "max_score",
        "critical_failures",
        "sections",
        "contact_id",
        "extra",
        "typ\\u0065",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// The one-pass decode is an optimisation only: on objects that lead with a `type`
    /// (and on any other), with fields in any order, repeated, missing, mistyped or
    /// unknown, it gives exactly what the two-pass decode gives, rejection reason and text
    /// included.
    #[test]
    fn one_pass_gives_the_two_pass_result(
        kind in proptest::sample::select(EventKind::ALL.to_vec()),
        lead in prop_oneof![8 => Just(true), 1 => Just(false)],
        fields in proptest::collection::vec((arb_key(), arb_value()), 0..12),
        good in proptest::collection::vec(arb_event(), 1),
        trailing in prop_oneof![6 => Just(""), 1 => Just(" "), 1 => Just(" x"), 1 => Just("}")],
    ) {
        // Half the time, start from a good event of any kind and mangle it.
        let mut body: Vec<String> = Vec::new();
        if lead {
            body.push(format!("\"type\":\"{}\"", kind.as_str()));
        }
        let env = Envelope { event_id: "e".into(), ts: Ts(NOW.0 - 1_000), event: good[0].clone() };
        let base = env.to_json();
        let base = base.trim_start_matches('{').trim_end_matches('}');
        let use_base = fields.len() % 2 == 0;
        let mut extra: Vec<String> =
            fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        if use_base {
            body = vec![base.to_owned()];
        }
        body.append(&mut extra);
        let payload = format!("{{{}}}{trailing}", body.join(","));
        let limits = DecodeLimits::default();
        let got = decode(payload.as_bytes(), NOW, &limits);
        let want = super::decode_two_pass(payload.as_bytes(), NOW, &limits);
        prop_assert_eq!(got, want, "{}", payload);
    }
}
