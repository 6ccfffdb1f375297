//! One queue's definitions (`[metrics.default_queue]`, `[metrics.queues.NAME]`).

use std::collections::BTreeMap;

use callpulse_events::ExitReason;
use serde::{Deserialize, Serialize};

use super::{PolicyError, SlFormula};
use crate::hours::OpeningHours;

/// Per-queue definitions. Any field left out of a `[metrics.queues.NAME]` table takes the
/// value of `[metrics.default_queue]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueuePolicy {
    /// Service-level thresholds in seconds ("answered within T"). The first is the headline
    /// figure on the wallboard and in alerts. 1 to 4 values.
    pub sl_thresholds_secs: Vec<u32>,
    /// Service-level target as a ratio 0..1 (e.g. 0.8 for 80/20); drives wallboard colours.
    pub sl_target: f64,
    /// Calls abandoned after waiting less than this many seconds are short abandons: counted,
    /// but excluded from the service level and abandonment rate.
    pub short_abandon_secs: u32,
    /// The service-level formula; see [`SlFormula`].
    pub sl_formula: SlFormula,
    /// Whether short abandons are left out of the abandonment rate (both sides of it).
    pub abandon_rate_excludes_short: bool,
    /// Exits (`call_abandoned` reasons) counted as `exited` rather than abandoned: out of
    /// the abandons, the abandonment rate and the SL formulas that count abandons; still
    /// offered. `["key"]` is Asterisk's own rule (EXITWITHKEY is no abandon).
    pub exits_not_abandoned: Vec<ExitReason>,
    /// The team whose agents answer this queue: staffing compares its agents (available,
    /// on a call or in wrap-up) with the Erlang C requirement. Unset: no comparison.
    pub team: Option<String>,
    /// Tickets: first-response target in seconds (an SLA breach after it).
    pub ticket_first_response_secs: u32,
    /// Per-priority first-response targets (priority "0".."9" -> seconds), overriding
    /// `ticket_first_response_secs` for tickets of that priority.
    pub ticket_first_response_by_priority: BTreeMap<String, u32>,
    /// The service level (first threshold, over `metrics.alert_window_mins`) is "at risk"
    /// below `sl_target + sl_at_risk_margin`, and in breach below `sl_target`.
    pub sl_at_risk_margin: f64,
    /// A ratio (service level, abandonment) over fewer calls than this is shown but never
    /// judged: the queue's status says `quiet` rather than paint one call red or green.
    pub alert_min_calls: u32,
    /// A call waiting longer than this (s) puts the queue in breach; longer than the first
    /// SL threshold, at risk.
    pub longest_wait_alert_secs: u32,
    /// Abandonment rate (over `metrics.alert_window_mins`) above which the queue is in
    /// breach; above `sl_at_risk_margin` less than this, at risk.
    pub abandon_rate_alert: f64,
    /// When the queue takes calls, in the center's zone (`["mon-fri 08:00-18:00"]`); empty:
    /// always. Closed, its checks raise no alert event and the business alert rules stay
    /// silent (`callpulse_queue_open`).
    pub opening_hours: OpeningHours,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        QueuePolicy {
            sl_thresholds_secs: vec![20],
            sl_target: 0.8,
            short_abandon_secs: 5,
            sl_formula: SlFormula::default(),
            abandon_rate_excludes_short: true,
            exits_not_abandoned: Vec::new(),
            team: None,
            ticket_first_response_secs: 4 * 3600,
            ticket_first_response_by_priority: BTreeMap::new(),
            sl_at_risk_margin: 0.05,
            alert_min_calls: 10,
            longest_wait_alert_secs: 120,
            abandon_rate_alert: 0.1,
            opening_hours: OpeningHours::default(),
        }
    }
}

impl QueuePolicy {
    pub(super) fn check_alert_limits(&self, queue: &str) -> Result<(), PolicyError> {
        let fail = |key, value: f64, expected| {
            Err(PolicyError::AlertLimit {
                queue: queue.to_owned(),
                key,
                value,
                expected,
            })
        };
        if !(0.0..1.0).contains(&self.sl_at_risk_margin) {
            return fail(
                "sl_at_risk_margin",
                self.sl_at_risk_margin,
                "not a ratio in [0, 1)",
            );
        }
        if !(self.abandon_rate_alert > 0.0 && self.abandon_rate_alert <= 1.0) {
            return fail(
                "abandon_rate_alert",
                self.abandon_rate_alert,
                "not a ratio in (0, 1] (10 % is written 0.1)",
            );
        }
        let first = self.sl_thresholds_secs.first().copied().unwrap_or(0);
        if self.longest_wait_alert_secs < first {
            return fail(
                "longest_wait_alert_secs",
                f64::from(self.longest_wait_alert_secs),
                "below the first SL threshold (it is the breach limit; the threshold is the at-risk one)",
            );
        }
        Ok(())
    }
}
