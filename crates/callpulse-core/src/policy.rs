//! Metric policy: the definitions that differ between contact centers, with their defaults.

use std::collections::BTreeMap;

mod groups;
mod queue;
mod sl;

pub use groups::GroupPolicy;
pub use queue::QueuePolicy;
use serde::{Deserialize, Serialize};
pub use sl::{ExitSet, SlFormula};
use thiserror::Error;

use crate::MAX_SL_THRESHOLDS;
use crate::adherence::AdherencePolicy;
use crate::calendar::{Calendar, CalendarError};

/// A policy value that cannot work.
#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    /// Windows must be whole multiples of the bucket width, non-empty and at most 24 h.
    #[error("[metrics] invalid windows: {0}")]
    Windows(String),
    /// The time zone or interval cannot make calendar periods.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// A queue has no SL threshold or more than the supported number.
    #[error("[metrics.{queue}] sl_thresholds_secs: between 1 and {max} thresholds are supported")]
    Thresholds { queue: String, max: usize },
    /// The SL target is a ratio in (0, 1].
    #[error("[metrics.{queue}] sl_target = {target}: not a ratio in (0, 1] (80 % is written 0.8)")]
    SlTarget { queue: String, target: f64 },
    /// An alert limit that can never or always fire.
    #[error("[metrics.{queue}] {key} = {value}: {expected}")]
    AlertLimit {
        queue: String,
        key: &'static str,
        value: f64,
        expected: &'static str,
    },
    /// An idle name would be evicted while a window or a parked event still names it.
    #[error(
        "[metrics] name_idle_secs must be at least {floor} (the longest window, and the orphan timeout plus two buckets)"
    )]
    NameIdle { floor: u32 },
    /// A staffing plan of no interval, or longer than a day of 15-minute ones.
    #[error("[metrics] plan_intervals = {0}: from 1 to 96")]
    PlanIntervals(u32),
    /// The QA pass mark is a share of the form's maximum.
    #[error("[metrics] qa_pass_mark = {0}: not a ratio in (0, 1] (80 % is written 0.8)")]
    QaPassMark(f64),
    /// A grace long enough to hide whole breaks.
    #[error(
        "[metrics.adherence] grace_secs = {0}: at most {max} s",
        max = AdherencePolicy::MAX_GRACE_SECS
    )]
    Grace(u32),
    /// A team or queue in two groups, or a group with nothing in it.
    #[error("[metrics.groups.{group}] {problem}")]
    Group { group: String, problem: String },
    /// An aux reason rule without a reason.
    #[error("[metrics.adherence.aux_reasons]: a reason must not be empty")]
    AuxReason,
}

