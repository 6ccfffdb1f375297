//! Events of the `calls` topic: a voice interaction's life in a queue.

use serde::{Deserialize, Serialize};

/// A call entered a queue and starts waiting for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallQueued {
    pub call_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// The queue the call waited in before this one, when this queueing is a transfer: the
    /// same contact continues, so the center does not count it again and the queues count
    /// it as transferred in and out. Optional; a call queued again while still waiting
    /// elsewhere is recognised as a transfer without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_from: Option<String>,
}

/// An agent picked up a queued call; wait = this event's time - the queued time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAnswered {
    pub call_id: String,
    pub queue: String,
    pub agent_id: String,
}

/// The call left the queue before an agent answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallAbandoned {
    pub call_id: String,
    pub queue: String,
    /// How it left, when the producer knows: a queue's policy may count some exits (a key
    /// pressed for voicemail, a callback) as something other than an abandon. Unset: the
    /// caller hung up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ExitReason>,
}

impl CallAbandoned {
    /// A caller's hang-up (no reason given).
    pub fn new(call_id: impl Into<String>, queue: impl Into<String>) -> Self {
        CallAbandoned {
            call_id: call_id.into(),
            queue: queue.into(),
            reason: None,
        }
    }
}

/// How an unanswered call left its queue: the exits PBXs and contact-center platforms tell
/// apart (Asterisk `queue_log` verbs, FreeSWITCH `CC-Cancel-Reason`, Amazon Connect's
/// callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The caller hung up (Asterisk ABANDON; FreeSWITCH cancel reason NONE).
    Hangup,
    /// The queue's maximum wait ran out (EXITWITHTIMEOUT; TIMEOUT).
    Timeout,
    /// No agent could take calls (EXITEMPTY; NO_AGENT_TIMEOUT).
    NoAgents,
    /// The caller pressed a key to leave, e.g. for voicemail (EXITWITHKEY; EXIT_WITH_KEY,
    /// BREAK_OUT).
    Key,
    /// Taken out of the queue by the system or an operator (WITHDRAW).
    Withdrawn,
    /// Left for a callback, keeping the place in line (Amazon Connect).
    Callback,
    /// Left by a route the source does not name (Asterisk AMI's QueueCallerLeave with no
    /// abandon before it: a timeout, an empty queue or a key).
    Other,
}

impl ExitReason {
    /// Every reason, in declaration order.
    pub const ALL: [ExitReason; 7] = [
        ExitReason::Hangup,
        ExitReason::Timeout,
        ExitReason::NoAgents,
        ExitReason::Key,
        ExitReason::Withdrawn,
        ExitReason::Callback,
        ExitReason::Other,
    ];

    /// The name in the contract and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExitReason::Hangup => "hangup",
            ExitReason::Timeout => "timeout",
            ExitReason::NoAgents => "no_agents",
            ExitReason::Key => "key",
            ExitReason::Withdrawn => "withdrawn",
            ExitReason::Callback => "callback",
            ExitReason::Other => "other",
        }
    }
}

/// The call is fully handled (sent after wrap-up), with its handle-time parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCompleted {
    pub call_id: String,
    pub queue: String,
    pub agent_id: String,
    /// Talk time in milliseconds.
    pub talk_ms: i64,
    /// Hold time in milliseconds.
    pub hold_ms: i64,
    /// After-call work (wrap-up) time in milliseconds.
    pub acw_ms: i64,
    /// The agent's own statement that the customer's issue was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in the contract are the ones `as_str` gives (config, docs), and an unknown
    /// reason is refused rather than read as a hang-up.
    #[test]
    fn exit_reasons_read_and_write_by_their_names() {
        for reason in ExitReason::ALL {
            let json = serde_json::to_string(&reason).expect("json");
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(
                serde_json::from_str::<ExitReason>(&json).expect("reads"),
                reason
            );
        }
        let unknown = r#"{"call_id":"c","queue":"q","reason":"teleported"}"#;
        assert!(serde_json::from_str::<CallAbandoned>(unknown).is_err());
        let plain: CallAbandoned =
            serde_json::from_str(r#"{"call_id":"c","queue":"q"}"#).expect("reads");
        assert_eq!(plain, CallAbandoned::new("c", "q"));
    }
}
