//! Bytes to [`Envelope`]: parsing and validation of one Kafka message.
//!
//! A message is read in one pass where it can be (`decode/one_pass.rs`). One that does not
//! read cleanly takes two passes over the payload: a header
//! pass (`type`, `event_id`, `ts`) that yields precise rejections, then the typed body for
//! that `type`; the rejection always comes from there. Unknown extra fields are ignored (a
//! tolerant reader), so producers can add fields without breaking older engines.

use std::borrow::Cow;

use chrono::DateTime;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{AgentSchedule, Envelope, Event, EventKind, Rejection, Ts};

/// Bounds on what a message may contain. Defaults suit a live contact center.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeLimits {
    /// Messages larger than this are rejected unparsed (bytes).
    pub max_payload_bytes: usize,
    /// How far ahead of the engine's clock `ts` may be (ms): producer clock skew.
    pub max_future_ms: i64,
    /// How far behind the engine's clock `ts` may be (ms); `None` accepts any past time,
    /// which is what a replay of history wants.
    pub max_past_ms: Option<i64>,
    /// Longest accepted talk/hold/wrap-up duration (ms).
    pub max_duration_ms: i64,
    /// Longest accepted identifier or name (bytes).
    pub max_field_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_payload_bytes: 64 * 1024,
            max_future_ms: 5 * 60 * 1000,
            max_past_ms: Some(7 * 24 * 3600 * 1000),
            max_duration_ms: 24 * 3600 * 1000,
            max_field_len: 256,
        }
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ts: Option<Cow<'a, str>>,
}

/// Decodes and validates one message payload.
///
/// `now` is the engine's current time, used only for the timestamp range check.
///
/// # Errors
/// A [`Rejection`] saying why the payload is not a usable event.
pub fn decode(payload: &[u8], now: Ts, limits: &DecodeLimits) -> Result<Envelope, Rejection> {
    if payload.len() > limits.max_payload_bytes {
        return Err(Rejection::PayloadTooLarge(payload.len()));
    }
    if let Some(kind) = one_pass::hinted_kind(payload)
        && let Some((event, event_id, ts)) = one_pass::read(kind, payload)
    {
        let (event_id, ts) = header(event_id, ts, now, limits)?;
        validate(&event, limits)?;
        return Ok(Envelope {
            event_id,
            ts,
            event,
        });
    }
    two_pass(payload, now, limits)
}

/// The two-pass decode: the header, then the body for its `type`. What [`decode`] falls
/// back to, the reference it is tested against, and the baseline it is benchmarked
/// against; same results, slower.
///
/// # Errors
/// As [`decode`].
pub fn decode_two_pass(
    payload: &[u8],
    now: Ts,
    limits: &DecodeLimits,
) -> Result<Envelope, Rejection> {
    if payload.len() > limits.max_payload_bytes {
        return Err(Rejection::PayloadTooLarge(payload.len()));
    }
    two_pass(payload, now, limits)
}

/// [`decode_two_pass`] past the size check, which [`decode`] has made already.
fn two_pass(payload: &[u8], now: Ts, limits: &DecodeLimits) -> Result<Envelope, Rejection> {
    // serde reads a struct from a JSON array too (fields by position), so
    // `["call_queued", "id", ts]` would pass as a call; the contract says objects only.
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => {
            return Err(Rejection::MalformedJson(
                "an event must be a JSON object".to_owned(),
            ));
        }
        None => return Err(Rejection::MalformedJson("empty payload".to_owned())),
    }
    let header_fields: Header<'_> = serde_json::from_slice(payload).map_err(classify)?;
    let kind_name = header_fields
        .kind
        .ok_or_else(|| Rejection::MissingField("type".to_owned()))?;
    let kind = EventKind::from_wire(&kind_name)
        .ok_or_else(|| Rejection::UnknownType(truncate(&kind_name, 64)))?;
    let (event_id, ts) = header(header_fields.event_id, header_fields.ts, now, limits)?;
    let event = body(kind, payload)?;
    validate(&event, limits)?;
    Ok(Envelope {
        event_id,
        ts,
        event,
    })
}

/// The header's checks: an `event_id`, and a `ts` that parses and lies within the limits
/// around `now`.
fn header(
    event_id: Option<Cow<'_, str>>,
    ts: Option<Cow<'_, str>>,
    now: Ts,
    limits: &DecodeLimits,
) -> Result<(String, Ts), Rejection> {
    let event_id = event_id.unwrap_or_default();
    require("event_id", &event_id, limits)?;
    let ts_text = ts.ok_or_else(|| Rejection::MissingField("ts".to_owned()))?;
    let ts = parse_ts(&ts_text)?;
    in_range(ts, now, limits)?;
    Ok((event_id.into_owned(), ts))
}

