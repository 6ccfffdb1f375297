//! Amazon Connect's contact records (CTRs) and agent event stream mapped to the event
//! contract, as they arrive bridged from Kinesis (one JSON object per line, or several
//! concatenated as Kinesis Data Firehose writes them).
//!
//! A contact record with a queue becomes `call_queued` at `Queue.EnqueueTimestamp`, then
//! `call_answered` or `call_abandoned` at the enqueue time plus `Queue.Duration` (so each
//! wait is the one Connect itself reports), and, once the agent part is final,
//! `call_completed` with `AgentInteractionDuration` as talk, `CustomerHoldDuration` as hold
//! and `AfterContactWorkDuration` as after-call work: Connect's own AHT parts. A contact
//! that left its queue with a `NextContactId` and no agent was transferred (the next
//! contact's queueing continues it); one without is abandoned. Records are delivered at
//! least once and re-sent when updated: per `ContactId` each event is produced once (a later
//! version adds what an earlier one lacked, e.g. the completion), and every event id is
//! derived from the contact so the engine drops repeats too. docs/sources.md has the table.

mod agents;
mod records;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::envelope;
use callpulse_events::{
    CallAbandoned, CallAnswered, CallCompleted, CallQueued, Envelope, Event, ExitReason, Ts,
};
use chrono::DateTime;
use serde_json::Value;

use records::{AgentEvent, ContactRecord};

/// Why a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("neither a contact record (ContactId) nor an agent event (EventType)")]
    NotARecord,
    #[error("{0}")]
    Shape(String),
    #[error("{field} {value:?} is not an ISO 8601 time")]
    BadTime { field: &'static str, value: String },
}

impl ConnectError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            ConnectError::Json(_) => "not_json",
            ConnectError::NotARecord => "not_a_record",
            ConnectError::Shape(_) => "bad_shape",
            ConnectError::BadTime { .. } => "bad_time",
        }
    }
}

/// What the mapper made of the records so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectStats {
    /// Contact records and agent events read.
    pub contact_records: u64,
    pub agent_events: u64,
    /// Contract events produced.
    pub events: u64,
    /// Contacts that never queued (outbound, flow-only, ...): nothing to count.
    pub not_queued: u64,
    /// Records of a contact already seen that added nothing.
    pub resent: u64,
    /// Of those, records whose figures differed from the version already counted (kept).
    pub revised: u64,
    /// Contacts that left their queue for another one before an answer.
    pub transferred: u64,
    /// Agent heartbeats: no change of state.
    pub heartbeats: u64,
    /// Records refused, by [`ConnectError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
}

/// Which of a contact's events have been produced.
const QUEUED: u8 = 1;
const ANSWERED: u8 = 2;
const LEFT: u8 = 4;
const COMPLETED: u8 = 8;

#[derive(Debug)]
struct Seen {
    queue: String,
    produced: u8,
    /// The figures the produced events carry, to tell a re-send from a revision.
    figures: Figures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Figures {
    enqueued: i64,
    dequeued: Option<i64>,
    talk_ms: Option<i64>,
    hold_ms: Option<i64>,
    acw_ms: Option<i64>,
}

/// How many contacts are remembered for re-sends and transfers; past it the oldest go (the
/// engine's own de-duplication still drops their repeats by event id). Connect re-sends
/// within minutes; 65,536 contacts is hours of a large center, a few MB per mapper (one per
/// partition of a native topic).
const REMEMBERED: usize = 1 << 16;

/// Maps Connect records to contract events.
#[derive(Debug, Default)]
pub struct ConnectMapper {
    contacts: HashMap<String, Seen>,
    order: VecDeque<String>,
    stats: ConnectStats,
}

impl ConnectMapper {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the mapper made of the records so far.
    pub fn stats(&self) -> &ConnectStats {
        &self.stats
    }

    /// Maps one line: a record, or several concatenated. On an error the records before it
    /// in the line are mapped; the error is counted in [`ConnectStats::malformed`].
    ///
    /// # Errors
    /// A line that is not JSON, a JSON value that is no Connect record, or a record whose
    /// fields have the wrong types or times.
    pub fn map(&mut self, text: &str, out: &mut Vec<Envelope>) -> Result<(), ConnectError> {
        let result = self.map_line(text, out);
        if let Err(e) = &result {
            *self.stats.malformed.entry(e.reason()).or_default() += 1;
        }
        result
    }

