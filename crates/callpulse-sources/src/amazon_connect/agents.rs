//! The agent event stream: each event's current snapshot becomes the agent's state.

use callpulse_events::{AgentState, AgentStateChanged, Envelope, Event};

use super::records::AgentEvent;
use super::{ConnectError, arn_tail, envelope, time};

/// The agent's state after `event`; `None` for a heartbeat (nothing changed).
///
/// On a contact (connected or on hold) the agent is `on_call`; with an ended contact still
/// listed, in after-contact work (`wrap_up`); otherwise the status decides: `ROUTABLE`
/// (Available) is `available`, `OFFLINE` is `offline`, a custom status (Break, Lunch,
/// Training, ...) is `aux` with the status name as reason. LOGOUT is `offline`.
pub(super) fn state(event: &AgentEvent) -> Result<Option<Envelope>, ConnectError> {
    if event.event_type == "HEART_BEAT" {
        return Ok(None);
    }
    let at = time("EventTimestamp", &event.event_timestamp)?;
    let snapshot = event.current_agent_snapshot.as_ref();
    let config = snapshot.and_then(|s| s.configuration.as_ref());
    let agent_id = config
        .and_then(|c| c.username.clone())
        .or_else(|| event.agent_arn.as_deref().map(arn_tail))
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ConnectError::Shape("agent event without Username or AgentARN".into()))?;
    let team = config
        .and_then(|c| {
            c.agent_hierarchy_groups
                .as_ref()
                .and_then(|h| h.lowest())
                .or_else(|| c.routing_profile.as_ref().and_then(|r| r.name.as_deref()))
        })
        .unwrap_or("unassigned")
        .to_owned();
    let contact_states: Vec<&str> = snapshot
        .map(|s| {
            s.contacts
                .iter()
                .filter_map(|c| c.state.as_deref())
                .collect()
        })
        .unwrap_or_default();
    let status = snapshot.and_then(|s| s.agent_status.as_ref());
    let (state, reason) = if event.event_type == "LOGOUT" {
        (AgentState::Offline, None)
    } else if contact_states
        .iter()
        .any(|s| matches!(*s, "CONNECTED" | "CONNECTED_ONHOLD"))
    {
        (AgentState::OnCall, None)
    } else if contact_states.contains(&"ENDED") {
        (AgentState::WrapUp, None)
    } else {
        match status.and_then(|s| s.kind.as_deref()) {
            Some("ROUTABLE") => (AgentState::Available, None),
            Some("OFFLINE") => (AgentState::Offline, None),
            Some(_) => (AgentState::Aux, status.and_then(|s| s.name.clone())),
            None => {
                return Err(ConnectError::Shape(
                    "agent event without CurrentAgentSnapshot.AgentStatus.Type".into(),
                ));
            }
        }
    };
    let event_id = match &event.agent_event_id {
        Some(id) if !id.is_empty() => format!("connect-agent:{id}"),
        _ => format!(
            "connect-agent:{agent_id}:{}:{}",
            at.millis(),
            event.event_type
        ),
    };
    Ok(Some(envelope(
        event_id,
        at,
        Event::AgentState(AgentStateChanged {
            agent_id,
            team,
            state,
            reason,
        }),
    )))
}