fn in_range(ts: Ts, now: Ts, limits: &DecodeLimits) -> Result<(), Rejection> {
    let offset_ms = ts.millis_since(now);
    let too_old = limits.max_past_ms.is_some_and(|max| -offset_ms > max);
    if offset_ms > limits.max_future_ms || too_old {
        return Err(Rejection::TimestampOutOfRange {
            ts: ts.to_rfc3339(),
            offset_ms,
        });
    }
    Ok(())
}

/// The checks [`decode`] makes, for an event built in memory rather than read from JSON
/// (a source adapter's output): an `event_id`, a `ts` within the limits around `now`, and
/// every field as the contract bounds it.
///
/// # Errors
/// The [`Rejection`] [`decode`] would give the same event as JSON.
pub fn check(envelope: &Envelope, now: Ts, limits: &DecodeLimits) -> Result<(), Rejection> {
    require("event_id", &envelope.event_id, limits)?;
    in_range(envelope.ts, now, limits)?;
    validate(&envelope.event, limits)
}

fn body(kind: EventKind, payload: &[u8]) -> Result<Event, Rejection> {
    fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, Rejection> {
        serde_json::from_slice(payload).map_err(classify)
    }
    Ok(match kind {
        EventKind::CallQueued => Event::CallQueued(parse(payload)?),
        EventKind::CallAnswered => Event::CallAnswered(parse(payload)?),
        EventKind::CallAbandoned => Event::CallAbandoned(parse(payload)?),
        EventKind::CallCompleted => Event::CallCompleted(parse(payload)?),
        EventKind::AgentState => Event::AgentState(parse(payload)?),
        EventKind::TicketCreated => Event::TicketCreated(parse(payload)?),
        EventKind::TicketFirstResponse => Event::TicketFirstResponse(parse(payload)?),
        EventKind::TicketResolved => Event::TicketResolved(parse(payload)?),
        EventKind::TicketReopened => Event::TicketReopened(parse(payload)?),
        EventKind::CsatResponse => Event::CsatResponse(parse(payload)?),
        EventKind::QaEvaluation => Event::QaEvaluation(parse(payload)?),
        EventKind::AgentSchedule => Event::AgentSchedule(parse(payload)?),
    })
}

fn validate(event: &Event, limits: &DecodeLimits) -> Result<(), Rejection> {
    match event {
        Event::CallQueued(e) => {
            require("call_id", &e.call_id, limits)?;
            require("queue", &e.queue, limits)?;
            optional("customer_id", e.customer_id.as_deref(), limits)?;
            match &e.transferred_from {
                Some(from) => require("transferred_from", from, limits),
                None => Ok(()),
            }
        }
        Event::CallAnswered(e) => {
            require("call_id", &e.call_id, limits)?;
            require("queue", &e.queue, limits)?;
            require("agent_id", &e.agent_id, limits)
        }
        Event::CallAbandoned(e) => {
            require("call_id", &e.call_id, limits)?;
            require("queue", &e.queue, limits)
        }
        Event::CallCompleted(e) => {
            require("call_id", &e.call_id, limits)?;
            require("queue", &e.queue, limits)?;
            require("agent_id", &e.agent_id, limits)?;
            duration("talk_ms", e.talk_ms, limits)?;
            duration("hold_ms", e.hold_ms, limits)?;
            duration("acw_ms", e.acw_ms, limits)
        }
        Event::AgentState(e) => {
            require("agent_id", &e.agent_id, limits)?;
            require("team", &e.team, limits)?;
            optional("reason", e.reason.as_deref(), limits)
        }
        Event::TicketCreated(e) => {
            require("ticket_id", &e.ticket_id, limits)?;
            require("queue", &e.queue, limits)?;
            optional("customer_id", e.customer_id.as_deref(), limits)
        }
        Event::TicketFirstResponse(e) => {
            require("ticket_id", &e.ticket_id, limits)?;
            require("agent_id", &e.agent_id, limits)
        }
        Event::TicketResolved(e) => {
            require("ticket_id", &e.ticket_id, limits)?;
            require("agent_id", &e.agent_id, limits)
        }
        Event::TicketReopened(e) => require("ticket_id", &e.ticket_id, limits),
        Event::CsatResponse(e) => {
            require("interaction_id", &e.interaction_id, limits)?;
            require("queue", &e.queue, limits)?;
            optional("agent_id", e.agent_id.as_deref(), limits)?;
            match (e.score, e.nps) {
                (None, None) => return Err(Rejection::MissingField("score or nps".into())),
                (Some(score), _) if !(1..=5).contains(&score) => {
                    return Err(Rejection::ScoreOutOfRange {
                        field: "score",
                        value: i64::from(score),
                    });
                }
                (_, Some(nps)) if nps > 10 => {
                    return Err(Rejection::ScoreOutOfRange {
                        field: "nps",
                        value: i64::from(nps),
                    });
                }
                _ => {}
            }
            Ok(())
        }
        Event::AgentSchedule(e) => {
            require("agent_id", &e.agent_id, limits)?;
            optional("team", e.team.as_deref(), limits)?;
            schedule(e)
        }
        Event::QaEvaluation(e) => {
            require("evaluation_id", &e.evaluation_id, limits)?;
            require("agent_id", &e.agent_id, limits)?;
            require("evaluator_id", &e.evaluator_id, limits)?;
            require("form", &e.form, limits)?;
            optional("contact_id", e.contact_id.as_deref(), limits)?;
            points("score", e.score, e.max_score)?;
            if e.critical_failures > MAX_CRITICAL_FAILURES {
                return Err(Rejection::ScoreOutOfRange {
                    field: "critical_failures",
                    value: i64::from(e.critical_failures),
                });
            }
            if e.sections.len() > MAX_QA_SECTIONS {
                return Err(Rejection::FieldTooLong("sections"));
            }
            for section in &e.sections {
                require("sections.name", &section.name, limits)?;
                points("sections.score", section.score, section.max_score)?;
            }
            Ok(())
        }
    }
}

