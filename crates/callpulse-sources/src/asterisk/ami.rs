//! Asterisk's Manager Interface (AMI): `app_queue`'s events read live, mapped to the event
//! contract. The framing (messages of `Key: Value` lines ended by a blank line) and the
//! mapping are here, without I/O; the binary holds the socket.
//!
//! A contact is a `Uniqueid` in one queue, as in `queue_log`. Waits and talk times are the
//! PBX's own: an answer is stamped at the join plus AgentConnect's `HoldTime` (seconds: the
//! manager docs call it an epoch, the code sends the wait), an abandon at the join plus
//! QueueCallerAbandon's `HoldTime`, a completion carries AgentComplete's `TalkTime`. Event
//! times are the `Timestamp` header when manager.conf has `timestampevents = yes`, else
//! the time the bridge received the event.
//!
//! AMI tells a caller's hang-up (QueueCallerAbandon) but not the other ways out: a timeout,
//! an empty queue or a key send only QueueCallerLeave, as an answer does just before its
//! AgentConnect. A leave with neither an abandon before it nor an answer within
//! [`LEAVE_GRACE_MS`] after it is therefore an exit with reason `other`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::envelope;
use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    Envelope, Event, ExitReason, Ts,
};

/// How long a QueueCallerLeave waits for the AgentConnect that would make it an answer.
pub const LEAVE_GRACE_MS: i64 = 2_000;

/// One manager message: its headers, in order of arrival (the last of a repeated name wins).
pub type Message = BTreeMap<String, String>;

/// Splits the manager's byte stream into messages as it arrives.
#[derive(Debug, Default)]
pub struct AmiFramer {
    buf: String,
}

impl AmiFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the socket (`\r\n` or `\n` line ends).
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf
            .push_str(&String::from_utf8_lossy(bytes).replace('\r', ""));
    }

    /// The next complete message, if the bytes hold one.
    pub fn next_message(&mut self) -> Option<Message> {
        loop {
            let trimmed = self.buf.trim_start_matches('\n').len();
            let skip = self.buf.len() - trimmed;
            self.buf.drain(..skip);
            let end = self.buf.find("\n\n")?;
            let block: String = self.buf.drain(..end + 2).collect();
            let message: Message = block
                .lines()
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            if !message.is_empty() {
                return Some(message);
            }
        }
    }
}

/// Why a message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    #[error("{event} without {header}")]
    MissingHeader { event: String, header: &'static str },
    #[error("{header} {value:?} is not a number of seconds")]
    BadNumber { header: &'static str, value: String },
}

impl AmiError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            AmiError::MissingHeader { .. } => "missing_header",
            AmiError::BadNumber { .. } => "bad_number",
        }
    }
}

/// What the mapper made of the messages so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmiStats {
    /// Queue events read.
    pub events_in: u64,
    /// Contract events produced.
    pub events: u64,
    /// Events with no figure of ours, by name.
    pub ignored: BTreeMap<String, u64>,
    /// Leaves with no abandon and no answer: exits with reason `other`.
    pub other_exits: u64,
    /// Outcomes whose join the mapper had not seen (it connected mid-call): the join was
    /// inferred from the outcome's HoldTime.
    pub inferred_joins: u64,
    /// Messages refused, by [`AmiError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone)]
struct Open {
    queued: Ts,
    answered: Option<Ts>,
}

#[derive(Debug, Clone, Default)]
struct Member {
    team: String,
    on_call: bool,
    paused: Option<String>,
    /// The queues it is a member of, as far as Added and Removed told: offline when its
    /// last one goes.
    queues: BTreeSet<String>,
}

/// How events are read.
#[derive(Debug, Clone, Default)]
pub struct AmiOptions {
    /// Each member's team, by member name or interface. A member not listed is in the team
    /// named like the first queue it is seen in.
    pub agent_teams: BTreeMap<String, String>,
}

