//! Events of the `surveys` topic: customer satisfaction responses.

use serde::{Deserialize, Serialize};

/// A customer answered a survey about one interaction (call or ticket): the CSAT question,
/// the NPS question, or both. At least one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsatResponse {
    pub interaction_id: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// CSAT: 1 (very dissatisfied) to 5 (very satisfied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// NPS: "how likely are you to recommend us", 0 to 10 (9-10 promoters, 0-6 detractors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nps: Option<u8>,
}
