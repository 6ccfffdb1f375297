//! Queue call families: per window, now, and lifetime.

use prometheus::proto::{Bucket, Histogram, Metric, MetricType::*};

use callpulse_core::{Snapshot, StaffingView};

use super::{Family, Out, Q, QW, count};

/// For every queue with staffing figures: `f(staffing)`, labelled `queue`.
fn per_staffing(s: &Snapshot, o: &mut Out, f: impl Fn(&StaffingView) -> Option<f64>) {
    o.per_call_queue(s, |q| q.staffing.as_ref().and_then(&f));
}

const QWT: &[&str] = &["queue", "window", "threshold_seconds"];
const QT: &[&str] = &["queue", "threshold_seconds"];

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_queue_offered_calls",
        help: "Calls offered to the queue (call_queued) in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.offered)),
    },
    Family {
        name: "callpulse_queue_answered_calls",
        help: "Calls answered in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.answered)),
    },
    Family {
        name: "callpulse_queue_abandoned_calls",
        help: "Calls abandoned in the window, short abandons included.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.abandoned)),
    },
    Family {
        name: "callpulse_queue_short_abandoned_calls",
        help: "Calls abandoned before the short-abandon threshold in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.short_abandoned)),
    },
    Family {
        name: "callpulse_queue_exited_calls",
        help: "Calls that left the queue unanswered in the window by an exit its exits_not_abandoned names (e.g. a key pressed for voicemail): not abandons.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.exited)),
    },
    Family {
        name: "callpulse_queue_answered_within_threshold_calls",
        help: "Calls answered within the SL threshold in the window (SL numerator).",
        kind: GAUGE,
        labels: QWT,
        emit: |s, o| {
            o.per_window_by(s, "threshold_seconds", |w| {
                w.answered_within
                    .iter()
                    .map(|(t, n)| (t.to_string(), count(*n)))
                    .collect()
            });
        },
    },
    Family {
        name: "callpulse_queue_sl_numerator_calls",
        help: "SL numerator in the window, by the queue's sl_formula: answered within the threshold, plus abandoned within it under asterisk_sl2 and removed_within.",
        kind: GAUGE,
        labels: QWT,
        emit: |s, o| {
            o.per_window_by(s, "threshold_seconds", |w| {
                w.sl_numerator
                    .iter()
                    .map(|(t, n)| (t.to_string(), count(*n)))
                    .collect()
            });
        },
    },
    Family {
        name: "callpulse_queue_sl_denominator_calls",
        help: "SL denominator in the window, by the queue's sl_formula (default: answered plus non-short abandoned).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.sl_denominator)),
    },
    Family {
        name: "callpulse_queue_service_level_ratio",
        help: "SL numerator / SL denominator in the window.",
        kind: GAUGE,
        labels: QWT,
        emit: |s, o| {
            o.per_window_by(s, "threshold_seconds", |w| {
                w.service_level
                    .iter()
                    .map(|(t, r)| (t.to_string(), *r))
                    .collect()
            });
        },
    },
    Family {
        name: "callpulse_queue_abandon_numerator_calls",
        help: "Abandonment rate's numerator in the window: abandoned, less short abandons unless abandon_rate_excludes_short = false.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.abandon_numerator)),
    },
    Family {
        name: "callpulse_queue_abandon_denominator_calls",
        help: "Abandonment rate's denominator in the window: offered, less short abandons unless abandon_rate_excludes_short = false.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.abandon_denominator)),
    },
    Family {
        name: "callpulse_queue_abandon_ratio",
        help: "Abandoned / offered in the window (short abandons excluded from both by default).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.abandon_rate),
    },
    Family {
        name: "callpulse_queue_answer_wait_seconds",
        help: "Sum of answered calls' waits in the window (ASA numerator).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| Some(w.wait_sum_s)),
    },
    Family {
        name: "callpulse_queue_asa_seconds",
        help: "Average speed of answer in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.asa_s),
    },
    Family {
        name: "callpulse_queue_wait_percentile_seconds",
        help: "Answered-call wait percentiles in the window (50th, 90th, 99th).",
        kind: GAUGE,
        labels: &["queue", "window", "percentile"],
        emit: |s, o| {
            o.per_window_by(s, "percentile", |w| {
                vec![
                    ("50".to_owned(), w.wait_p50_s),
                    ("90".to_owned(), w.wait_p90_s),
                    ("99".to_owned(), w.wait_p99_s),
                ]
            });
        },
    },
    Family {
        name: "callpulse_queue_wait_max_seconds",
        help: "Longest wait of a call answered in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.wait_max_s),
    },
    Family {
        name: "callpulse_queue_completed_calls",
        help: "Calls completed (after wrap-up) in the window (AHT denominator).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.completed)),
    },
    Family {
        name: "callpulse_queue_handle_seconds",
        help: "Sum of talk + hold + after-call work of calls completed in the window (AHT numerator).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| Some(w.handle_sum_s)),
    },
    Family {
        name: "callpulse_queue_aht_seconds",
        help: "Average handle time in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.aht_s),
    },
    Family {
        name: "callpulse_queue_handle_part_seconds",
        help: "Sum of one part of handle time (talk, hold, acw) of calls completed in the window.",
        kind: GAUGE,
        labels: &["queue", "window", "part"],
        emit: |s, o| {
            o.per_window_by(s, "part", |w| {
                vec![
                    ("talk".to_owned(), Some(w.talk_sum_s)),
                    ("hold".to_owned(), Some(w.hold_sum_s)),
                    ("acw".to_owned(), Some(w.acw_sum_s)),
                ]
            });
        },
    },
    Family {
        name: "callpulse_queue_held_calls",
        help: "Completed calls with hold time in the window (hold-rate numerator).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.held_calls)),
    },
    Family {
        name: "callpulse_queue_transferred_in_calls",
        help: "Calls queued here by a transfer from another queue in the window (part of offered).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.transferred_in)),
    },
    Family {
        name: "callpulse_queue_transferred_out_calls",
        help: "Calls that left this queue by a transfer to another queue in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.transferred_out)),
    },
    Family {
        name: "callpulse_queue_abandon_wait_avg_seconds",
        help: "Average wait of calls abandoned in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.avg_abandon_s),
    },
    Family {
        name: "callpulse_queue_resolved_reported_ratio",
        help: "Share of completed calls the agent flagged resolved (agent-reported FCR) in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.resolved_reported_ratio),
    },
    Family {
        name: "callpulse_queue_csat_responses",
        help: "CSAT responses in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.csat_responses)),
    },
    Family {
        name: "callpulse_queue_csat_positive_responses",
        help: "CSAT responses scoring 4 or 5 in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.csat_positive)),
    },
    Family {
        name: "callpulse_queue_csat_ratio",
        help: "Top-2-box CSAT share in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.csat),
    },
    Family {
        name: "callpulse_queue_nps_responses",
        help: "NPS answers (0-10) in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.nps_responses)),
    },
    Family {
        name: "callpulse_queue_nps_promoters",
        help: "NPS answers of promoters (9-10) in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.nps_promoters)),
    },
    Family {
        name: "callpulse_queue_nps_detractors",
        help: "NPS answers of detractors (0-6) in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| count(w.nps_detractors)),
    },
    Family {
        name: "callpulse_queue_nps_score",
        help: "Net Promoter Score in the window: % promoters - % detractors (-100 to 100).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| o.per_window(s, |w| w.nps),
    },
    Family {
        name: "callpulse_queue_calls_waiting",
        help: "Calls waiting in the queue at the snapshot's instant.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.waiting)),
    },
    Family {
        name: "callpulse_queue_longest_wait_seconds",
        help: "How long the longest-waiting call has waited at the snapshot's instant.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| Some(q.longest_wait_s)),
    },
    Family {
        name: "callpulse_queue_sl_target_ratio",
        help: "The queue's configured service-level target.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| Some(q.sl_target)),
    },
    Family {
        name: "callpulse_queue_offered_load_erlangs",
        help: "Arrival rate x AHT over the staffing window (Erlang C traffic).",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_staffing(s, o, |st| Some(st.traffic_erlangs)),
    },
    Family {
        name: "callpulse_queue_required_agents",
        help: "Agents Erlang C needs now to meet the queue's first SL threshold and target.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_staffing(s, o, |st| st.required_agents.map(f64::from)),
    },
    Family {
        name: "callpulse_queue_staffed_agents",
        help: "Agents of the queue's team available, on a call or in wrap-up, now.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_staffing(s, o, |st| st.staffed_agents.map(|n| n as f64)),
    },
    Family {
        name: "callpulse_queue_staffing_gap_agents",
        help: "Required minus staffed agents: positive means short of people.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_staffing(s, o, |st| st.gap_agents.map(|n| n as f64)),
    },
    Family {
        name: "callpulse_calls_offered_total",
        help: "Calls offered, as this process counted them (history restored from checkpoints left out).",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.offered)),
    },
    Family {
        name: "callpulse_calls_answered_total",
        help: "Calls answered.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.answered)),
    },
    Family {
        name: "callpulse_calls_abandoned_total",
        help: "Calls abandoned, short abandons included.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.abandoned)),
    },
    Family {
        name: "callpulse_calls_short_abandoned_total",
        help: "Short abandons.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.short_abandoned)),
    },
    Family {
        name: "callpulse_calls_answered_within_threshold_total",
        help: "Calls answered within the SL threshold.",
        kind: COUNTER,
        labels: QT,
        emit: |s, o| {
            for q in s.queues.iter().filter(|q| q.takes_calls()) {
                for (threshold, n) in &q.counted.answered_within {
                    let threshold = threshold.to_string();
                    o.put(
                        &[("queue", &q.queue), ("threshold_seconds", &threshold)],
                        *n as f64,
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_calls_abandoned_within_threshold_total",
        help: "Calls abandoned within the SL threshold, short abandons included (numerator of the asterisk_sl2 and removed_within formulas).",
        kind: COUNTER,
        labels: QT,
        emit: |s, o| {
            for q in s.queues.iter().filter(|q| q.takes_calls()) {
                for (threshold, n) in &q.counted.abandoned_within {
                    let threshold = threshold.to_string();
                    o.put(
                        &[("queue", &q.queue), ("threshold_seconds", &threshold)],
                        *n as f64,
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_calls_completed_total",
        help: "Calls completed after wrap-up.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.completed)),
    },
    Family {
        name: "callpulse_calls_handle_seconds_total",
        help: "Talk + hold + after-call work of completed calls.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| Some(q.counted.handle_s)),
    },
    Family {
        name: "callpulse_csat_responses_total",
        help: "CSAT responses.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.csat_responses)),
    },
    Family {
        name: "callpulse_csat_positive_responses_total",
        help: "CSAT responses scoring 4 or 5.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| o.per_call_queue(s, |q| count(q.counted.csat_positive)),
    },
    Family {
        name: "callpulse_calls_answer_wait_seconds",
        help: "Waits of answered calls; bucket bounds include every SL threshold.",
        kind: HISTOGRAM,
        labels: Q,
        emit: |s, o| {
            for q in s.queues.iter().filter(|q| q.takes_calls()) {
                let t = &q.counted;
                let mut hist = Histogram::default();
                hist.set_sample_count(t.answered);
                hist.set_sample_sum(t.answer_wait_s);
                hist.set_bucket(
                    t.wait_le_bounds_s
                        .iter()
                        .zip(&t.wait_le_cumulative)
                        .map(|(bound, count)| {
                            let mut bucket = Bucket::default();
                            bucket.set_upper_bound(f64::from(*bound));
                            bucket.set_cumulative_count(*count);
                            bucket
                        })
                        .collect(),
                );
                let mut metric = Metric::default();
                metric.set_histogram(hist);
                o.metric(&[("queue", &q.queue)], metric);
            }
        },
    },
];
