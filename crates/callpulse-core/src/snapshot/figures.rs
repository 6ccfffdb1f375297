//! The window figures, declared once: each line names a figure, documents it and gives its
//! formula over the window's aggregate. The struct readers see ([`WindowMetrics`]), the
//! function that derives it, and the list of names (JSON keys, report columns, the docs
//! check) all come from the same lines, so a figure cannot be added to one and forgotten in
//! another. The counters underneath are declared once too (`calls.rs`, `call_counts!`);
//! Prometheus families name the figures they export (`callpulse-export`, one row each).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calls::{CallAgg, CallCounts};
use crate::policy::QueuePolicy;

/// What a formula can read: the window's aggregate and what several formulas share.
pub(crate) struct Inputs<'a> {
    /// The additive counters.
    c: &'a CallCounts,
    /// The whole aggregate (wait histogram, longest wait).
    w: &'a CallAgg,
    /// Answered within each SL threshold, keyed by threshold in seconds.
    within: BTreeMap<u32, u64>,
    /// The SL formula's numerator, keyed by threshold in seconds.
    sl_num: BTreeMap<u32, u64>,
    /// The SL formula's denominator.
    sl_den: u64,
    /// The abandonment rate's numerator and denominator.
    abandons: u64,
    abandon_den: u64,
}

impl<'a> Inputs<'a> {
    fn new(w: &'a CallAgg, policy: &QueuePolicy) -> Self {
        let c = &w.counts;
        let (abandons, abandon_den) = c.abandon_parts(policy.abandon_rate_excludes_short);
        Inputs {
            c,
            w,
            within: policy
                .sl_thresholds_secs
                .iter()
                .zip(c.answered_within)
                .map(|(t, n)| (*t, n))
                .collect(),
            sl_num: policy
                .sl_thresholds_secs
                .iter()
                .zip(c.sl_numerators(policy.sl_formula))
                .map(|(t, n)| (*t, n))
                .collect(),
            sl_den: c.sl_denominator(policy.sl_formula),
            abandons,
            abandon_den,
        }
    }

    fn quantile_s(&self, q: f64) -> Option<f64> {
        self.w.wait_quantile_ms(q).map(secs)
    }
}

pub(crate) fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

pub(crate) fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub(crate) fn avg_s(sum_ms: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum_ms as f64 / count as f64 / 1000.0)
}

