//! Asterisk's `queue_log` (`apps/app_queue.c`) mapped to the event contract.
//!
//! A contact is a callid *in one queue*: the same callid re-enters other queues on overflow,
//! and each stint is offered, answered or abandoned in its queue, as Asterisk itself counts
//! it. The contract's `call_id` is therefore `CALLID@QUEUE`.
//!
//! Waits and talk times are the PBX's own: an answer is stamped at the queue entry plus the
//! `holdtime` Asterisk wrote, an abandon at the entry plus its `waittime`, and a completion
//! carries `calltime` as its talk time, so the engine's figures equal the PBX's to the second
//! rather than differing by the rounding of two one-second timestamps. `calltime` includes
//! time on hold (Asterisk does not split hold), so `hold_ms` is 0; the log has no wrap-up, so
//! `acw_ms` is 0. docs/sources.md has the full table.

mod agents;
mod line;

use std::collections::{BTreeMap, HashMap};

use crate::envelope;
use callpulse_events::{
    AgentState, CallAbandoned, CallAnswered, CallCompleted, CallQueued, Envelope, Event,
    ExitReason, Ts,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use agents::Agent;
use line::Line;

/// Why a line could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueLogError {
    #[error("fewer than the five fields time|callid|queue|agent|event")]
    TooFewFields,
    #[error("time {0:?} is neither Unix seconds nor a local date-time")]
    BadTime(String),
    #[error("{field} {value:?} is not a whole number >= 0")]
    BadNumber { field: &'static str, value: String },
    #[error("{verb} without {field}")]
    MissingField {
        verb: &'static str,
        field: &'static str,
    },
}

impl QueueLogError {
    /// A short, stable name for counting.
    pub const fn reason(&self) -> &'static str {
        match self {
            QueueLogError::TooFewFields => "too_few_fields",
            QueueLogError::BadTime(_) => "bad_time",
            QueueLogError::BadNumber { .. } => "bad_number",
            QueueLogError::MissingField { .. } => "missing_field",
        }
    }
}

/// How the log is read.
#[derive(Debug, Clone)]
pub struct QueueLogOptions {
    /// The zone of the SQL form's local date-times (the file form is in Unix seconds).
    pub zone: Tz,
    /// Each agent's team (`queue_log` has none). An agent not listed is in the team named
    /// like the first queue it is seen in.
    pub agent_teams: BTreeMap<String, String>,
}

impl Default for QueueLogOptions {
    fn default() -> Self {
        QueueLogOptions {
            zone: Tz::UTC,
            agent_teams: BTreeMap::new(),
        }
    }
}

/// What the mapper made of the lines so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueLogStats {
    /// Lines read (blank ones aside).
    pub lines: u64,
    /// Contract events produced.
    pub events: u64,
    /// Known verbs that carry no figure of ours (RINGNOANSWER, CONFIGRELOAD, DID, ...).
    pub ignored: BTreeMap<String, u64>,
    /// Verbs Asterisk's stock `app_queue` does not write (Wazo's JOINEMPTY, PBXware's
    /// OUTDIAL, ...): counted, skipped. At most 64 names; the rest count as `other`.
    pub unknown: BTreeMap<String, u64>,
    /// Lines refused, by [`QueueLogError::reason`].
    pub malformed: BTreeMap<&'static str, u64>,
    /// Calls open when a QUEUESTART (the PBX restarted) ended them.
    pub lost_on_restart: u64,
    /// Outcomes whose ENTERQUEUE the log did not hold (it began mid-call): the entry was
    /// inferred from the outcome's own holdtime or waittime.
    pub inferred_entries: u64,
}

/// One call in one queue, between its entry and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Open {
    queued: Ts,
    /// The agent and the answer time, once connected.
    answered: Option<(String, Ts)>,
}

/// The verbs that end a call unanswered: the abandon kinds of Asterisk's own statistics.
const EXITS: [&str; 5] = [
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITEMPTY",
    "EXITWITHKEY",
    "WITHDRAW",
];

/// Stock verbs with nothing for the contract.
const IGNORED: [&str; 9] = [
    "RINGNOANSWER",
    "RINGCANCELED",
    "CONFIGRELOAD",
    "DID",
    "INFO",
    "SYSCOMPAT",
    "TRANSFER",
    "AGENTDUMP",
    "PENALTY",
];

