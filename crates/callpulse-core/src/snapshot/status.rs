//! Each queue's status: its figures judged against its own limits (`[metrics.queues.NAME]`),
//! what the wallboard colours and sorts by and what the feed's alert events report.
//!
//! One definition for every reader: the wallboard, `/ws` alert events and the
//! `callpulse_queue_status` gauge all read [`QueueStatus`], so they never disagree.

use serde::Serialize;

use super::{QueueView, WindowMetrics};
use crate::policy::QueuePolicy;
use crate::tickets::TicketLive;

/// How a check, or a queue, stands. Ordered by severity: a queue's level is its worst check's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Within its limits.
    #[default]
    Ok,
    /// Too few calls to judge a ratio (`alert_min_calls`): shown, never coloured.
    Quiet,
    /// Close to its limit.
    AtRisk,
    /// Past its limit.
    Breach,
}

impl Level {
    /// The name used in JSON and on `/metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Quiet => "quiet",
            Level::AtRisk => "at_risk",
            Level::Breach => "breach",
        }
    }

    /// 0 (ok) to 3 (breach): the gauge's value.
    pub const fn severity(self) -> u8 {
        self as u8
    }
}

/// The checks, in the order they are listed.
pub const CHECKS: [&str; 4] = [
    "service_level",
    "longest_wait",
    "abandon_rate",
    "tickets_overdue",
];

/// One figure against its limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// One of [`CHECKS`].
    pub check: &'static str,
    pub level: Level,
    /// The figure now; `null` when there is none (no call in the window).
    pub value: Option<f64>,
    /// Past this it is at risk, and past `breach` in breach. For the service level "past"
    /// means below.
    pub at_risk: f64,
    pub breach: f64,
    /// The calls (or tickets) the figure is over: every ratio comes with its sample size.
    pub sample: u64,
}

/// A queue's checks and their worst level.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueStatus {
    pub level: Level,
    /// The window the ratios are judged over (`metrics.alert_window_mins`).
    pub window: String,
    pub checks: Vec<Check>,
}

/// What a status is judged from: a queue's, or the center's, figures now.
pub(crate) struct Figures<'a> {
    pub windows: &'a [WindowMetrics],
    pub thresholds: &'a [u32],
    pub waiting: u64,
    pub longest_wait_s: f64,
    pub tickets: Option<&'a TicketLive>,
}

impl<'a> Figures<'a> {
    pub(crate) fn of_queue(queue: &'a QueueView) -> Figures<'a> {
        Figures {
            windows: &queue.windows,
            thresholds: &queue.sl_thresholds_secs,
            waiting: queue.waiting,
            longest_wait_s: queue.longest_wait_s,
            tickets: queue.tickets.as_ref().map(|t| &t.live),
        }
    }
}

impl QueueStatus {
    /// Judges `queue`'s figures: ratios over `window` (an index into its windows).
    pub(crate) fn judge(queue: &QueueView, window: usize, policy: &QueuePolicy) -> QueueStatus {
        QueueStatus::judge_figures(&Figures::of_queue(queue), window, policy)
    }

    /// Judges `figures`: ratios over `window` (an index into its windows).
    pub(crate) fn judge_figures(
        figures: &Figures<'_>,
        window: usize,
        policy: &QueuePolicy,
    ) -> QueueStatus {
        let w = figures.windows.get(window);
        let mut checks = Vec::with_capacity(CHECKS.len());
        let calls_seen = figures.waiting > 0 || figures.windows.iter().any(|w| w.offered > 0);
        if calls_seen || figures.tickets.is_none() {
            checks.push(service_level(w, figures.thresholds, policy));
            checks.push(longest_wait(figures, policy));
            checks.push(abandon_rate(w, policy));
        }
        if let Some(tickets) = figures.tickets {
            let level = if tickets.breached > 0 {
                Level::Breach
            } else if tickets.at_risk > 0 {
                Level::AtRisk
            } else {
                Level::Ok
            };
            checks.push(Check {
                check: "tickets_overdue",
                level,
                value: Some(tickets.breached as f64),
                at_risk: 0.0,
                breach: 0.0,
                sample: tickets.backlog,
            });
        }
        QueueStatus {
            level: checks.iter().map(|c| c.level).max().unwrap_or(Level::Ok),
            window: w.map(|w| w.window.clone()).unwrap_or_default(),
            checks,
        }
    }

    /// The check named `check`, if judged.
    pub fn check(&self, check: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == check)
    }
}

fn service_level(w: Option<&WindowMetrics>, thresholds: &[u32], policy: &QueuePolicy) -> Check {
    let threshold = thresholds.first().copied().unwrap_or(0);
    let value = w.and_then(|w| w.service_level.get(&threshold).copied().flatten());
    let sample = w.map_or(0, |w| w.sl_denominator);
    let at_risk = (policy.sl_target + policy.sl_at_risk_margin).min(1.0);
    let level = match value {
        _ if sample < u64::from(policy.alert_min_calls) => Level::Quiet,
        None => Level::Quiet,
        Some(v) if v < policy.sl_target => Level::Breach,
        Some(v) if v < at_risk => Level::AtRisk,
        Some(_) => Level::Ok,
    };
    Check {
        check: "service_level",
        level,
        value,
        at_risk,
        breach: policy.sl_target,
        sample,
    }
}