macro_rules! window_figures {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $formula:expr ),* $(,)?) => {
        /// One window's figures for one queue: the raw numerators and denominators (so sums
        /// across queues and instances stay correct) and the derived ratios and averages.
        /// Times in seconds; a ratio or average is `null` when its denominator is 0.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct WindowMetrics {
            /// The window's label (`5m`, `1h`, `interval`, `today`; a report's interval).
            pub window: String,
            $( $(#[$doc])* pub $field: $ty, )*
        }

        /// Every figure of [`WindowMetrics`] after `window`, in declaration order.
        pub const WINDOW_FIGURES: &[&str] = &[$(stringify!($field)),*];

        /// Derives one window's figures from its aggregate under the queue's policy.
        pub(crate) fn window_metrics(
            label: &str,
            window: &CallAgg,
            policy: &QueuePolicy,
        ) -> WindowMetrics {
            let x = Inputs::new(window, policy);
            WindowMetrics {
                window: label.to_owned(),
                $( $field: {
                    let formula: fn(&Inputs<'_>) -> $ty = $formula;
                    formula(&x)
                }, )*
            }
        }
    };
}

/// The figures keyed by SL threshold (objects in JSON, one column per threshold in CSV).
pub const WINDOW_FIGURES_BY_THRESHOLD: &[&str] =
    &["answered_within", "service_level", "sl_numerator"];

window_figures! {
    /// Calls queued (a transfer queues again).
    offered: u64 = |x| x.c.offered,
    answered: u64 = |x| x.c.answered,
    /// Every abandon, short ones included.
    abandoned: u64 = |x| x.c.abandoned,
    /// Abandons under the queue's `short_abandon_secs`.
    short_abandoned: u64 = |x| x.c.short_abandoned,
    /// Calls that left unanswered by an exit the queue's `exits_not_abandoned` names: in
    /// `offered`, in no abandon count.
    exited: u64 = |x| x.c.exited,
    /// Answered within each SL threshold, keyed by threshold in seconds.
    answered_within: BTreeMap<u32, u64> = |x| x.within.clone(),
    /// The numerator of the queue's SL formula, keyed by threshold in seconds:
    /// `answered_within`, plus the abandons within the threshold under `asterisk_sl2` and
    /// `removed_within`.
    sl_numerator: BTreeMap<u32, u64> = |x| x.sl_num.clone(),
    /// The denominator of the queue's SL formula (`answered + abandoned - short_abandoned`
    /// by default).
    sl_denominator: u64 = |x| x.sl_den,
    /// sl_numerator / sl_denominator, keyed by threshold in seconds.
    service_level: BTreeMap<u32, Option<f64>> =
        |x| x.sl_num.iter().map(|(t, n)| (*t, ratio(*n, x.sl_den))).collect(),
    /// Abandonment rate's denominator: offered, minus short abandons when they are excluded.
    abandon_denominator: u64 = |x| x.abandon_den,
    /// Abandonment rate's numerator: abandoned, minus short abandons when they are excluded.
    abandon_numerator: u64 = |x| x.abandons,
    /// (abandoned - short_abandoned) / (offered - short_abandoned) by default.
    abandon_rate: Option<f64> = |x| ratio(x.abandons, x.abandon_den),
    /// Sum of answered calls' waits: ASA's numerator.
    wait_sum_s: f64 = |x| secs(x.c.answer_wait_ms),
    /// Average speed of answer.
    asa_s: Option<f64> = |x| avg_s(x.c.answer_wait_ms, x.c.answered),
    /// Answered waits' percentiles (2 significant digits, within the window's min and max).
    wait_p50_s: Option<f64> = |x| x.quantile_s(0.5),
    wait_p90_s: Option<f64> = |x| x.quantile_s(0.9),
    wait_p99_s: Option<f64> = |x| x.quantile_s(0.99),
    /// The longest wait of an answered call, exact.
    wait_max_s: Option<f64> = |x| (x.c.answered > 0).then(|| secs(x.w.max_answer_wait_ms)),
    /// Average wait of abandoned calls.
    avg_abandon_s: Option<f64> = |x| avg_s(x.c.abandon_wait_ms, x.c.abandoned),
    completed: u64 = |x| x.c.completed,
    /// Talk + hold + after-call work, summed, and its average (AHT).
    handle_sum_s: f64 = |x| secs(x.c.handle_ms()),
    aht_s: Option<f64> = |x| avg_s(x.c.handle_ms(), x.c.completed),
    /// AHT's parts: averages, then sums (their numerators).
    talk_avg_s: Option<f64> = |x| avg_s(x.c.talk_ms, x.c.completed),
    hold_avg_s: Option<f64> = |x| avg_s(x.c.hold_ms, x.c.completed),
    acw_avg_s: Option<f64> = |x| avg_s(x.c.acw_ms, x.c.completed),
    talk_sum_s: f64 = |x| secs(x.c.talk_ms),
    hold_sum_s: f64 = |x| secs(x.c.hold_ms),
    acw_sum_s: f64 = |x| secs(x.c.acw_ms),
    /// Completed calls with hold time, and their share of completed calls.
    held_calls: u64 = |x| x.c.held,
    hold_rate: Option<f64> = |x| ratio(x.c.held, x.c.completed),
    /// Calls queued here by a transfer (part of `offered`), and calls that left this queue
    /// by a transfer. The center counts contacts, so its own are 0.
    transferred_in: u64 = |x| x.c.transferred_in,
    transferred_out: u64 = |x| x.c.transferred_out,
    /// Completed calls carrying the agent's `resolved` flag, and those flagged true.
    resolved_reported: u64 = |x| x.c.resolved_reported,
    resolved_true: u64 = |x| x.c.resolved_true,
    /// Share of completed calls the agent flagged `resolved: true`, of those with the flag.
    resolved_reported_ratio: Option<f64> = |x| ratio(x.c.resolved_true, x.c.resolved_reported),
    csat_responses: u64 = |x| x.c.csat_responses,
    /// Responses scoring 4 or 5, and their share (top-2-box CSAT).
    csat_positive: u64 = |x| x.c.csat_positive,
    csat: Option<f64> = |x| ratio(x.c.csat_positive, x.c.csat_responses),
    /// Sum of the scores (1-5): the mean's numerator.
    csat_score_sum: u64 = |x| x.c.csat_score_sum,
    /// Mean score (1-5).
    csat_mean: Option<f64> = |x| {
        (x.c.csat_responses > 0).then(|| x.c.csat_score_sum as f64 / x.c.csat_responses as f64)
    },
    /// NPS answers (0-10), and those of promoters (9-10) and detractors (0-6).
    nps_responses: u64 = |x| x.c.nps_responses,
    nps_promoters: u64 = |x| x.c.nps_promoters,
    nps_detractors: u64 = |x| x.c.nps_detractors,
    /// Net Promoter Score: % promoters - % detractors, -100 to 100.
    nps: Option<f64> = |x| crate::calls::nps_score(x.c.nps_promoters, x.c.nps_detractors, x.c.nps_responses),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list of figures is the JSON: every key after `window`, in order, and exactly the
    /// declared ones keyed by threshold are objects.
    #[test]
    fn the_figure_list_is_the_json() {
        let mut agg = CallAgg::default();
        agg.record_answer(12_000, &[20_000]);
        let m = window_metrics("5m", &agg, &QueuePolicy::default());
        let json = serde_json::to_value(&m).expect("json");
        let object = json.as_object().expect("object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.retain(|k| *k != "window");
        let mut declared = WINDOW_FIGURES.to_vec();
        keys.sort_unstable();
        declared.sort_unstable();
        assert_eq!(keys, declared);
        let objects: Vec<&str> = object
            .iter()
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(objects, WINDOW_FIGURES_BY_THRESHOLD);
    }

    /// Each figure has a row in the report format's table (docs/reports.md) and is listed
    /// in the feed's message format (docs/ws-protocol.md).
    #[test]
    fn every_figure_is_documented() {
        const DOCS: &str = include_str!("../../../../docs/reports.md");
        let rows: Vec<&str> = DOCS.lines().filter(|l| l.starts_with("| `")).collect();
        for figure in WINDOW_FIGURES {
            let quoted = format!("`{figure}`");
            assert!(
                rows.iter().any(|row| row
                    .split('|')
                    .nth(1)
                    .is_some_and(|keys| keys.contains(&quoted))),
                "docs/reports.md has no row for {figure}"
            );
        }
        const FEED: &str = include_str!("../../../../docs/ws-protocol.md");
        for figure in WINDOW_FIGURES {
            assert!(
                FEED.contains(figure),
                "docs/ws-protocol.md does not list {figure}"
            );
        }
    }
}
