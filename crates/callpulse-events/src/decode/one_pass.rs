//! The one-pass decode: a quick scan finds the first `"type":"<name>"` in the bytes, and the
//! body of that kind is read in the same pass that picks out `event_id` and `ts`, instead
//! of a header pass and then a body pass over the whole payload. The pass checks that the
//! object's own `type` is the one the scan found (the scan may have hit a nested object or
//! a string).
//!
//! It is an optimisation only: whatever it cannot read (no `type` found, an escaped type
//! name, another `type` at the top, any parse error) goes to the two-pass decode, which
//! also words every rejection. So the result is always exactly the two-pass result; a
//! property test holds it to that.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer as _;
use serde::de::value::{CowStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};

use crate::{Event, EventKind};

/// The event kind named by the first `"type":"<name>"` in `payload`, if there is one, it
/// is an object, and the name has no escapes. A hint: [`read`] checks it.
pub(super) fn hinted_kind(payload: &[u8]) -> Option<EventKind> {
    let ws = |i: &mut usize| {
        while payload.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if payload.get(i) != Some(&b'{') {
        return None;
    }
    // Quote by quote: the bytes after one either are `type"` or are skipped.
    let hay = payload.get(i..)?;
    let mut from = 0;
    let key = loop {
        let quote = from + hay.get(from..)?.iter().position(|b| *b == b'"')?;
        let next = hay.get(quote + 1..quote + 6)?;
        if <[u8; 5]>::try_from(next).ok()? == *b"type\"" {
            break quote;
        }
        from = quote + 1;
    };
    i += key + 6;
    ws(&mut i);
    if payload.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    ws(&mut i);
    let name = payload.get(i..)?.strip_prefix(b"\"")?;
    let end = name.iter().position(|b| *b == b'"')?;
    let name = std::str::from_utf8(&name[..end]).ok()?;
    if name.contains('\\') {
        return None;
    }
    EventKind::from_wire(name)
}

/// An event's body, its `event_id` and its `ts`, as read.
pub(super) type Read<'de> = (Event, Option<Cow<'de, str>>, Option<Cow<'de, str>>);

/// A body of `kind`, with the `event_id` and `ts` read in the same pass; `None` on any
/// error (the two-pass decode then says what is wrong).
pub(super) fn read(kind: EventKind, payload: &[u8]) -> Option<Read<'_>> {
    fn typed<'de, T: DeserializeOwned>(
        payload: &'de [u8],
        kind: EventKind,
        wrap: fn(T) -> Event,
    ) -> Option<Read<'de>> {
        let mut de = serde_json::Deserializer::from_slice(payload);
        let one_pass = OnePass::<T> {
            kind: kind.as_str(),
            body: PhantomData,
        };
        let (body, event_id, ts) = de.deserialize_map(one_pass).ok()?;
        de.end().ok()?;
        Some((wrap(body), event_id, ts))
    }
    match kind {
        EventKind::CallQueued => typed(payload, kind, Event::CallQueued),
        EventKind::CallAnswered => typed(payload, kind, Event::CallAnswered),
        EventKind::CallAbandoned => typed(payload, kind, Event::CallAbandoned),
        EventKind::CallCompleted => typed(payload, kind, Event::CallCompleted),
        EventKind::AgentState => typed(payload, kind, Event::AgentState),
        EventKind::TicketCreated => typed(payload, kind, Event::TicketCreated),
        EventKind::TicketFirstResponse => typed(payload, kind, Event::TicketFirstResponse),
        EventKind::TicketResolved => typed(payload, kind, Event::TicketResolved),
        EventKind::TicketReopened => typed(payload, kind, Event::TicketReopened),
        EventKind::CsatResponse => typed(payload, kind, Event::CsatResponse),
        EventKind::QaEvaluation => typed(payload, kind, Event::QaEvaluation),
        EventKind::AgentSchedule => typed(payload, kind, Event::AgentSchedule),
    }
}

/// Reads the message object: the body `T` from every field but the header's, which it
/// keeps aside, and checks that its `type` is `kind`.
struct OnePass<T> {
    kind: &'static str,
    body: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for OnePass<T> {
    type Value = (T, Option<Cow<'de, str>>, Option<Cow<'de, str>>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut header = HeaderFields::default();
        let body = T::deserialize(MapAccessDeserializer::new(Intercept {
            inner: map,
            kind: self.kind,
            header: &mut header,
        }))?;
        if !header.kind {
            return Err(de::Error::custom("no type at the top"));
        }
        Ok((body, header.event_id, header.ts))
    }
}

#[derive(Default)]
struct HeaderFields<'de> {
    kind: bool,
    event_id: Option<Cow<'de, str>>,
    ts: Option<Cow<'de, str>>,
}

/// The object's entries as the body sees them, with `type`, `event_id` and `ts` taken out
/// on the way (the body types do not read them).
struct Intercept<'h, 'de, A> {
    inner: A,
    kind: &'static str,
    header: &'h mut HeaderFields<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Intercept<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        loop {
            let Some(key) = self.inner.next_key_seed(CowStr)? else {
                return Ok(None);
            };
            let slot = match &*key {
                "event_id" => &mut self.header.event_id,
                "ts" => &mut self.header.ts,
                "type" => {
                    // A second one is an error, as the two-pass header would say; another
                    // name than the scan found means the scan hit something else.
                    if std::mem::replace(&mut self.header.kind, true) {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    if self.inner.next_value_seed(CowStr)? != self.kind {
                        return Err(de::Error::custom("not the type the scan found"));
                    }
                    continue;
                }
                _ => return seed.deserialize(CowStrDeserializer::new(key)).map(Some),
            };
            if slot.is_some() {
                return Err(de::Error::custom("duplicate header field"));
            }
            *slot = Some(self.inner.next_value_seed(CowStr)?);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// A string, borrowed from the payload when it has no escapes.
struct CowStr;

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_type_is_found() {
        let kind = |s: &str| hinted_kind(s.as_bytes());
        assert_eq!(
            kind(r#" { "type" : "call_queued", "x": 1}"#),
            Some(EventKind::CallQueued)
        );
        assert_eq!(
            kind(r#"{"event_id":"a","type":"agent_state"}"#),
            Some(EventKind::AgentState)
        );
        // A hint only: a nested `type` is found first here, and `read` says no.
        let nested = r#"{"x":{"type":"call_queued"},"type":"call_abandoned","event_id":"e","ts":"2026-11-26T11:59:00Z","call_id":"c","queue":"q"}"#;
        assert_eq!(kind(nested), Some(EventKind::CallQueued));
        assert!(read(EventKind::CallQueued, nested.as_bytes()).is_none());
        assert!(read(EventKind::CallAbandoned, nested.as_bytes()).is_some());
        assert_eq!(kind(r#"{"type":"call\u005fqueued"}"#), None);
        assert_eq!(kind(r#"{"type":"call_teleported"}"#), None);
        assert_eq!(kind(r#"{"type":7}"#), None);
        assert_eq!(kind(r#"["type","call_queued"]"#), None);
        assert_eq!(kind(r#"{"type":"call_queued"#), None);
    }
}