/// Maps AMI queue events to contract events.
#[derive(Debug, Default)]
pub struct AmiMapper {
    options: AmiOptions,
    calls: HashMap<String, Open>,
    /// Calls that left their queue with no outcome yet, and when: kept apart so that
    /// settling them looks at these few, not at every open call, on each message.
    leaves: HashMap<String, Ts>,
    members: HashMap<String, Member>,
    /// The last event's time and when it was received: the PBX's clock, carried forward by
    /// the time passed since, is what the leave grace is measured in.
    last: Option<(Ts, Ts)>,
    stats: AmiStats,
}

impl AmiMapper {
    pub fn new(options: AmiOptions) -> Self {
        AmiMapper {
            options,
            ..Self::default()
        }
    }

    /// What the mapper made of the messages so far.
    pub fn stats(&self) -> &AmiStats {
        &self.stats
    }

    /// Calls joined and not yet ended.
    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// Maps one message received at `received` (used when it carries no `Timestamp`).
    /// Responses and events that are not about queues are skipped.
    ///
    /// # Errors
    /// A queue event without the headers it needs (counted, and the next one is read).
    pub fn message(
        &mut self,
        m: &Message,
        received: Ts,
        out: &mut Vec<Envelope>,
    ) -> Result<(), AmiError> {
        let Some(event) = m.get("Event") else {
            return Ok(());
        };
        let at = m
            .get("Timestamp")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(received, |t| Ts((t * 1000.0).round() as i64));
        self.last = Some((at, received));
        self.settle(at, out);
        let before = out.len();
        let result = self.event(event, m, at, out);
        if let Err(e) = &result {
            *self.stats.malformed.entry(e.reason()).or_default() += 1;
        }
        self.stats.events += (out.len() - before) as u64;
        result
    }

    /// Ends the leaves that have waited [`LEAVE_GRACE_MS`] without an answer by `now` (the
    /// receiving side's clock): exits with reason `other`. The bridge calls it as time
    /// passes; the grace is measured on the PBX's clock, the last event's time carried
    /// forward by the time received since, so a PBX clock ahead of or behind the bridge's
    /// changes nothing.
    pub fn tick(&mut self, now: Ts, out: &mut Vec<Envelope>) {
        let pbx_now = match self.last {
            Some((at, received)) => at.plus_millis(now.millis_since(received).max(0)),
            None => now,
        };
        self.settle(pbx_now, out);
    }

    fn settle(&mut self, now: Ts, out: &mut Vec<Envelope>) {
        if self.leaves.is_empty() {
            return;
        }
        let mut due: Vec<(String, Ts)> = self
            .leaves
            .iter()
            .filter(|(_, left)| now.millis_since(**left) >= LEAVE_GRACE_MS)
            .map(|(c, left)| (c.clone(), *left))
            .collect();
        due.sort();
        for (contact, left) in due {
            self.calls.remove(&contact);
            self.leaves.remove(&contact);
            self.stats.other_exits += 1;
            self.stats.events += 1;
            out.push(abandon(&contact, left, ExitReason::Other));
        }
    }

