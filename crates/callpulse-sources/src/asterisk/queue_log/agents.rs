//! Agents' states from membership, login and pause lines and from their calls: `queue_log`
//! says what changed; the contract wants the state an agent is in after it.

use std::collections::BTreeSet;

use callpulse_events::{AgentState, AgentStateChanged, Envelope, Event};
use serde::{Deserialize, Serialize};

use super::line::Line;
use super::{QueueLogMapper, envelope};

/// One agent as the log has shown it so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Agent {
    pub(super) team: String,
    pub(super) state: AgentState,
    /// Paused (aux), whatever it is doing now; the reason.
    pub(super) paused: Option<String>,
    /// The queues it is a member of.
    pub(super) queues: BTreeSet<String>,
    /// Logged in as an Asterisk agent (AGENTLOGIN), members of queues or not.
    pub(super) logged_in: bool,
}

impl Agent {
    /// What it is doing when not on a call.
    fn idle_state(&self) -> AgentState {
        if self.queues.is_empty() && !self.logged_in {
            AgentState::Offline
        } else if self.paused.is_some() {
            AgentState::Aux
        } else {
            AgentState::Available
        }
    }
}

impl QueueLogMapper {
    pub(super) fn agent(&mut self, line: &Line<'_>, agent: &str) -> &mut Agent {
        let options = &self.options;
        self.agents
            .entry(agent.to_owned())
            .or_insert_with(|| Agent {
                team: options
                    .agent_teams
                    .get(agent)
                    .cloned()
                    .unwrap_or_else(|| team_of_queue(line.queue)),
                state: AgentState::Offline,
                paused: None,
                queues: BTreeSet::new(),
                logged_in: false,
            })
    }

    /// An agent starts (`on_call`) or ends a call.
    pub(super) fn agent_busy(
        &mut self,
        line: &Line<'_>,
        agent: &str,
        busy: bool,
        out: &mut Vec<Envelope>,
    ) {
        let entry = self.agent(line, agent);
        let now = if busy {
            // Connected: logged in, whatever the log said of it before.
            if entry.queues.is_empty() && !entry.logged_in {
                entry.queues.insert(line.queue.to_owned());
            }
            AgentState::OnCall
        } else {
            entry.idle_state()
        };
        if entry.state != now {
            entry.state = now;
            self.emit_agent(line, agent, out);
        }
    }

    /// After a membership, login or pause line: the state an agent not on a call is in,
    /// written if it changed (or, for a pause, if its reason may have). An agent paused
    /// during a call stays `on_call` until the call ends, then is `aux`.
    pub(super) fn agent_settle(&mut self, line: &Line<'_>, agent: &str, out: &mut Vec<Envelope>) {
        let entry = self.agent(line, agent);
        if entry.state == AgentState::OnCall {
            return;
        }
        let now = entry.idle_state();
        let repause = now == AgentState::Aux && line.verb.starts_with("PAUSE");
        if entry.state != now || repause {
            entry.state = now;
            self.emit_agent(line, agent, out);
        }
    }

    fn emit_agent(&self, line: &Line<'_>, agent: &str, out: &mut Vec<Envelope>) {
        let Some(entry) = self.agents.get(agent) else {
            return;
        };
        let reason = match entry.state {
            AgentState::Aux => entry.paused.clone().filter(|r| !r.is_empty()),
            _ => None,
        };
        out.push(envelope(
            format!(
                "aql:{}:{agent}:{}:{}",
                line.at.millis(),
                line.verb,
                line.queue
            ),
            line.at,
            Event::AgentState(AgentStateChanged {
                agent_id: agent.to_owned(),
                team: entry.team.clone(),
                state: entry.state,
                reason,
            }),
        ));
    }
}

/// PAUSEALL and agent logins name no queue (`NONE`).
fn team_of_queue(queue: &str) -> String {
    if queue.is_empty() || queue == "NONE" {
        "unassigned".to_owned()
    } else {
        queue.to_owned()
    }
}