fn longest_wait(figures: &Figures<'_>, policy: &QueuePolicy) -> Check {
    let at_risk = f64::from(figures.thresholds.first().copied().unwrap_or(0));
    let breach = f64::from(policy.longest_wait_alert_secs);
    let value = figures.longest_wait_s;
    let level = if figures.waiting == 0 {
        Level::Ok
    } else if value > breach {
        Level::Breach
    } else if value > at_risk {
        Level::AtRisk
    } else {
        Level::Ok
    };
    Check {
        check: "longest_wait",
        level,
        value: Some(value),
        at_risk,
        breach,
        sample: figures.waiting,
    }
}

fn abandon_rate(w: Option<&WindowMetrics>, policy: &QueuePolicy) -> Check {
    let value = w.and_then(|w| w.abandon_rate);
    let sample = w.map_or(0, |w| w.abandon_denominator);
    let breach = policy.abandon_rate_alert;
    let at_risk = (breach - policy.sl_at_risk_margin).max(0.0);
    let level = match value {
        _ if sample < u64::from(policy.alert_min_calls) => Level::Quiet,
        None => Level::Quiet,
        Some(v) if v > breach => Level::Breach,
        Some(v) if v > at_risk => Level::AtRisk,
        Some(_) => Level::Ok,
    };
    Check {
        check: "abandon_rate",
        level,
        value,
        at_risk,
        breach,
        sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::{CallAgg, CallTotals};
    use crate::snapshot::derive::totals_view;
    use crate::snapshot::figures::window_metrics;

    /// A queue whose 15-minute window holds `answered` calls within 20 s, `late` answered
    /// after it and `abandoned` (long) abandons, with `waiting` calls the oldest `oldest_s` old.
    fn queue(answered: u32, late: u32, abandoned: u32, waiting: u64, oldest_s: f64) -> QueueView {
        let policy = QueuePolicy::default();
        let mut agg = CallAgg::default();
        for _ in 0..answered {
            agg.counts.offered += 1;
            agg.record_answer(5_000, &[20_000]);
        }
        for _ in 0..late {
            agg.counts.offered += 1;
            agg.record_answer(40_000, &[20_000]);
        }
        for _ in 0..abandoned {
            agg.counts.offered += 1;
            agg.counts.record_abandon(60_000, false, &[20_000]);
        }
        QueueView {
            queue: "q".into(),
            team: None,
            open: true,
            sl_thresholds_secs: vec![20],
            sl_target: policy.sl_target,
            short_abandon_secs: policy.short_abandon_secs,
            waiting,
            longest_wait_s: oldest_s,
            windows: ["5m", "15m"]
                .iter()
                .map(|label| window_metrics(label, &agg, &policy))
                .collect(),
            totals: totals_view(&CallTotals::default(), &[20], &[]),
            counted: totals_view(&CallTotals::default(), &[20], &[]),
            staffing: None,
            tickets: None,
            fcr: None,
            forecast: None,
            status: QueueStatus::default(),
        }
    }

    fn level(q: &QueueView, check: &str) -> Level {
        let status = QueueStatus::judge(q, 1, &QueuePolicy::default());
        status.check(check).expect(check).level
    }

    /// Hand-computed cases at the defaults (target 0.8, margin 0.05, 10 calls, 120 s, 10 %).
    #[test]
    fn each_check_at_its_limits() {
        // 9 of 10 within 20 s: 90 % >= 85 %: ok.
        assert_eq!(level(&queue(9, 1, 0, 0, 0.0), "service_level"), Level::Ok);
        // 83 of 100: between 80 % and 85 %: at risk. 79 of 100: breach. 80 of 100: at risk.
        assert_eq!(
            level(&queue(83, 17, 0, 0, 0.0), "service_level"),
            Level::AtRisk
        );
        assert_eq!(
            level(&queue(80, 20, 0, 0, 0.0), "service_level"),
            Level::AtRisk
        );
        assert_eq!(
            level(&queue(79, 21, 0, 0, 0.0), "service_level"),
            Level::Breach
        );
        // One late call of one: 0 %, but one call is not judged.
        let one = queue(0, 1, 0, 0, 0.0);
        assert_eq!(level(&one, "service_level"), Level::Quiet);
        assert_eq!(
            QueueStatus::judge(&one, 1, &QueuePolicy::default()).level,
            Level::Quiet
        );
        // Longest wait: 20 s is ok, 21 s at risk, 121 s breach; nobody waiting is ok.
        assert_eq!(level(&queue(0, 0, 0, 1, 20.0), "longest_wait"), Level::Ok);
        assert_eq!(
            level(&queue(0, 0, 0, 1, 21.0), "longest_wait"),
            Level::AtRisk
        );
        assert_eq!(
            level(&queue(0, 0, 0, 2, 121.0), "longest_wait"),
            Level::Breach
        );
        // Abandonment: 1 of 20 (5 %) ok, 2 of 20 (10 %) at risk, 3 of 20 (15 %) breach.
        assert_eq!(level(&queue(19, 0, 1, 0, 0.0), "abandon_rate"), Level::Ok);
        assert_eq!(
            level(&queue(18, 0, 2, 0, 0.0), "abandon_rate"),
            Level::AtRisk
        );
        assert_eq!(
            level(&queue(17, 0, 3, 0, 0.0), "abandon_rate"),
            Level::Breach
        );
        // The queue takes its worst check: a good SL with a call waiting 3 minutes.
        let q = queue(50, 0, 0, 1, 180.0);
        let status = QueueStatus::judge(&q, 1, &QueuePolicy::default());
        assert_eq!(status.level, Level::Breach);
        assert_eq!(status.window, "15m");
        let sl = status.check("service_level").expect("sl");
        assert_eq!((sl.value, sl.sample, sl.breach), (Some(1.0), 50, 0.8));
    }
}
