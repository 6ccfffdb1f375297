//! The written contract and the code agree: every example in docs/events.md validates against
//! docs/events.schema.json and decodes; invalid documents fail both.

use callpulse_events::{DecodeLimits, EventKind, Ts, decode};

const DOC: &str = include_str!("../../../docs/events.md");
const SCHEMA: &str = include_str!("../../../docs/events.schema.json");

fn examples() -> Vec<&'static str> {
    DOC.split("```json")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(str::trim)
        .collect()
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema is json");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn every_documented_example_validates_and_decodes() {
    let examples = examples();
    let validator = validator();
    let mut types: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    for example in examples {
        let value: serde_json::Value = serde_json::from_str(example).expect("example is json");
        types.retain(|t| value["type"] != *t);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:?}");
        // The examples are dated; decode them "now" = their own time.
        let ts = value["ts"].as_str().expect("ts");
        let now = Ts::from_datetime(
            chrono::DateTime::parse_from_rfc3339(ts)
                .expect("rfc3339")
                .to_utc(),
        );
        decode(example.as_bytes(), now, &limits).unwrap_or_else(|r| panic!("{example}: {r}"));
    }
    assert!(
        types.is_empty(),
        "event types without an example in docs/events.md: {types:?}"
    );
}

#[test]
fn schema_and_decoder_reject_the_same_bad_documents() {
    let validator = validator();
    let now = Ts(1_764_148_502_120);
    for bad in [
        r#"{"type":"call_queued","event_id":"e","ts":"2025-11-26T09:15:02Z","call_id":"c"}"#,
        r#"{"type":"call_completed","event_id":"e","ts":"2025-11-26T09:15:02Z","call_id":"c","queue":"q","agent_id":"a","talk_ms":-1,"hold_ms":0,"acw_ms":0}"#,
        r#"{"type":"csat_response","event_id":"e","ts":"2025-11-26T09:15:02Z","interaction_id":"c","queue":"q","score":6}"#,
        r#"{"type":"agent_state","event_id":"e","ts":"2025-11-26T09:15:02Z","agent_id":"a","team":"t","state":"asleep"}"#,
        r#"{"type":"call_teleported","event_id":"e","ts":"2025-11-26T09:15:02Z"}"#,
        r#"{"type":"call_abandoned","event_id":"","ts":"2025-11-26T09:15:02Z","call_id":"c","queue":"q"}"#,
        r#"{"type":"call_abandoned","event_id":"e","ts":"noon","call_id":"c","queue":"q"}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(bad).expect("json");
        assert!(!validator.is_valid(&value), "schema accepts {bad}");
        assert!(
            decode(bad.as_bytes(), now, &DecodeLimits::default()).is_err(),
            "decoder accepts {bad}"
        );
    }
}