/// Everything the core needs to know to turn events into numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsPolicy {
    /// Width of one event-time bucket in seconds. Windows slide by this step; smaller is
    /// smoother and costs memory (one aggregate per queue per bucket).
    pub bucket_secs: u32,
    /// Sliding windows, in minutes, each a whole number of buckets.
    pub windows_mins: Vec<u32>,
    /// Definitions for queues without their own entry.
    pub default_queue: QueuePolicy,
    /// Per-queue overrides, by queue name.
    pub queues: BTreeMap<String, QueuePolicy>,
    /// Cap on distinct queue names per partition; events naming more are rejected
    /// (`too_many_names`), protecting memory and Prometheus cardinality. Queues configured
    /// in `queues` are always admitted.
    pub max_queues: usize,
    /// At `max_queues`, an unconfigured queue with no event for this long (the partition's
    /// event time) and no ticket is evicted to admit a new name: its calls still waiting
    /// are dropped (counted as `call_evicted`), its lifetime totals are kept. Likewise at
    /// `max_teams` every unconfigured team that long idle, with the agents still in it
    /// (`agent_evicted`; an agent's next event brings it back). At least the longest window
    /// and the orphan timeout plus two buckets, so nothing in a window or parked still
    /// names it.
    pub name_idle_secs: u32,
    /// Cap on distinct team names per partition, likewise (configured queues' teams are
    /// always admitted; idle teams make room, see `name_idle_secs`).
    pub max_teams: usize,
    /// Cap on distinct agents tracked per partition; at the cap the agents whose state
    /// changed longest ago, a hundredth of the cap at a time, are forgotten to make room.
    pub max_agents: usize,
    /// An agent offline for longer than this (event-time seconds) is forgotten.
    pub agent_offline_retention_secs: u32,
    /// Cap on calls tracked per partition (waiting or parked) and on calls remembered for
    /// FCR; at the cap the oldest tracked call is forgotten.
    pub max_calls: usize,
    /// Cap on tickets tracked per partition (open ones, and resolved ones kept for reopens);
    /// at the cap the oldest resolved ticket is forgotten, and with none a new ticket is
    /// rejected (`too_many_names`).
    pub max_tickets: usize,
    /// How long (event-time seconds) a resolved ticket is remembered, so a reopen is counted.
    pub ticket_retention_secs: u32,
    /// An open ticket without a first response is "at risk" past this share of its target.
    pub ticket_at_risk_share: f64,
    /// The share of a QA form's maximum an evaluation must score to pass (and no critical
    /// item failed).
    pub qa_pass_mark: f64,
    /// The org chart's middle level: groups (departments, sites, lines of business), each
    /// owning teams and queues. The center is every group and what no group owns; every
    /// figure rolls up group by group (`docs/org.md`).
    pub groups: BTreeMap<String, GroupPolicy>,
    /// Schedule adherence: the grace, and which activity each agent state and aux reason
    /// is (`docs/adherence.md`).
    pub adherence: AdherencePolicy,
    /// How many applied `event_id`s each partition remembers for duplicate detection.
    pub dedupe_capacity: usize,
    /// How long (event-time seconds) an answer or abandon whose `call_queued` has not arrived
    /// is kept waiting for it before it is dropped and counted as an orphan.
    pub orphan_timeout_secs: u32,
    /// A call still waiting after this many seconds is assumed lost (its outcome event never
    /// came) and removed from the live "waiting" figures, counted as stale.
    pub max_wait_secs: u32,
    /// Upper bounds (seconds) of the Prometheus wait histogram's buckets. Each queue's SL
    /// thresholds and short-abandon threshold are added, so `le` lines fall on them exactly.
    pub wait_buckets_secs: Vec<u32>,
    /// The center's IANA time zone: where days and intervals begin.
    pub timezone: String,
    /// Length of the live "current interval" window, in minutes (divides a day; 15 or 30).
    pub interval_mins: u32,
    /// The window (one of `windows_mins`) whose arrival rate and AHT feed the Erlang C
    /// staffing figures.
    pub staffing_window_mins: u32,
    /// Intervals of the staffing plan shown, the current one first (docs/forecast.md).
    pub plan_intervals: u32,
    /// The window (one of `windows_mins`) each queue's status (ok, at risk, breach) and the
    /// feed's alert events judge the service level and abandonment over.
    pub alert_window_mins: u32,
    /// First contact resolution: a completed contact is resolved first time when the same
    /// customer makes no further contact (any channel) within this many seconds.
    pub fcr_window_secs: u32,
    /// Cap on customers the live FCR tracker remembers (per engine instance, ~270 bytes
    /// each); at the cap the customer idle longest is forgotten.
    pub max_fcr_customers: usize,
    /// How far (seconds) an event's time may run ahead of the engine's clock and still be
    /// accepted: `[ingest].max_future_secs`, copied here when the configuration is loaded
    /// (not a `[metrics]` key). Rings and calendar periods keep this much extra history, so
    /// a fast producer clock never pushes an on-time event out of a window (docs/time.md).
    #[serde(skip, default = "default_future_skew_secs")]
    pub future_skew_secs: u32,
}

const fn default_future_skew_secs() -> u32 {
    300
}

impl Default for MetricsPolicy {
    fn default() -> Self {
        MetricsPolicy {
            bucket_secs: 60,
            windows_mins: vec![5, 15, 30, 60],
            default_queue: QueuePolicy::default(),
            queues: BTreeMap::new(),
            max_queues: 500,
            name_idle_secs: 7200,
            max_teams: 500,
            max_agents: 10_000,
            agent_offline_retention_secs: 86_400,
            max_calls: 1_000_000,
            max_tickets: 1_000_000,
            ticket_retention_secs: 7 * 24 * 3600,
            ticket_at_risk_share: 0.8,
            qa_pass_mark: 0.8,
            adherence: AdherencePolicy::default(),
            groups: BTreeMap::new(),
            dedupe_capacity: 1_000_000,
            orphan_timeout_secs: 600,
            max_wait_secs: 4 * 3600,
            wait_buckets_secs: vec![5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600],
            timezone: "UTC".into(),
            interval_mins: 30,
            staffing_window_mins: 15,
            plan_intervals: 16,
            alert_window_mins: 15,
            fcr_window_secs: 24 * 3600,
            max_fcr_customers: 2_000_000,
            future_skew_secs: default_future_skew_secs(),
        }
    }
}

