//! Genesys Cloud conversation details (the analytics API's `conversations/details`, one
//! conversation per line or whole query responses) mapped to the event contract.
//!
//! Each `acd` participant session with a `queueId` is one queue leg of the conversation:
//! `call_queued` at the start of its first segment, then an answer or an abandon from the
//! metrics Genesys itself computed for it (`tAnswered`, else `tAcd`, for the wait;
//! `tAbandon`), and a completion from the agent session that took it (the one with an
//! `interact` segment in that queue: `tTalkComplete`,
//! `tHeldComplete`, `tAcw`: Genesys' own handle-time parts, in ms). The legs of a transferred
//! conversation share its id, the later ones marked `transferred_from` the earlier queue.
//! Conversations are read again as they update: each event is produced once, and its id is
//! derived from the conversation so the engine drops repeats as well.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::envelope;
use callpulse_events::{
    CallAbandoned, CallAnswered, CallCompleted, CallQueued, Envelope, Event, Ts,
};
use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

/// Why a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesysError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("neither a conversation (conversationId) nor a query response (conversations)")]
    NotARecord,
    #[error("{0}")]
    Shape(String),
    #[error("{field} {value:?} is not an ISO 8601 time")]
    BadTime { field: &'static str, value: String },
}

impl GenesysError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            GenesysError::Json(_) => "not_json",
            GenesysError::NotARecord => "not_a_record",
            GenesysError::Shape(_) => "bad_shape",
            GenesysError::BadTime { .. } => "bad_time",
        }
    }
}

/// What the mapper made of the records so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenesysStats {
    pub conversations: u64,
    /// Queue legs read.
    pub legs: u64,
    /// Contract events produced.
    pub events: u64,
    /// Events already produced from an earlier read of the conversation: not again.
    pub repeated: u64,
    /// Conversations that never reached a queue (outbound, IVR only).
    pub not_queued: u64,
    /// Records refused, by [`GenesysError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conversation {
    conversation_id: String,
    conversation_end: Option<String>,
    #[serde(default)]
    participants: Vec<Participant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Participant {
    purpose: Option<String>,
    participant_name: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    sessions: Vec<Session>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    ani: Option<String>,
    #[serde(default)]
    segments: Vec<Segment>,
    #[serde(default)]
    metrics: Vec<Metric>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Segment {
    segment_start: String,
    segment_end: Option<String>,
    segment_type: Option<String>,
    queue_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Metric {
    name: String,
    value: f64,
}

impl Session {
    /// A metric's total (Genesys may emit one per segment), `None` when absent.
    fn metric(&self, name: &str) -> Option<i64> {
        let values: Vec<f64> = self
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .map(|m| m.value)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>().max(0.0).round() as i64)
    }

    fn queue_id(&self) -> Option<&str> {
        self.segments.iter().find_map(|s| s.queue_id.as_deref())
    }
}

/// How many event ids are remembered to produce each once; past it the oldest go (the
/// engine's de-duplication still drops their repeats). About 16,000 conversations, a few
/// MB per mapper (one per partition of a native topic).
const REMEMBERED: usize = 1 << 16;

/// Maps Genesys Cloud conversation details to contract events.
#[derive(Debug, Default)]
pub struct GenesysMapper {
    produced: HashSet<String>,
    order: VecDeque<String>,
    stats: GenesysStats,
}

impl GenesysMapper {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the mapper made of the records so far.
    pub fn stats(&self) -> &GenesysStats {
        &self.stats
    }

    /// Maps one line: a conversation, or a query response holding `conversations`.
    ///
    /// # Errors
    /// A line that is not JSON or no conversation, a conversation of the wrong shape, or a
    /// time that is not ISO 8601 (counted in [`GenesysStats::malformed`]).
    pub fn map(&mut self, text: &str, out: &mut Vec<Envelope>) -> Result<(), GenesysError> {
        let result = self.map_line(text, out);
        if let Err(e) = &result {
            *self.stats.malformed.entry(e.reason()).or_default() += 1;
        }
        result
    }

    fn map_line(&mut self, text: &str, out: &mut Vec<Envelope>) -> Result<(), GenesysError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| GenesysError::Json(e.to_string()))?;
        let conversations = if value.get("conversationId").is_some() {
            vec![value]
        } else if let Some(Value::Array(list)) = value.get("conversations") {
            list.clone()
        } else {
            return Err(GenesysError::NotARecord);
        };
        for value in conversations {
            let c: Conversation =
                serde_json::from_value(value).map_err(|e| GenesysError::Shape(e.to_string()))?;
            self.stats.conversations += 1;
            let mut events = Vec::new();
            conversation(&c, &mut events)?;
            if events.is_empty() {
                self.stats.not_queued += 1;
            }
            for env in events {
                if self.produced.contains(&env.event_id) {
                    self.stats.repeated += 1;
                    continue;
                }
                if self.order.len() >= REMEMBERED
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.produced.remove(&oldest);
                }
                self.produced.insert(env.event_id.clone());
                self.order.push_back(env.event_id.clone());
                self.stats.events += 1;
                out.push(env);
            }
            self.stats.legs += c
                .participants
                .iter()
                .filter(|p| p.purpose.as_deref() == Some("acd"))
                .flat_map(|p| &p.sessions)
                .filter(|s| s.queue_id().is_some())
                .count() as u64;
        }
        Ok(())
    }
}