/// A schedule's span: a week at most (a WFM system publishes a day or a week at a time).
pub const MAX_SCHEDULE_SPAN_MS: i64 = 7 * 24 * 3600 * 1000;
/// Segments of one schedule: bounded, as each is held per agent.
pub const MAX_SCHEDULE_SEGMENTS: usize = 200;

/// A schedule's span and segments: each segment inside the span, in time order, none
/// overlapping another or empty.
fn schedule(e: &AgentSchedule) -> Result<(), Rejection> {
    let bad = |what: &str| Err(Rejection::InvalidField(format!("schedule: {what}")));
    if e.end <= e.start || e.end.millis_since(e.start) > MAX_SCHEDULE_SPAN_MS {
        return bad("end must be after start, at most 7 days later");
    }
    if e.segments.len() > MAX_SCHEDULE_SEGMENTS {
        return Err(Rejection::FieldTooLong("segments"));
    }
    let mut from = e.start;
    for segment in &e.segments {
        if segment.end <= segment.start {
            return bad("a segment ends before it starts");
        }
        if segment.start < from || segment.end > e.end {
            return bad("segments must be in time order, apart, inside [start, end)");
        }
        from = segment.end;
    }
    Ok(())
}

/// More critical items failed than any form has is a producer's bug.
const MAX_CRITICAL_FAILURES: u32 = 1000;
/// Sections of one evaluation: bounded, as each is held and logged.
const MAX_QA_SECTIONS: usize = 64;

/// Points scored against a maximum: the maximum above 0, the score at most the maximum.
fn points(field: &'static str, score: u32, max: u32) -> Result<(), Rejection> {
    if max == 0 {
        return Err(Rejection::ScoreOutOfRange {
            field: "max_score",
            value: 0,
        });
    }
    if score > max {
        return Err(Rejection::ScoreOutOfRange {
            field,
            value: i64::from(score),
        });
    }
    Ok(())
}

fn require(field: &'static str, value: &str, limits: &DecodeLimits) -> Result<(), Rejection> {
    if value.is_empty() {
        return Err(Rejection::MissingField(field.to_owned()));
    }
    optional(field, Some(value), limits)
}

fn optional(
    field: &'static str,
    value: Option<&str>,
    limits: &DecodeLimits,
) -> Result<(), Rejection> {
    match value {
        Some(v) if v.len() > limits.max_field_len => Err(Rejection::FieldTooLong(field)),
        _ => Ok(()),
    }
}

fn duration(field: &'static str, ms: i64, limits: &DecodeLimits) -> Result<(), Rejection> {
    if ms < 0 {
        Err(Rejection::NegativeDuration(field))
    } else if ms > limits.max_duration_ms {
        Err(Rejection::DurationOutOfRange { field, ms })
    } else {
        Ok(())
    }
}

fn parse_ts(text: &str) -> Result<Ts, Rejection> {
    DateTime::parse_from_rfc3339(text)
        .map(|dt| Ts(dt.timestamp_millis()))
        .map_err(|_| Rejection::InvalidTimestamp(truncate(text, 64)))
}

/// Maps serde_json's error categories onto rejections. A score such as `7` parses as a u8
/// and is caught by validation; `-1` or `300` fail here as invalid fields.
fn classify(err: serde_json::Error) -> Rejection {
    use serde_json::error::Category;
    let text = err.to_string();
    match err.classify() {
        Category::Data if text.starts_with("missing field") => {
            Rejection::MissingField(field_name(&text))
        }
        Category::Data => Rejection::InvalidField(truncate(&text, 160)),
        Category::Io | Category::Syntax | Category::Eof => {
            Rejection::MalformedJson(truncate(&text, 160))
        }
    }
}

/// "missing field `queue` at line 1 column 80" -> "queue".
fn field_name(text: &str) -> String {
    text.split('`')
        .nth(1)
        .map_or_else(|| truncate(text, 64), str::to_owned)
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

mod one_pass;
#[cfg(test)]
mod tests;
