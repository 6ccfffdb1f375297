//! Events of the `surveys` topic: customer satisfaction responses.

use serde::{Deserialize, Serialize};

/// A customer answered a CSAT survey about one interaction (call or ticket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsatResponse {
    pub interaction_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
}