impl MetricsPolicy {
    /// Checks the invariants the core relies on.
    ///
    /// # Errors
    /// The first [`PolicyError`] found.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.bucket_secs == 0 || self.windows_mins.is_empty() {
            return Err(PolicyError::Windows(
                "need a bucket width and at least one window".into(),
            ));
        }
        for &mins in &self.windows_mins {
            let secs = u64::from(mins) * 60;
            if mins == 0 || mins > 24 * 60 || secs % u64::from(self.bucket_secs) != 0 {
                return Err(PolicyError::Windows(format!(
                    "{mins} min is not a positive multiple of the {} s bucket up to 24 h",
                    self.bucket_secs
                )));
            }
        }
        if !self.windows_mins.contains(&self.staffing_window_mins) {
            return Err(PolicyError::Windows(format!(
                "staffing_window_mins {} is not one of windows_mins",
                self.staffing_window_mins
            )));
        }
        if !self.windows_mins.contains(&self.alert_window_mins) {
            return Err(PolicyError::Windows(format!(
                "alert_window_mins {} is not one of windows_mins",
                self.alert_window_mins
            )));
        }
        let longest_secs = self.windows_mins.iter().max().map_or(0, |m| m * 60);
        let idle_floor = longest_secs.max(
            self.orphan_timeout_secs
                .saturating_add(2 * self.bucket_secs),
        );
        if self.name_idle_secs < idle_floor {
            return Err(PolicyError::NameIdle { floor: idle_floor });
        }
        if !(self.qa_pass_mark > 0.0 && self.qa_pass_mark <= 1.0) {
            return Err(PolicyError::QaPassMark(self.qa_pass_mark));
        }
        if !(1..=96).contains(&self.plan_intervals) {
            return Err(PolicyError::PlanIntervals(self.plan_intervals));
        }
        self.check_groups()?;
        if self.adherence.grace_secs > AdherencePolicy::MAX_GRACE_SECS {
            return Err(PolicyError::Grace(self.adherence.grace_secs));
        }
        if self.adherence.aux_reasons.keys().any(String::is_empty) {
            return Err(PolicyError::AuxReason);
        }
        Calendar::new(&self.timezone)?;
        Calendar::check_period(self.interval_mins.saturating_mul(60))?;
        // Errors name the section: `default_queue` or `queues.NAME`.
        let all = std::iter::once(("default_queue".to_owned(), &self.default_queue)).chain(
            self.queues
                .iter()
                .map(|(name, policy)| (format!("queues.{name}"), policy)),
        );
        for (queue, policy) in all {
            let queue = queue.as_str();
            let n = policy.sl_thresholds_secs.len();
            if n == 0 || n > MAX_SL_THRESHOLDS {
                return Err(PolicyError::Thresholds {
                    queue: queue.to_owned(),
                    max: MAX_SL_THRESHOLDS,
                });
            }
            // A percentage (80) where a ratio (0.8) belongs would paint every queue red.
            if !(policy.sl_target > 0.0 && policy.sl_target <= 1.0) {
                return Err(PolicyError::SlTarget {
                    queue: queue.to_owned(),
                    target: policy.sl_target,
                });
            }
            policy.check_alert_limits(queue)?;
        }
        Ok(())
    }

    /// The center's calendar (the zone was checked by [`Self::validate`]; UTC otherwise).
    pub fn calendar(&self) -> Calendar {
        Calendar::new(&self.timezone).unwrap_or(Calendar::utc())
    }

    /// The policy for `queue`.
    pub fn queue(&self, queue: &str) -> &QueuePolicy {
        self.queues.get(queue).unwrap_or(&self.default_queue)
    }

    /// Bucket width in milliseconds.
    pub fn bucket_ms(&self) -> i64 {
        i64::from(self.bucket_secs) * 1000
    }

    /// Each window's length in buckets, in `windows_mins` order.
    pub fn window_buckets(&self) -> Vec<usize> {
        self.windows_mins
            .iter()
            .map(|m| (*m as usize * 60) / self.bucket_secs as usize)
            .collect()
    }

    /// Buckets a ring keeps: the longest window, the bucket still filling, and the allowed
    /// future skew, so that an event up to `future_skew_secs` ahead moving the ring's head
    /// leaves the longest window whole at the true time.
    pub fn ring_capacity(&self) -> usize {
        let longest = self.window_buckets().into_iter().max().unwrap_or(1);
        longest + 1 + self.skew_buckets()
    }

    /// Whether the configuration names `queue` (`[metrics.queues.NAME]`): such a queue is
    /// admitted past `max_queues`.
    pub fn configures_queue(&self, queue: &str) -> bool {
        self.queues.contains_key(queue)
    }

    /// Whether a configured queue names `team` as its team: such a team is admitted past
    /// `max_teams`.
    pub fn configures_team(&self, team: &str) -> bool {
        self.queues
            .values()
            .any(|q| q.team.as_deref() == Some(team))
            || self
                .groups
                .values()
                .any(|g| g.teams.iter().any(|t| t == team))
    }

    /// The per-call ledger's caps and timeouts.
    pub(crate) fn ledger_limits(&self) -> crate::ledger::LedgerLimits {
        crate::ledger::LedgerLimits {
            max_calls: self.max_calls,
            orphan_timeout_ms: i64::from(self.orphan_timeout_secs) * 1000,
            max_wait_ms: i64::from(self.max_wait_secs) * 1000,
        }
    }

    /// The allowed future skew in whole buckets, rounded up.
    pub fn skew_buckets(&self) -> usize {
        (i64::from(self.future_skew_secs) * 1000).div_euclid(self.bucket_ms()) as usize
            + usize::from((i64::from(self.future_skew_secs) * 1000) % self.bucket_ms() != 0)
    }

    /// The allowed future skew in milliseconds.
    pub fn future_skew_ms(&self) -> i64 {
        i64::from(self.future_skew_secs) * 1000
    }

    /// Window labels (`5m`, `1h`, ...), in `windows_mins` order.
    pub fn window_labels(&self) -> Vec<String> {
        self.windows_mins.iter().map(|&m| window_label(m)).collect()
    }

    /// The wait histogram's bucket bounds for `queue`, sorted, in seconds.
    pub fn wait_bounds(&self, queue: &QueuePolicy) -> Vec<u32> {
        let mut bounds = self.wait_buckets_secs.clone();
        bounds.extend(&queue.sl_thresholds_secs);
        bounds.push(queue.short_abandon_secs);
        bounds.retain(|b| *b > 0);
        bounds.sort_unstable();
        bounds.dedup();
        bounds
    }
}