    fn event(
        &mut self,
        event: &str,
        m: &Message,
        at: Ts,
        out: &mut Vec<Envelope>,
    ) -> Result<(), AmiError> {
        let get = |header: &'static str| {
            m.get(header)
                .filter(|v| !v.is_empty())
                .map(String::as_str)
                .ok_or_else(|| AmiError::MissingHeader {
                    event: event.to_owned(),
                    header,
                })
        };
        let secs = |header: &'static str| -> Result<i64, AmiError> {
            let value = get(header)?;
            value
                .parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| AmiError::BadNumber {
                    header,
                    value: value.to_owned(),
                })
        };
        let contact = || -> Result<(String, &str), AmiError> {
            let queue = get("Queue")?;
            Ok((format!("{}@{queue}", get("Uniqueid")?), queue))
        };
        match event {
            "QueueCallerJoin" => {
                self.stats.events_in += 1;
                let (contact, queue) = contact()?;
                self.calls.insert(
                    contact.clone(),
                    Open {
                        queued: at,
                        answered: None,
                    },
                );
                let customer = m
                    .get("CallerIDNum")
                    .filter(|n| {
                        !n.is_empty()
                            && !["<unknown>", "unknown", "anonymous"]
                                .contains(&n.to_ascii_lowercase().as_str())
                    })
                    .cloned();
                out.push(queued(&contact, queue, at, customer));
            }
            "AgentConnect" => {
                self.stats.events_in += 1;
                let (contact, queue) = contact()?;
                let hold = secs("HoldTime")?;
                let agent = m
                    .get("MemberName")
                    .or_else(|| m.get("Interface"))
                    .filter(|a| !a.is_empty())
                    .cloned()
                    .ok_or_else(|| AmiError::MissingHeader {
                        event: event.to_owned(),
                        header: "MemberName",
                    })?;
                let joined = self.joined(&contact, queue, at.plus_millis(-hold * 1000), out);
                let answered = joined.plus_millis(hold * 1000);
                if let Some(open) = self.calls.get_mut(&contact) {
                    open.answered = Some(answered);
                }
                self.leaves.remove(&contact);
                out.push(envelope(
                    format!("ami:{contact}:a"),
                    answered,
                    Event::CallAnswered(CallAnswered {
                        call_id: contact.clone(),
                        queue: queue.to_owned(),
                        agent_id: agent.clone(),
                    }),
                ));
                self.member(&agent, queue, at, |m| m.on_call = true, out);
            }
            "AgentComplete" => {
                self.stats.events_in += 1;
                let (contact, queue) = contact()?;
                let talk = secs("TalkTime")?;
                let agent = get("MemberName").or_else(|_| get("Interface"))?.to_owned();
                let answered = match self.calls.remove(&contact).and_then(|o| o.answered) {
                    Some(answered) => answered,
                    None => {
                        self.stats.inferred_joins += 1;
                        at.plus_millis(-talk * 1000)
                    }
                };
                out.push(envelope(
                    format!("ami:{contact}:c"),
                    answered.plus_millis(talk * 1000),
                    Event::CallCompleted(CallCompleted {
                        call_id: contact.clone(),
                        queue: queue.to_owned(),
                        agent_id: agent.clone(),
                        talk_ms: talk * 1000,
                        hold_ms: 0,
                        acw_ms: 0,
                        resolved: None,
                    }),
                ));
                self.member(&agent, queue, at, |m| m.on_call = false, out);
            }
            "QueueCallerAbandon" => {
                self.stats.events_in += 1;
                let (contact, queue) = contact()?;
                let hold = secs("HoldTime")?;
                let joined = self.joined(&contact, queue, at.plus_millis(-hold * 1000), out);
                self.calls.remove(&contact);
                self.leaves.remove(&contact);
                out.push(abandon(
                    &contact,
                    joined.plus_millis(hold * 1000),
                    ExitReason::Hangup,
                ));
            }
            "QueueCallerLeave" => {
                self.stats.events_in += 1;
                let (contact, _) = contact()?;
                if self
                    .calls
                    .get(&contact)
                    .is_some_and(|open| open.answered.is_none())
                {
                    self.leaves.insert(contact, at);
                }
            }
            "QueueMemberAdded" | "QueueMemberRemoved" | "QueueMemberPause" => {
                self.stats.events_in += 1;
                let queue = get("Queue")?;
                let agent = get("MemberName").or_else(|_| get("Interface"))?.to_owned();
                let paused = m.get("Paused").is_some_and(|p| p == "1");
                let reason = m
                    .get("PausedReason")
                    .or_else(|| m.get("Reason"))
                    .filter(|r| !r.is_empty())
                    .cloned()
                    .unwrap_or_else(|| "paused".to_owned());
                let last_queue = event == "QueueMemberRemoved"
                    && self.members.get_mut(&agent).is_none_or(|m| {
                        m.queues.remove(queue);
                        m.queues.is_empty()
                    });
                if last_queue {
                    let team = self.team(&agent, queue);
                    self.members.remove(&agent);
                    out.push(agent_state(
                        &agent,
                        team,
                        AgentState::Offline,
                        None,
                        at,
                        event,
                    ));
                } else {
                    self.member(
                        &agent,
                        queue,
                        at,
                        |m| {
                            if event == "QueueMemberAdded" {
                                m.queues.insert(queue.to_owned());
                            }
                            // Removed from one queue of several: still a member elsewhere.
                            if event != "QueueMemberRemoved" {
                                m.paused = paused.then_some(reason);
                            }
                        },
                        out,
                    );
                }
            }
            other => {
                *self.stats.ignored.entry(other.to_owned()).or_default() += 1;
            }
        }
        Ok(())
    }

    /// The join time of `contact`; an outcome without one (the bridge connected mid-call)
    /// gets it inferred and its `call_queued` produced.
    fn joined(&mut self, contact: &str, queue: &str, inferred: Ts, out: &mut Vec<Envelope>) -> Ts {
        if let Some(open) = self.calls.get(contact) {
            return open.queued;
        }
        self.stats.inferred_joins += 1;
        self.calls.insert(
            contact.to_owned(),
            Open {
                queued: inferred,
                answered: None,
            },
        );
        out.push(queued(contact, queue, inferred, None));
        inferred
    }

    fn team(&self, agent: &str, queue: &str) -> String {
        self.options
            .agent_teams
            .get(agent)
            .cloned()
            .or_else(|| self.members.get(agent).map(|m| m.team.clone()))
            .unwrap_or_else(|| queue.to_owned())
    }

    /// Changes a member and produces its state.
    fn member(
        &mut self,
        agent: &str,
        queue: &str,
        at: Ts,
        change: impl FnOnce(&mut Member),
        out: &mut Vec<Envelope>,
    ) {
        let team = self.team(agent, queue);
        let member = self.members.entry(agent.to_owned()).or_insert(Member {
            team,
            ..Member::default()
        });
        change(member);
        let (state, reason) = match (&member.paused, member.on_call) {
            (_, true) => (AgentState::OnCall, None),
            (Some(reason), false) => (AgentState::Aux, Some(reason.clone())),
            (None, false) => (AgentState::Available, None),
        };
        out.push(agent_state(
            agent,
            member.team.clone(),
            state,
            reason,
            at,
            state.as_str(),
        ));
    }
}

fn queued(contact: &str, queue: &str, at: Ts, customer_id: Option<String>) -> Envelope {
    envelope(
        format!("ami:{contact}:q"),
        at,
        Event::CallQueued(CallQueued {
            call_id: contact.to_owned(),
            queue: queue.to_owned(),
            customer_id,
            priority: None,
            transferred_from: None,
        }),
    )
}

fn abandon(contact: &str, at: Ts, reason: ExitReason) -> Envelope {
    let queue = contact.rsplit_once('@').map_or("", |(_, q)| q);
    envelope(
        format!("ami:{contact}:x"),
        at,
        Event::CallAbandoned(CallAbandoned {
            call_id: contact.to_owned(),
            queue: queue.to_owned(),
            reason: Some(reason),
        }),
    )
}

fn agent_state(
    agent: &str,
    team: String,
    state: AgentState,
    reason: Option<String>,
    at: Ts,
    what: &str,
) -> Envelope {
    envelope(
        format!("ami-agent:{agent}:{}:{what}", at.millis()),
        at,
        Event::AgentState(AgentStateChanged {
            agent_id: agent.to_owned(),
            team,
            state,
            reason,
        }),
    )
}

#[cfg(test)]
mod tests;
