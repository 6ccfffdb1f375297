//! The envelope around every event: identity, event time and where it came from.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::Event;

/// An instant in event time: milliseconds since the Unix epoch, UTC.
///
/// The core does all its arithmetic on this integer; conversion to and from RFC 3339 happens
/// only at the edges (decode, JSON output).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ts(pub i64);

impl Ts {
    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// `self - earlier` in milliseconds (negative when `earlier` is later).
    pub const fn millis_since(self, earlier: Ts) -> i64 {
        self.0 - earlier.0
    }

    /// This instant moved by `ms` milliseconds.
    pub const fn plus_millis(self, ms: i64) -> Ts {
        Ts(self.0 + ms)
    }

    /// Seconds since the epoch as a float, the unit Prometheus wants for timestamps.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// From a chrono UTC time (sub-millisecond precision is dropped).
    pub fn from_datetime(dt: DateTime<Utc>) -> Ts {
        Ts(dt.timestamp_millis())
    }

    /// As a chrono UTC time; `None` for instants chrono cannot represent.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(self.0).single()
    }

    /// RFC 3339 with millisecond precision and a `Z` suffix, the contract's format.
    pub fn to_rfc3339(self) -> String {
        match self.to_datetime() {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => format!("@{}ms", self.0),
        }
    }
}

/// One decoded, validated event with its identity and event time. (Where it was read from
/// is the consumer's business: the worker that applies it tracks each partition's offsets.)
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Producer-assigned unique id; a redelivered event carries the same id.
    pub event_id: String,
    /// Event time.
    pub ts: Ts,
    /// The typed payload.
    pub event: Event,
}

/// Serde for a [`Ts`] inside an event body (a schedule's times): RFC 3339 like the
/// envelope's `ts`, read with any offset, written in UTC with milliseconds.
pub(crate) mod rfc3339 {
    use chrono::DateTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::Ts;

    pub(crate) fn serialize<S: Serializer>(ts: &Ts, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ts.to_rfc3339())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|dt| Ts(dt.timestamp_millis()))
            .map_err(|_| D::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}
