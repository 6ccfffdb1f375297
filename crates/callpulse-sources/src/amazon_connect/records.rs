//! The parts of Amazon Connect's contact records and agent events that carry figures, as
//! Connect writes them (PascalCase JSON; every field optional, unknown ones ignored: the
//! records carry many more, and new ones appear).

use serde::Deserialize;

/// A contact record (CTR), as streamed to Kinesis.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ContactRecord {
    pub(super) contact_id: String,
    pub(super) initial_contact_id: Option<String>,
    pub(super) previous_contact_id: Option<String>,
    pub(super) next_contact_id: Option<String>,
    pub(super) initiation_method: Option<String>,
    pub(super) disconnect_timestamp: Option<String>,
    pub(super) disconnect_reason: Option<String>,
    pub(super) queue: Option<QueuePart>,
    pub(super) agent: Option<AgentPart>,
    pub(super) customer_endpoint: Option<Endpoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct QueuePart {
    pub(super) name: Option<String>,
    pub(super) enqueue_timestamp: Option<String>,
    pub(super) dequeue_timestamp: Option<String>,
    /// Seconds in the queue.
    pub(super) duration: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AgentPart {
    pub(super) username: Option<String>,
    #[serde(rename = "ARN")]
    pub(super) arn: Option<String>,
    pub(super) connected_to_agent_timestamp: Option<String>,
    /// Seconds talking with the customer, hold excluded.
    pub(super) agent_interaction_duration: Option<f64>,
    /// Seconds the customer was on hold.
    pub(super) customer_hold_duration: Option<f64>,
    /// Seconds of after-contact work.
    pub(super) after_contact_work_duration: Option<f64>,
    pub(super) after_contact_work_end_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Endpoint {
    pub(super) address: Option<String>,
}

/// An agent event from the agent event stream.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AgentEvent {
    pub(super) agent_event_id: Option<String>,
    pub(super) event_type: String,
    pub(super) event_timestamp: String,
    #[serde(rename = "AgentARN")]
    pub(super) agent_arn: Option<String>,
    pub(super) current_agent_snapshot: Option<AgentSnapshot>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AgentSnapshot {
    pub(super) agent_status: Option<Status>,
    pub(super) configuration: Option<Configuration>,
    #[serde(default)]
    pub(super) contacts: Vec<ContactState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Status {
    pub(super) name: Option<String>,
    /// `ROUTABLE`, `CUSTOM` or `OFFLINE`.
    #[serde(rename = "Type")]
    pub(super) kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Configuration {
    pub(super) username: Option<String>,
    pub(super) routing_profile: Option<Named>,
    pub(super) agent_hierarchy_groups: Option<Hierarchy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Hierarchy {
    pub(super) level1: Option<Named>,
    pub(super) level2: Option<Named>,
    pub(super) level3: Option<Named>,
    pub(super) level4: Option<Named>,
    pub(super) level5: Option<Named>,
}

impl Hierarchy {
    /// The lowest level set: the agent's own group (a team, in most centers' trees).
    pub(super) fn lowest(&self) -> Option<&str> {
        [
            &self.level5,
            &self.level4,
            &self.level3,
            &self.level2,
            &self.level1,
        ]
        .into_iter()
        .find_map(|level| level.as_ref().and_then(|n| n.name.as_deref()))
        .filter(|name| !name.is_empty())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Named {
    pub(super) name: Option<String>,
}

/// One of the agent's contacts in a snapshot.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ContactState {
    /// `INCOMING`, `PENDING`, `CONNECTING`, `CONNECTED`, `CONNECTED_ONHOLD`, `MISSED`,
    /// `ERROR`, `ENDED` (after-contact work), `REJECTED`.
    pub(super) state: Option<String>,
}
