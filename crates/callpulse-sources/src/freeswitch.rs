//! FreeSWITCH `mod_callcenter` mapped to the event contract: the `CUSTOM callcenter::info`
//! events its queues send over the event socket (live) or as captured from it (replay).
//!
//! A contact is a member: `CC-Member-UUID`, one queue entry (a caller moved to another queue
//! is a new member there, as mod_callcenter counts it). Times are the module's own epoch
//! seconds (`CC-Member-Joined-Time`, `CC-Agent-Answered-Time`, `CC-Bridge-Terminated-Time`,
//! `CC-Member-Leaving-Time`), so waits and talk times are the ones it reports. The module
//! reports no hold and no wrap-up per call: `hold_ms` and `acw_ms` are 0. docs/sources.md has
//! the table.

pub mod esl;

use std::collections::{BTreeMap, HashMap};

use crate::envelope;
use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    Envelope, Event, ExitReason, Ts,
};

use esl::{Frame, FrameError, Framer};

/// Why an event could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreeswitchError {
    #[error("{action} without {header}")]
    MissingHeader {
        action: String,
        header: &'static str,
    },
    #[error("{header} {value:?} is not epoch seconds")]
    BadTime { header: &'static str, value: String },
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl FreeswitchError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            FreeswitchError::MissingHeader { .. } => "missing_header",
            FreeswitchError::BadTime { .. } => "bad_time",
            FreeswitchError::Frame(_) => "bad_frame",
        }
    }
}

/// What the mapper made of the events so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreeswitchStats {
    /// callcenter events read.
    pub events_in: u64,
    /// Contract events produced.
    pub events: u64,
    /// Actions with no figure of ours (agent-offering, bridge-agent-fail, members-count, ...).
    pub ignored: BTreeMap<String, u64>,
    /// Frames that are no callcenter event (command replies, other events).
    pub other_frames: u64,
    /// Members resumed after a FreeSWITCH restart that the mapper had not seen queue.
    pub resumed: u64,
    /// Events refused, by [`FreeswitchError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone)]
struct Member {
    /// Bridged to an agent: its end is the bridge's, not an abandon.
    answered: bool,
}

#[derive(Debug, Clone, Default)]
struct Agent {
    status: Option<String>,
    state: Option<String>,
}

/// How events are read.
#[derive(Debug, Clone, Default)]
pub struct FreeswitchOptions {
    /// Each agent's team (mod_callcenter has none). An agent not listed is in the team
    /// named like the first queue it answers, or `unassigned`.
    pub agent_teams: BTreeMap<String, String>,
}

/// Maps mod_callcenter events to contract events.
#[derive(Debug, Default)]
pub struct CallcenterMapper {
    options: FreeswitchOptions,
    members: HashMap<String, Member>,
    agents: HashMap<String, Agent>,
    /// Teams inferred from the first queue an agent answered.
    inferred_teams: HashMap<String, String>,
    framer: Framer,
    stats: FreeswitchStats,
}

impl CallcenterMapper {
    pub fn new(options: FreeswitchOptions) -> Self {
        CallcenterMapper {
            options,
            ..Self::default()
        }
    }

    /// What the mapper made of the events so far.
    pub fn stats(&self) -> &FreeswitchStats {
        &self.stats
    }

    /// Members queued and not yet ended.
    pub fn open_members(&self) -> usize {
        self.members.len()
    }