    fn map_line(&mut self, text: &str, out: &mut Vec<Envelope>) -> Result<(), ConnectError> {
        for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            let value = value.map_err(|e| ConnectError::Json(e.to_string()))?;
            let before = out.len();
            if value.get("ContactId").is_some() {
                self.stats.contact_records += 1;
                let record: ContactRecord = serde_json::from_value(value)
                    .map_err(|e| ConnectError::Shape(e.to_string()))?;
                self.contact(&record, out)?;
            } else if value.get("EventType").is_some() {
                self.stats.agent_events += 1;
                let event: AgentEvent = serde_json::from_value(value)
                    .map_err(|e| ConnectError::Shape(e.to_string()))?;
                match agents::state(&event)? {
                    Some(env) => out.push(env),
                    None => self.stats.heartbeats += 1,
                }
            } else {
                return Err(ConnectError::NotARecord);
            }
            self.stats.events += (out.len() - before) as u64;
        }
        Ok(())
    }

    fn contact(&mut self, r: &ContactRecord, out: &mut Vec<Envelope>) -> Result<(), ConnectError> {
        let Some((q, queue, enqueued)) = r.queue.as_ref().and_then(|q| {
            let (name, at) = q.name.as_deref().zip(q.enqueue_timestamp.as_deref())?;
            Some((q, name, at))
        }) else {
            self.stats.not_queued += 1;
            return Ok(());
        };
        let enqueued = time("Queue.EnqueueTimestamp", enqueued)?;
        // The end of the wait as Connect counts it: enqueue + Queue.Duration.
        let dequeued = match (q.duration, &q.dequeue_timestamp) {
            (Some(secs), _) => Some(enqueued.plus_millis(millis(secs))),
            (None, Some(at)) => Some(time("Queue.DequeueTimestamp", at)?),
            (None, None) => None,
        };
        let disconnected = r
            .disconnect_timestamp
            .as_deref()
            .map(|at| time("DisconnectTimestamp", at))
            .transpose()?;
        let agent = r.agent.as_ref();
        let connected = agent
            .and_then(|a| a.connected_to_agent_timestamp.as_deref())
            .map(|at| time("Agent.ConnectedToAgentTimestamp", at))
            .transpose()?;
        let call_id = r.initial_contact_id.as_deref().unwrap_or(&r.contact_id);
        let id = |suffix: &str| format!("connect:{}:{suffix}", r.contact_id);
        let mut figures = Figures {
            enqueued: enqueued.millis(),
            dequeued: dequeued.map(Ts::millis),
            ..Figures::default()
        };
        let transfer_from = match r.initiation_method.as_deref() {
            Some("TRANSFER" | "QUEUE_TRANSFER") => r
                .previous_contact_id
                .as_ref()
                .and_then(|prev| self.contacts.get(prev))
                .map(|seen| seen.queue.clone()),
            _ => None,
        };
        let mut new = Vec::new();
        let produced = self.contacts.get(&r.contact_id).map_or(0, |s| s.produced);
        let mut now_produced = produced;
        if produced & QUEUED == 0 {
            new.push(envelope(
                id("q"),
                enqueued,
                Event::CallQueued(CallQueued {
                    call_id: call_id.to_owned(),
                    queue: queue.to_owned(),
                    customer_id: r
                        .customer_endpoint
                        .as_ref()
                        .and_then(|e| e.address.clone())
                        .filter(|a| !a.is_empty()),
                    priority: None,
                    transferred_from: transfer_from,
                }),
            ));
            now_produced |= QUEUED;
        }
        match (connected, agent) {
            (Some(connected), Some(agent)) => {
                let agent_id = agent
                    .username
                    .clone()
                    .or_else(|| agent.arn.as_deref().map(arn_tail))
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| ConnectError::Shape("Agent without Username or ARN".into()))?;
                let answered = dequeued.unwrap_or(connected);
                if produced & ANSWERED == 0 {
                    new.push(envelope(
                        id("a"),
                        answered,
                        Event::CallAnswered(CallAnswered {
                            call_id: call_id.to_owned(),
                            queue: queue.to_owned(),
                            agent_id: agent_id.clone(),
                        }),
                    ));
                    now_produced |= ANSWERED;
                }
                if let Some(disconnected) = disconnected {
                    let hold_ms = agent.customer_hold_duration.map_or(0, millis);
                    let acw_ms = agent.after_contact_work_duration.map_or(0, millis);
                    let talk_ms = agent.agent_interaction_duration.map_or_else(
                        || (disconnected.millis_since(connected) - hold_ms).max(0),
                        millis,
                    );
                    let done = match &agent.after_contact_work_end_timestamp {
                        Some(at) => time("Agent.AfterContactWorkEndTimestamp", at)?,
                        None => disconnected.plus_millis(acw_ms),
                    };
                    (figures.talk_ms, figures.hold_ms, figures.acw_ms) =
                        (Some(talk_ms), Some(hold_ms), Some(acw_ms));
                    if produced & COMPLETED == 0 {
                        new.push(envelope(
                            id("c"),
                            done,
                            Event::CallCompleted(CallCompleted {
                                call_id: call_id.to_owned(),
                                queue: queue.to_owned(),
                                agent_id,
                                talk_ms,
                                hold_ms,
                                acw_ms,
                                resolved: None,
                            }),
                        ));
                        now_produced |= COMPLETED;
                    }
                }
            }
            _ => {
                let left = dequeued.or(disconnected);
                match (left, &r.next_contact_id) {
                    // Still waiting when the record was written: its outcome comes later.
                    (None, _) => {}
                    // Continued by the next contact's queueing: a transfer, not an abandon.
                    (Some(_), Some(_)) => {
                        if produced & LEFT == 0 {
                            self.stats.transferred += 1;
                            now_produced |= LEFT;
                        }
                    }
                    (Some(left), None) if produced & LEFT == 0 => {
                        new.push(envelope(
                            id("x"),
                            left,
                            Event::CallAbandoned(CallAbandoned {
                                call_id: call_id.to_owned(),
                                queue: queue.to_owned(),
                                reason: exit_reason(r.disconnect_reason.as_deref()),
                            }),
                        ));
                        now_produced |= LEFT;
                    }
                    (Some(_), None) => {}
                }
            }
        }
        match self.contacts.get_mut(&r.contact_id) {
            Some(seen) => {
                if now_produced == produced {
                    self.stats.resent += 1;
                    if seen.figures != figures {
                        self.stats.revised += 1;
                    }
                }
                seen.produced = now_produced;
                seen.figures = figures;
            }
            None => {
                if self.order.len() >= REMEMBERED
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.contacts.remove(&oldest);
                }
                self.order.push_back(r.contact_id.clone());
                self.contacts.insert(
                    r.contact_id.clone(),
                    Seen {
                        queue: queue.to_owned(),
                        produced: now_produced,
                        figures,
                    },
                );
            }
        }
        out.extend(new);
        Ok(())
    }
}

/// `DisconnectReason` of a contact that left its queue unanswered.
fn exit_reason(reason: Option<&str>) -> Option<ExitReason> {
    match reason? {
        "CUSTOMER_DISCONNECT" => Some(ExitReason::Hangup),
        "CONTACT_FLOW_DISCONNECT" | "API" => Some(ExitReason::Withdrawn),
        "EXPIRED" => Some(ExitReason::Timeout),
        _ => None,
    }
}

/// The resource id at the end of an ARN (`arn:aws:connect:...:agent/UUID` -> `UUID`).
fn arn_tail(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

/// Seconds (Connect's durations, whole or fractional) as milliseconds, never negative.
fn millis(secs: f64) -> i64 {
    if secs.is_finite() && secs > 0.0 {
        (secs * 1000.0).round() as i64
    } else {
        0
    }
}

fn time(field: &'static str, value: &str) -> Result<Ts, ConnectError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| Ts::from_datetime(t.to_utc()))
        .map_err(|_| ConnectError::BadTime {
            field,
            value: value.to_owned(),
        })
}
