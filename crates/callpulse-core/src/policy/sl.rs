//! How a queue counts its service level and its abandons: the formulas vendors and centers
//! use, and the exits a queue does not count as abandons.

use callpulse_events::ExitReason;
use serde::{Deserialize, Serialize};

/// How the service level is counted: vendors and centers disagree. "Within" is inclusive
/// and decided by the wait at the outcome (answer or abandon).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlFormula {
    /// `answered_within / (answered + abandoned)`, short abandons left out of `abandoned`
    /// (Genesys Cloud's default "Service Level %" with short abandons excluded).
    #[default]
    AnsweredAbandoned,
    /// `answered_within / offered`: every offered call counts, abandons of any length and
    /// calls still waiting included.
    Offered,
    /// `answered_within / (offered - short_abandoned)`.
    OfferedMinusShort,
    /// Asterisk's `servicelevel` figure (`app_queue.c`, `queues.conf`):
    /// `answered_within / answered`; abandons do not count at all.
    AsteriskSl,
    /// Asterisk's SL2: `(answered_within + abandoned_within) / (answered + abandoned)`, a
    /// caller who gave up within the threshold counting as served in time; short abandons
    /// are not set apart.
    AsteriskSl2,
    /// Amazon Connect's "Service level X seconds": contacts removed from the queue (answered
    /// or abandoned) within the threshold over every contact queued,
    /// `(answered_within + abandoned_within) / offered`.
    RemovedWithin,
}

impl SlFormula {
    /// The name used in configuration and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            SlFormula::AnsweredAbandoned => "answered_abandoned",
            SlFormula::Offered => "offered",
            SlFormula::OfferedMinusShort => "offered_minus_short",
            SlFormula::AsteriskSl => "asterisk_sl",
            SlFormula::AsteriskSl2 => "asterisk_sl2",
            SlFormula::RemovedWithin => "removed_within",
        }
    }
}

/// A set of exit reasons, small enough to copy into each queue's hot state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitSet(u8);

impl ExitSet {
    /// The set of `reasons`.
    pub fn of(reasons: &[ExitReason]) -> Self {
        ExitSet(reasons.iter().fold(0, |set, r| set | Self::bit(*r)))
    }

    /// Whether `reason` is in the set.
    pub fn contains(self, reason: ExitReason) -> bool {
        self.0 & Self::bit(reason) != 0
    }

    const fn bit(reason: ExitReason) -> u8 {
        1 << reason as u8
    }
}