    /// Maps the frames completed by `bytes` of an event-socket stream (live or captured):
    /// `text/event-plain` frames carrying callcenter events; the rest is counted and
    /// skipped. An event that cannot be used is counted and the next one read.
    ///
    /// # Errors
    /// A stream whose framing is broken (the connection must be re-established; a file
    /// ends there).
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Envelope>) -> Result<(), FrameError> {
        self.framer.push(bytes);
        loop {
            let frame = match self.framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(e) => {
                    *self.stats.malformed.entry("bad_frame").or_default() += 1;
                    self.framer = Framer::new();
                    return Err(e);
                }
            };
            // Refusals are counted inside; the next event is independent of this one.
            let _ = self.frame(&frame, out);
        }
    }

    /// Maps one frame.
    ///
    /// # Errors
    /// A callcenter event without the headers its action needs.
    pub fn frame(&mut self, frame: &Frame, out: &mut Vec<Envelope>) -> Result<(), FreeswitchError> {
        if frame.content_type() != Some("text/event-plain") {
            self.stats.other_frames += 1;
            return Ok(());
        }
        let event = esl::headers(&String::from_utf8_lossy(&frame.body), true);
        if event.get("Event-Subclass").map(String::as_str) != Some("callcenter::info") {
            self.stats.other_frames += 1;
            return Ok(());
        }
        self.stats.events_in += 1;
        let before = out.len();
        let result = self.event(&event, out);
        if let Err(e) = &result {
            *self.stats.malformed.entry(e.reason()).or_default() += 1;
        }
        self.stats.events += (out.len() - before) as u64;
        result
    }

    fn event(
        &mut self,
        e: &BTreeMap<String, String>,
        out: &mut Vec<Envelope>,
    ) -> Result<(), FreeswitchError> {
        let action = e.get("CC-Action").map_or("", String::as_str);
        let get = |header: &'static str| {
            e.get(header)
                .filter(|v| !v.is_empty())
                .map(String::as_str)
                .ok_or_else(|| FreeswitchError::MissingHeader {
                    action: action.to_owned(),
                    header,
                })
        };
        let secs = |header: &'static str| -> Result<Ts, FreeswitchError> {
            let value = get(header)?;
            value
                .parse::<i64>()
                .ok()
                .filter(|s| *s > 0)
                .map(|s| Ts(s * 1000))
                .ok_or_else(|| FreeswitchError::BadTime {
                    header,
                    value: value.to_owned(),
                })
        };
        match action {
            "member-queue-start" | "member-queue-resume" => {
                let member = get("CC-Member-UUID")?;
                let queue = get("CC-Queue")?;
                let joined = secs("CC-Member-Joined-Time")?;
                if self.members.contains_key(member) {
                    return Ok(());
                }
                if action == "member-queue-resume" {
                    self.stats.resumed += 1;
                }
                self.members
                    .insert(member.to_owned(), Member { answered: false });
                out.push(envelope(
                    format!("fs:{member}:q"),
                    joined,
                    Event::CallQueued(CallQueued {
                        call_id: member.to_owned(),
                        queue: queue.to_owned(),
                        customer_id: e
                            .get("CC-Member-CID-Number")
                            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("anonymous"))
                            .cloned(),
                        priority: None,
                        transferred_from: None,
                    }),
                ));
            }
            "bridge-agent-start" => {
                let member = get("CC-Member-UUID")?;
                let queue = get("CC-Queue")?;
                let agent = get("CC-Agent")?;
                let answered = secs("CC-Agent-Answered-Time")?;
                self.inferred_teams
                    .entry(agent.to_owned())
                    .or_insert_with(|| queue.to_owned());
                if let Some(m) = self.members.get_mut(member) {
                    m.answered = true;
                }
                out.push(envelope(
                    format!("fs:{member}:a"),
                    answered,
                    Event::CallAnswered(CallAnswered {
                        call_id: member.to_owned(),
                        queue: queue.to_owned(),
                        agent_id: agent.to_owned(),
                    }),
                ));
            }
            "bridge-agent-end" => {
                let member = get("CC-Member-UUID")?;
                let queue = get("CC-Queue")?;
                let agent = get("CC-Agent")?;
                let answered = secs("CC-Agent-Answered-Time")?;
                let ended = secs("CC-Bridge-Terminated-Time")?;
                self.members.remove(member);
                out.push(envelope(
                    format!("fs:{member}:c"),
                    ended,
                    Event::CallCompleted(CallCompleted {
                        call_id: member.to_owned(),
                        queue: queue.to_owned(),
                        agent_id: agent.to_owned(),
                        talk_ms: ended.millis_since(answered).max(0),
                        hold_ms: 0,
                        acw_ms: 0,
                        resolved: None,
                    }),
                ));
            }
            "member-queue-end" => {
                let member = get("CC-Member-UUID")?;
                let queue = get("CC-Queue")?;
                let answered = self.members.remove(member).is_some_and(|m| m.answered);
                // Terminated: the member was bridged to an agent; its end is the bridge's.
                if e.get("CC-Cause").map(String::as_str) == Some("Cancel") && !answered {
                    let left = secs("CC-Member-Leaving-Time")?;
                    let reason = match e.get("CC-Cancel-Reason").map(String::as_str) {
                        Some("TIMEOUT") => ExitReason::Timeout,
                        Some("NO_AGENT_TIMEOUT") => ExitReason::NoAgents,
                        Some("BREAK_OUT" | "EXIT_WITH_KEY") => ExitReason::Key,
                        _ => ExitReason::Hangup,
                    };
                    out.push(envelope(
                        format!("fs:{member}:x"),
                        left,
                        Event::CallAbandoned(CallAbandoned {
                            call_id: member.to_owned(),
                            queue: queue.to_owned(),
                            reason: Some(reason),
                        }),
                    ));
                }
            }
            "agent-status-change" | "agent-state-change" => {
                let name = get("CC-Agent")?;
                let at = event_time(e)?;
                let agent = self.agents.entry(name.to_owned()).or_default();
                if action == "agent-status-change" {
                    agent.status = Some(get("CC-Agent-Status")?.to_owned());
                } else {
                    agent.state = Some(get("CC-Agent-State")?.to_owned());
                }
                let (state, reason) = agent_state(agent);
                let team = self
                    .options
                    .agent_teams
                    .get(name)
                    .or_else(|| self.inferred_teams.get(name))
                    .map_or("unassigned", String::as_str);
                out.push(envelope(
                    format!("fs-agent:{name}:{}:{action}", at.millis()),
                    at,
                    Event::AgentState(AgentStateChanged {
                        agent_id: name.to_owned(),
                        team: team.to_owned(),
                        state,
                        reason,
                    }),
                ));
            }
            other => {
                *self.stats.ignored.entry(other.to_owned()).or_default() += 1;
            }
        }
        Ok(())
    }
}

/// An agent's contract state from mod_callcenter's status (Available, Available (On Demand),
/// On Break, Logged Out) and state (Waiting, Receiving, In a queue call, Idle).
fn agent_state(agent: &Agent) -> (AgentState, Option<String>) {
    match agent.status.as_deref() {
        Some("Logged Out") => (AgentState::Offline, None),
        Some("On Break") => (AgentState::Aux, Some("On Break".to_owned())),
        _ => match agent.state.as_deref() {
            Some("In a queue call") => (AgentState::OnCall, None),
            Some("Idle") => (AgentState::Aux, Some("Idle".to_owned())),
            _ => (AgentState::Available, None),
        },
    }
}

/// The event's own time: `Event-Date-Timestamp`, in microseconds.
fn event_time(e: &BTreeMap<String, String>) -> Result<Ts, FreeswitchError> {
    let value = e.get("Event-Date-Timestamp").map_or("", String::as_str);
    value
        .parse::<i64>()
        .ok()
        .filter(|us| *us > 0)
        .map(|us| Ts(us / 1000))
        .ok_or_else(|| FreeswitchError::BadTime {
            header: "Event-Date-Timestamp",
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests;