/// What a mapper carries from one line to the next (open calls, agents' states), to be
/// saved with the input position it covers and restored with it: a reader that restarts
/// there continues exactly, however many rotations ago the open calls began.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueLogState {
    calls: BTreeMap<String, Open>,
    agents: BTreeMap<String, Agent>,
}

/// Reads `queue_log` lines in order and produces contract events.
#[derive(Debug)]
pub struct QueueLogMapper {
    options: QueueLogOptions,
    calls: HashMap<String, Open>,
    agents: HashMap<String, Agent>,
    stats: QueueLogStats,
}

impl QueueLogMapper {
    pub fn new(options: QueueLogOptions) -> Self {
        QueueLogMapper {
            options,
            calls: HashMap::new(),
            agents: HashMap::new(),
            stats: QueueLogStats::default(),
        }
    }

    /// A mapper that continues from `state` (see [`QueueLogState`]).
    pub fn with_state(options: QueueLogOptions, state: QueueLogState) -> Self {
        QueueLogMapper {
            calls: state.calls.into_iter().collect(),
            agents: state.agents.into_iter().collect(),
            ..QueueLogMapper::new(options)
        }
    }

    /// What it carries now, to save beside the position of the last line it read.
    pub fn state(&self) -> QueueLogState {
        QueueLogState {
            calls: self
                .calls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            agents: self
                .agents
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    pub fn stats(&self) -> &QueueLogStats {
        &self.stats
    }

    /// Calls entered and not yet ended.
    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// Maps one line (without its line ending), appending its events to `out`. A blank line
    /// is skipped; a line that cannot be used is counted and returned as the error, and
    /// changes nothing.
    ///
    /// # Errors
    /// What is wrong with the line.
    pub fn map(&mut self, text: &str, out: &mut Vec<Envelope>) -> Result<(), QueueLogError> {
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            return Ok(());
        }
        self.stats.lines += 1;
        let before = out.len();
        let result = Line::parse(text, self.options.zone).and_then(|line| self.apply(&line, out));
        match &result {
            Ok(()) => self.stats.events += (out.len() - before) as u64,
            Err(e) => {
                out.truncate(before);
                *self.stats.malformed.entry(e.reason()).or_default() += 1;
            }
        }
        result
    }

    fn apply(&mut self, line: &Line<'_>, out: &mut Vec<Envelope>) -> Result<(), QueueLogError> {
        match line.verb {
            "ENTERQUEUE" => {
                let call_id = contact(line);
                if self.calls.contains_key(&call_id) {
                    // The same line read twice, or a callid reused: the first entry stands.
                    return Ok(());
                }
                self.calls.insert(
                    call_id.clone(),
                    Open {
                        queued: line.at,
                        answered: None,
                    },
                );
                out.push(envelope(
                    format!("{}:q", id(line)),
                    line.at,
                    Event::CallQueued(CallQueued {
                        call_id,
                        queue: line.queue.to_owned(),
                        customer_id: caller(line.field(1)),
                        priority: None,
                        transferred_from: None,
                    }),
                ));
            }
            "CONNECT" => {
                let holdtime = line.number(0, "holdtime")?;
                let agent = required(line.agent, "CONNECT", "agent")?;
                let queued = self.entry(line, holdtime, out);
                let at = queued.plus_millis(holdtime * 1000);
                if let Some(open) = self.calls.get_mut(&contact(line)) {
                    open.answered = Some((agent.to_owned(), at));
                }
                out.push(envelope(
                    format!("{}:a", id(line)),
                    at,
                    Event::CallAnswered(CallAnswered {
                        call_id: contact(line),
                        queue: line.queue.to_owned(),
                        agent_id: agent.to_owned(),
                    }),
                ));
                self.agent_busy(line, agent, true, out);
            }
            "COMPLETECALLER" | "COMPLETEAGENT" => {
                let (holdtime, calltime) =
                    (line.number(0, "holdtime")?, line.number(1, "calltime")?);
                self.complete(line, holdtime, calltime, out)?;
            }
            "BLINDTRANSFER" => {
                let (holdtime, calltime) =
                    (line.number(2, "holdtime")?, line.number(3, "calltime")?);
                self.complete(line, holdtime, calltime, out)?;
            }
            "ATTENDEDTRANSFER" => {
                let (holdtime, calltime) = (
                    line.number_from_end(2, "holdtime")?,
                    line.number_from_end(1, "calltime")?,
                );
                self.complete(line, holdtime, calltime, out)?;
            }
            verb if EXITS.contains(&verb) => {
                // ABANDON, EXITWITHTIMEOUT, EXITEMPTY: position|origposition|waittime;
                // EXITWITHKEY: key|position|origposition|waittime; WITHDRAW's waittime is
                // where the others have it, when it is there at all.
                let waittime = match verb {
                    "EXITWITHKEY" => Some(line.number(3, "waittime")?),
                    "WITHDRAW" => line.number(2, "waittime").ok(),
                    _ => Some(line.number(2, "waittime")?),
                };
                let call_id = contact(line);
                let at = match (self.calls.get(&call_id), waittime) {
                    (Some(open), Some(wait)) => open.queued.plus_millis(wait * 1000),
                    (Some(_), None) => line.at,
                    (None, wait) => {
                        self.entry(line, wait.unwrap_or(0), out);
                        line.at
                    }
                };
                self.calls.remove(&call_id);
                let reason = match verb {
                    "EXITWITHTIMEOUT" => ExitReason::Timeout,
                    "EXITEMPTY" => ExitReason::NoAgents,
                    "EXITWITHKEY" => ExitReason::Key,
                    "WITHDRAW" => ExitReason::Withdrawn,
                    _ => ExitReason::Hangup,
                };
                out.push(envelope(
                    format!("{}:x", id(line)),
                    at,
                    Event::CallAbandoned(CallAbandoned {
                        call_id,
                        queue: line.queue.to_owned(),
                        reason: Some(reason),
                    }),
                ));
            }
            "ADDMEMBER" => {
                let agent = required(line.agent, "ADDMEMBER", "agent")?;
                self.agent(line, agent).queues.insert(line.queue.to_owned());
                self.agent_settle(line, agent, out);
            }
            "REMOVEMEMBER" => {
                let agent = required(line.agent, "REMOVEMEMBER", "agent")?;
                self.agent(line, agent).queues.remove(line.queue);
                self.agent_settle(line, agent, out);
            }
            "AGENTLOGIN" | "AGENTCALLBACKLOGIN" => {
                let agent = required(line.agent, "AGENTLOGIN", "agent")?;
                self.agent(line, agent).logged_in = true;
                self.agent_settle(line, agent, out);
            }
            "AGENTLOGOFF" | "AGENTCALLBACKLOGOFF" => {
                let agent = required(line.agent, "AGENTLOGOFF", "agent")?;
                let entry = self.agent(line, agent);
                entry.queues.clear();
                entry.logged_in = false;
                entry.paused = None;
                self.agent_settle(line, agent, out);
            }
            "PAUSE" | "PAUSEALL" => {
                let agent = required(line.agent, "PAUSE", "agent")?;
                let reason = line.field(0);
                self.agent(line, agent).paused = Some(reason.to_owned());
                self.agent_settle(line, agent, out);
            }
            "UNPAUSE" | "UNPAUSEALL" => {
                let agent = required(line.agent, "UNPAUSE", "agent")?;
                self.agent(line, agent).paused = None;
                self.agent_settle(line, agent, out);
            }
            "QUEUESTART" => self.restart(line, out),
            verb if IGNORED.contains(&verb) => {
                *self.stats.ignored.entry(verb.to_owned()).or_default() += 1;
            }
            verb => {
                let name = if self.stats.unknown.len() < 64 || self.stats.unknown.contains_key(verb)
                {
                    verb.chars().take(32).collect()
                } else {
                    "other".to_owned()
                };
                *self.stats.unknown.entry(name).or_default() += 1;
            }
        }
        Ok(())
    }

    /// The call's queue entry; when the log did not hold it, inferred `wait_secs` before the
    /// line, with its `call_queued` written.
    fn entry(&mut self, line: &Line<'_>, wait_secs: i64, out: &mut Vec<Envelope>) -> Ts {
        let call_id = contact(line);
        if let Some(open) = self.calls.get(&call_id) {
            return open.queued;
        }
        let queued = line.at.plus_millis(-wait_secs * 1000);
        self.stats.inferred_entries += 1;
        self.calls.insert(
            call_id.clone(),
            Open {
                queued,
                answered: None,
            },
        );
        out.push(envelope(
            format!("{}:iq", id(line)),
            queued,
            Event::CallQueued(CallQueued {
                call_id,
                queue: line.queue.to_owned(),
                customer_id: None,
                priority: None,
                transferred_from: None,
            }),
        ));
        queued
    }

    fn complete(
        &mut self,
        line: &Line<'_>,
        holdtime: i64,
        calltime: i64,
        out: &mut Vec<Envelope>,
    ) -> Result<(), QueueLogError> {
        let call_id = contact(line);
        let answered = self.calls.get(&call_id).and_then(|o| o.answered.clone());
        let agent = match answered {
            Some((agent, _)) => agent,
            None => {
                // The log began after the answer: the entry and the answer are inferred
                // from the holdtime and calltime this line carries.
                let agent = required(line.agent, "COMPLETE", "agent")?.to_owned();
                let queued = self.entry(line, holdtime + calltime, out);
                out.push(envelope(
                    format!("{}:ia", id(line)),
                    queued.plus_millis(holdtime * 1000),
                    Event::CallAnswered(CallAnswered {
                        call_id: call_id.clone(),
                        queue: line.queue.to_owned(),
                        agent_id: agent.clone(),
                    }),
                ));
                agent
            }
        };
        self.calls.remove(&call_id);
        out.push(envelope(
            format!("{}:c", id(line)),
            line.at,
            Event::CallCompleted(CallCompleted {
                call_id,
                queue: line.queue.to_owned(),
                agent_id: agent.clone(),
                talk_ms: calltime * 1000,
                hold_ms: 0,
                acw_ms: 0,
                resolved: None,
            }),
        ));
        self.agent_busy(line, &agent, false, out);
        Ok(())
    }

    /// QUEUESTART: app_queue (re)started, so every call still open is gone. A waiting call
    /// is counted abandoned, an answered one completed with the talk time up to the restart;
    /// agents on a call are free again.
    fn restart(&mut self, line: &Line<'_>, out: &mut Vec<Envelope>) {
        let mut open: Vec<(String, Open)> = self.calls.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        self.stats.lost_on_restart += open.len() as u64;
        for (call_id, call) in open {
            let queue = call_id
                .rsplit_once('@')
                .map_or(String::new(), |(_, q)| q.to_owned());
            let event_id = format!("aql:{}:{call_id}:QUEUESTART", line.at.millis());
            match call.answered {
                None => out.push(envelope(
                    event_id,
                    line.at,
                    // The PBX dropped it: no caller chose to leave.
                    Event::CallAbandoned(CallAbandoned {
                        call_id,
                        queue,
                        reason: Some(ExitReason::Withdrawn),
                    }),
                )),
                Some((agent, answered)) => out.push(envelope(
                    event_id,
                    line.at,
                    Event::CallCompleted(CallCompleted {
                        call_id,
                        queue,
                        agent_id: agent,
                        talk_ms: line.at.millis_since(answered).max(0),
                        hold_ms: 0,
                        acw_ms: 0,
                        resolved: None,
                    }),
                )),
            }
        }
        let mut busy: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.state == AgentState::OnCall)
            .map(|(name, _)| name.clone())
            .collect();
        busy.sort();
        for agent in busy {
            self.agent_busy(line, &agent, false, out);
        }
    }
}

/// The contract's call id: the callid in its queue.
fn contact(line: &Line<'_>) -> String {
    format!("{}@{}", line.callid, line.queue)
}

/// A call line's event id: the same line read again (a restarted reader) gives the same id,
/// which the engine then counts once.
fn id(line: &Line<'_>) -> String {
    format!(
        "aql:{}:{}@{}:{}",
        line.at.millis(),
        line.callid,
        line.queue,
        line.verb
    )
}

fn required<'a>(
    value: &'a str,
    verb: &'static str,
    field: &'static str,
) -> Result<&'a str, QueueLogError> {
    if value.is_empty() || value == "NONE" {
        Err(QueueLogError::MissingField { verb, field })
    } else {
        Ok(value)
    }
}

/// A caller id worth following for FCR: not empty, not a withheld number.
fn caller(callerid: &str) -> Option<String> {
    let lower = callerid.to_ascii_lowercase();
    (!callerid.is_empty()
        && !["unknown", "anonymous", "restricted", "<unknown>"].contains(&lower.as_str()))
    .then(|| callerid.to_owned())
}

#[cfg(test)]
mod tests;