/// `5` -> `5m`, `60` -> `1h`, `90` -> `90m`.
pub fn window_label(mins: u32) -> String {
    if mins.is_multiple_of(60) {
        format!("{}h", mins / 60)
    } else {
        format!("{mins}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_labelled() {
        let p = MetricsPolicy::default();
        p.validate().expect("defaults valid");
        assert_eq!(p.window_labels(), ["5m", "15m", "30m", "1h"]);
        assert_eq!(p.window_buckets(), [5, 15, 30, 60]);
        assert_eq!(
            p.wait_bounds(&p.default_queue),
            [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600]
        );
    }

    #[test]
    fn rejects_bad_windows_and_thresholds() {
        let p = MetricsPolicy {
            bucket_secs: 420,
            ..MetricsPolicy::default()
        };
        assert!(matches!(p.validate(), Err(PolicyError::Windows(_))));
        let mut p = MetricsPolicy::default();
        p.queues.insert(
            "q".into(),
            QueuePolicy {
                sl_thresholds_secs: vec![],
                ..QueuePolicy::default()
            },
        );
        assert!(matches!(p.validate(), Err(PolicyError::Thresholds { .. })));
        let mut p = MetricsPolicy::default();
        p.queues.insert(
            "q".into(),
            QueuePolicy {
                sl_thresholds_secs: vec![10, 45],
                ..QueuePolicy::default()
            },
        );
        p.validate().expect("two thresholds fine");
        // A percentage where a ratio belongs is refused, with the fix in the message.
        let mut wrong = p.clone();
        wrong.default_queue.sl_target = 80.0;
        let error = wrong.validate().expect_err("80 is not a ratio");
        assert!(matches!(error, PolicyError::SlTarget { .. }));
        assert!(error.to_string().contains("0.8"), "{error}");
        wrong.default_queue.sl_target = 0.0;
        assert!(wrong.validate().is_err());
        assert_eq!(
            p.wait_bounds(p.queue("q")),
            [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600]
        );
        assert_eq!(p.queue("other").sl_thresholds_secs, [20]);
    }

    #[test]
    fn alert_limits_are_checked() {
        let ok = MetricsPolicy::default();
        for (edit, key) in [
            (
                (|q: &mut QueuePolicy| q.abandon_rate_alert = 10.0) as fn(&mut QueuePolicy),
                "abandon_rate_alert",
            ),
            (|q| q.sl_at_risk_margin = 1.0, "sl_at_risk_margin"),
            (|q| q.longest_wait_alert_secs = 5, "longest_wait_alert_secs"),
        ] {
            let mut p = ok.clone();
            let mut queue = QueuePolicy::default();
            edit(&mut queue);
            p.queues.insert("sales".into(), queue);
            let error = p.validate().expect_err(key);
            let text = error.to_string();
            assert!(text.contains(key) && text.contains("sales"), "{text}");
        }
        let mut p = ok;
        p.alert_window_mins = 7;
        assert!(matches!(p.validate(), Err(PolicyError::Windows(_))));
    }
}
