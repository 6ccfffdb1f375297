//! Why an input message is not an event the engine can use.

use thiserror::Error;

/// A message that was not applied. Every variant is counted under its [`Rejection::reason`]
/// (a bounded label value) and logged, rate-limited, with its detail; the message's offset is
/// still stored, so a bad message never stalls the partition behind it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The payload is not JSON, or not a JSON object. Fix the producer's serializer.
    #[error("malformed json: {0}")]
    MalformedJson(String),
    /// `type` names no event of this contract version. A newer producer, or a typo.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// A required field is absent or empty.
    #[error("missing field: {0}")]
    MissingField(String),
    /// A field has the wrong JSON type or a value outside its enumeration.
    #[error("invalid field: {0}")]
    InvalidField(String),
    /// `ts` is not an RFC 3339 timestamp.
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// `ts` is further from the engine's clock than the configured limits allow: a producer
    /// with a broken clock, or a replay fed to a live engine.
    #[error("timestamp {ts} is {offset_ms} ms from now, beyond the accepted range")]
    TimestampOutOfRange { ts: String, offset_ms: i64 },
    /// A duration field (`talk_ms`, `hold_ms`, `acw_ms`) is negative.
    #[error("negative duration in {0}")]
    NegativeDuration(&'static str),
    /// A duration field is longer than the configured maximum.
    #[error("duration in {field} is {ms} ms, above the accepted maximum")]
    DurationOutOfRange { field: &'static str, ms: i64 },
    /// A CSAT score outside 1..=5, an NPS answer above 10, or QA points above the form's
    /// maximum (or a maximum of 0).
    #[error("{field} {value} outside its range (csat 1..=5, nps 0..=10, qa 0..=max_score)")]
    ScoreOutOfRange { field: &'static str, value: i64 },
    /// The message is larger than the configured limit; it is not parsed at all.
    #[error("payload of {0} bytes exceeds the limit")]
    PayloadTooLarge(usize),
    /// An identifier or name is longer than the configured limit.
    #[error("field {0} exceeds the length limit")]
    FieldTooLong(&'static str),
    /// An event with the same `event_id` was already applied (at-least-once redelivery).
    #[error("duplicate event_id")]
    Duplicate,
    /// A new queue or team name beyond the configured cardinality cap.
    #[error("too many distinct {0} names")]
    TooManyNames(&'static str),
    /// A message of a native topic (`[ingest.topics] native`) that its format's mapper
    /// cannot use: not that system's record, or a record of the wrong shape.
    #[error("native record not usable ({reason}): {detail}")]
    Unmappable {
        reason: &'static str,
        detail: String,
    },
}

impl Rejection {
    /// Every reason label, for pre-registering counters so that absent reasons read 0.
    pub const REASONS: [&'static str; 14] = [
        "malformed_json",
        "unknown_type",
        "missing_field",
        "invalid_field",
        "invalid_timestamp",
        "timestamp_out_of_range",
        "negative_duration",
        "duration_out_of_range",
        "score_out_of_range",
        "payload_too_large",
        "field_too_long",
        "duplicate",
        "too_many_names",
        "unmappable_record",
    ];

    /// The bounded label value for `callpulse_events_rejected_total{reason}`.
    pub const fn reason(&self) -> &'static str {
        match self {
            Rejection::MalformedJson(_) => "malformed_json",
            Rejection::UnknownType(_) => "unknown_type",
            Rejection::MissingField(_) => "missing_field",
            Rejection::InvalidField(_) => "invalid_field",
            Rejection::InvalidTimestamp(_) => "invalid_timestamp",
            Rejection::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            Rejection::NegativeDuration(_) => "negative_duration",
            Rejection::DurationOutOfRange { .. } => "duration_out_of_range",
            Rejection::ScoreOutOfRange { .. } => "score_out_of_range",
            Rejection::PayloadTooLarge(_) => "payload_too_large",
            Rejection::FieldTooLong(_) => "field_too_long",
            Rejection::Duplicate => "duplicate",
            Rejection::TooManyNames(_) => "too_many_names",
            Rejection::Unmappable { .. } => "unmappable_record",
        }
    }

    /// Index of [`Rejection::reason`] in [`Rejection::REASONS`], for array-indexed counters.
    pub fn reason_index(&self) -> usize {
        Rejection::REASONS
            .iter()
            .position(|r| *r == self.reason())
            .unwrap_or(0)
    }
}
