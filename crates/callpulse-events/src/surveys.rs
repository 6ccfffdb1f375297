//! Events of the `surveys` topic: customer satisfaction responses and quality evaluations.

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

/// A quality evaluation: an evaluator (team lead, QA analyst) scored one agent's work
/// against a form. A critical failure (a compliance breach, a wrong disclosure) fails the
/// evaluation whatever its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaEvaluation {
    pub evaluation_id: String,
    pub agent_id: String,
    pub evaluator_id: String,
    /// The form evaluated against.
    pub form: String,
    /// Points scored, 0 to `max_score`.
    pub score: u32,
    pub max_score: u32,
    /// Critical items failed.
    #[serde(default)]
    pub critical_failures: u32,
    /// Per-section points, when the form has sections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<QaSection>,
    /// The call or ticket evaluated, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

/// One section of a [`QaEvaluation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaSection {
    pub name: String,
    pub score: u32,
    pub max_score: u32,
}