/// Every event of one conversation, as far as it has gone.
fn conversation(c: &Conversation, out: &mut Vec<Envelope>) -> Result<(), GenesysError> {
    let customer = c
        .participants
        .iter()
        .filter(|p| p.purpose.as_deref() == Some("customer"))
        .flat_map(|p| &p.sessions)
        .find_map(|s| s.ani.as_deref())
        .map(|ani| ani.trim_start_matches("tel:").to_owned())
        .filter(|ani| !ani.is_empty());
    let agents: Vec<(&Participant, &Session)> = c
        .participants
        .iter()
        .filter(|p| p.purpose.as_deref() == Some("agent"))
        .flat_map(|p| p.sessions.iter().map(move |s| (p, s)))
        .collect();
    let mut legs: Vec<(Ts, &Participant, &Session)> = Vec::new();
    for p in c
        .participants
        .iter()
        .filter(|p| p.purpose.as_deref() == Some("acd"))
    {
        for s in p.sessions.iter().filter(|s| s.queue_id().is_some()) {
            let Some(first) = s.segments.first() else {
                continue;
            };
            legs.push((time("segmentStart", &first.segment_start)?, p, s));
        }
    }
    legs.sort_by_key(|(at, ..)| *at);
    let mut previous_queue: Option<String> = None;
    for (n, (queued, acd, session)) in legs.into_iter().enumerate() {
        let queue_id = session.queue_id().unwrap_or_default();
        let queue = acd
            .participant_name
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| queue_id.to_owned());
        let id = |suffix: &str| format!("genesys:{}:{n}:{suffix}", c.conversation_id);
        let call_id = c.conversation_id.clone();
        out.push(envelope(
            id("q"),
            queued,
            Event::CallQueued(CallQueued {
                call_id: call_id.clone(),
                queue: queue.clone(),
                customer_id: customer.clone(),
                priority: None,
                transferred_from: previous_queue.replace(queue.clone()),
            }),
        ));
        // The agent session that took this leg: same queue, talking with the customer (an
        // agent alerted who did not answer has no interact segment).
        let taken = agents.iter().find(|(_, s)| {
            s.queue_id() == Some(queue_id)
                && s.segments
                    .iter()
                    .any(|seg| seg.segment_type.as_deref() == Some("interact"))
        });
        let wait = session
            .metric("tAnswered")
            .or_else(|| taken.and_then(|(_, s)| s.metric("tAnswered")))
            .or_else(|| session.metric("tAcd"));
        match (taken, session.metric("tAbandon")) {
            (_, Some(abandon_ms)) => out.push(envelope(
                id("x"),
                queued.plus_millis(abandon_ms),
                Event::CallAbandoned(CallAbandoned::new(call_id, queue)),
            )),
            (Some((agent, agent_session)), None) => {
                let agent_id = agent
                    .participant_name
                    .clone()
                    .or_else(|| agent.user_id.clone())
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        GenesysError::Shape("agent without participantName or userId".into())
                    })?;
                let answered = queued.plus_millis(wait.unwrap_or(0));
                out.push(envelope(
                    id("a"),
                    answered,
                    Event::CallAnswered(CallAnswered {
                        call_id: call_id.clone(),
                        queue: queue.clone(),
                        agent_id: agent_id.clone(),
                    }),
                ));
                // Complete once the agent's part has ended (its last segment closed).
                let ended = agent_session
                    .segments
                    .last()
                    .and_then(|s| s.segment_end.as_deref())
                    .or(c.conversation_end.as_deref());
                if let Some(ended) = ended {
                    let talk = agent_session
                        .metric("tTalkComplete")
                        .or_else(|| agent_session.metric("tTalk"))
                        .unwrap_or(0);
                    let hold = agent_session
                        .metric("tHeldComplete")
                        .or_else(|| agent_session.metric("tHeld"))
                        .unwrap_or(0);
                    let acw = agent_session.metric("tAcw").unwrap_or(0);
                    out.push(envelope(
                        id("c"),
                        time("segmentEnd", ended)?,
                        Event::CallCompleted(CallCompleted {
                            call_id,
                            queue,
                            agent_id,
                            talk_ms: talk,
                            hold_ms: hold,
                            acw_ms: acw,
                            resolved: None,
                        }),
                    ));
                }
            }
            // Still in the queue, or transferred out of it before an answer: the next leg
            // (if any) continues the conversation.
            (None, None) => {}
        }
    }
    Ok(())
}

fn time(field: &'static str, value: &str) -> Result<Ts, GenesysError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| Ts::from_datetime(t.to_utc()))
        .map_err(|_| GenesysError::BadTime {
            field,
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests;
