//! Hostile messages, shared by the poison test and the poison benchmark: each with the
//! rejection reason it must get.

/// One event as JSON: `rest` is the body after the common fields.
pub fn event(kind: &str, id: &str, ts: &str, rest: &str) -> String {
    format!(r#"{{"type":"{kind}","event_id":"{id}","ts":"{ts}",{rest}}}"#)
}

/// A call event with 100,000 nested arrays as the value of `field`.
pub fn nested(ts: &str, field: &str) -> String {
    format!(
        r#"{{"type":"call_queued","event_id":"deep","ts":"{ts}","call_id":"h","queue":"care","{field}":{}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
}

/// The hostile messages, each with the rejection reason it must get.
pub fn hostile(ts: &str, max_bytes: usize) -> Vec<(Vec<u8>, &'static str)> {
    let good = |id: &str| event("call_queued", id, ts, r#""call_id":"h","queue":"care""#);
    let mut over = good("over").into_bytes();
    over.resize(max_bytes + 1, b' ');
    vec![
        (b"{\"type\":\"call_queued\",\"event_id\":\"\xff\xfe\"}".to_vec(), "malformed_json"),
        (good("trunc").as_bytes()[..40].to_vec(), "malformed_json"),
        (over, "payload_too_large"),
        // Where a string is expected, the nesting is refused at its first bracket.
        (nested(ts, "call_id").into_bytes(), "invalid_field"),
        (
            event("call_queued", "types", ts, r#""call_id":7,"queue":"care""#).into_bytes(),
            "invalid_field",
        ),
        (
            event(
                "call_completed",
                "nan",
                ts,
                r#""call_id":"h","queue":"care","agent_id":"a","talk_ms":NaN,"hold_ms":0,"acw_ms":0"#,
            )
            .into_bytes(),
            "malformed_json",
        ),
        (
            event(
                "call_completed",
                "huge",
                ts,
                r#""call_id":"h","queue":"care","agent_id":"a","talk_ms":1e400,"hold_ms":0,"acw_ms":0"#,
            )
            .into_bytes(),
            "malformed_json",
        ),
        (
            event(
                "call_completed",
                "long",
                ts,
                r#""call_id":"h","queue":"care","agent_id":"a","talk_ms":9223372036854775807,"hold_ms":0,"acw_ms":0"#,
            )
            .into_bytes(),
            "duration_out_of_range",
        ),
        (
            event("call_queued", "y1970", "1970-01-01T00:00:00Z", r#""call_id":"h","queue":"care""#)
                .into_bytes(),
            "timestamp_out_of_range",
        ),
        (
            event("call_queued", "y9999", "9999-12-31T23:59:59Z", r#""call_id":"h","queue":"care""#)
                .into_bytes(),
            "timestamp_out_of_range",
        ),
    ]
}
