//! `/metrics`: the business metrics, built from the latest snapshot at scrape time.
//!
//! Nothing is pushed into gauges as events arrive; a scrape reads one `Arc<Published>`, so
//! every series in one scrape comes from one snapshot `seq`. Windowed figures are gauges with
//! a `window` label; lifetime figures are `_total` counters (never decreasing, see
//! `Retired`) and a wait histogram whose buckets fall on each queue's SL thresholds.
//! Numerators and denominators are exported next to every ratio, so `sum()` across queues
//! and instances stays correct. No per-agent label exists: agent detail is on the API.

use std::collections::HashMap;
use std::sync::Arc;

use callpulse_core::{QueueView, Snapshot, TicketView, WindowMetrics};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use crate::Latest;

use MetricType::{COUNTER, GAUGE, HISTOGRAM};

const QW: &[&str] = &["queue", "window"];
const QWT: &[&str] = &["queue", "window", "threshold_seconds"];
const Q: &[&str] = &["queue"];
const QT: &[&str] = &["queue", "threshold_seconds"];

/// Every family this collector emits: name, help, type, labels.
const FAMILIES: &[(&str, &str, MetricType, &[&str])] = &[
    (
        "callpulse_queue_offered_calls",
        "Calls offered to the queue (call_queued) in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_answered_calls",
        "Calls answered in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_abandoned_calls",
        "Calls abandoned in the window, short abandons included.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_short_abandoned_calls",
        "Calls abandoned before the short-abandon threshold in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_answered_within_threshold_calls",
        "Calls answered within the SL threshold in the window (SL numerator).",
        GAUGE,
        QWT,
    ),
    (
        "callpulse_queue_sl_denominator_calls",
        "SL denominator in the window, by the queue's sl_formula (default: answered plus non-short abandoned).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_service_level_ratio",
        "Answered within threshold / SL denominator in the window.",
        GAUGE,
        QWT,
    ),
    (
        "callpulse_queue_abandon_ratio",
        "Abandoned / offered in the window (short abandons excluded from both by default).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_answer_wait_seconds",
        "Sum of answered calls' waits in the window (ASA numerator).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_asa_seconds",
        "Average speed of answer in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_wait_percentile_seconds",
        "Answered-call wait percentiles in the window (50th, 90th, 99th).",
        GAUGE,
        &["queue", "window", "percentile"],
    ),
    (
        "callpulse_queue_wait_max_seconds",
        "Longest wait of a call answered in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_completed_calls",
        "Calls completed (after wrap-up) in the window (AHT denominator).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_handle_seconds",
        "Sum of talk + hold + after-call work of calls completed in the window (AHT numerator).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_aht_seconds",
        "Average handle time in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_handle_part_seconds",
        "Sum of one part of handle time (talk, hold, acw) of calls completed in the window.",
        GAUGE,
        &["queue", "window", "part"],
    ),
    (
        "callpulse_queue_held_calls",
        "Completed calls with hold time in the window (hold-rate numerator).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_abandon_wait_avg_seconds",
        "Average wait of calls abandoned in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_resolved_reported_ratio",
        "Share of completed calls the agent flagged resolved (agent-reported FCR) in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_csat_responses",
        "CSAT responses in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_csat_positive_responses",
        "CSAT responses scoring 4 or 5 in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_csat_ratio",
        "Top-2-box CSAT share in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_calls_waiting",
        "Calls waiting in the queue now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_longest_wait_seconds",
        "How long the longest-waiting call has waited, now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_sl_target_ratio",
        "The queue's configured service-level target.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_offered_load_erlangs",
        "Arrival rate x AHT over the staffing window (Erlang C traffic).",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_required_agents",
        "Agents Erlang C needs now to meet the queue's first SL threshold and target.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_staffed_agents",
        "Agents of the queue's team available, on a call or in wrap-up, now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_staffing_gap_agents",
        "Required minus staffed agents: positive means short of people.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_tickets_open",
        "Open tickets (created or reopened, not resolved), now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_tickets_awaiting_first_response",
        "Open tickets with no first response yet, now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_tickets_at_risk",
        "Tickets with no first response past the at-risk share of their target, not yet past it, now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_tickets_overdue",
        "Tickets with no first response past their target, now.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_tickets_created",
        "Tickets created in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_first_responses",
        "First responses in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_first_response_seconds",
        "Sum of first response times in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_first_response_avg_seconds",
        "Mean first response time in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_first_response_p90_seconds",
        "90th percentile first response time in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_first_response_breaches",
        "First responses later than their target in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_tickets_resolved",
        "Tickets resolved in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_resolution_seconds",
        "Sum of creation-to-resolution times of tickets resolved in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_resolution_avg_seconds",
        "Mean resolution time in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_resolution_p90_seconds",
        "90th percentile resolution time in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_tickets_reopened",
        "Tickets reopened in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_ticket_reopen_ratio",
        "Reopened / resolved in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_team_state_seconds",
        "Agent time per state in the window, summed over the team's agents.",
        GAUGE,
        &["team", "window", "state"],
    ),
    (
        "callpulse_team_occupancy_ratio",
        "(on_call + wrap_up) / (available + on_call + wrap_up) time in the window.",
        GAUGE,
        &["team", "window"],
    ),
    (
        "callpulse_queue_fcr_eligible_contacts",
        "Completed contacts whose FCR outcome became known in the window.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_fcr_resolved_contacts",
        "Of those, resolved first time (no further contact within the FCR window).",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_fcr_ratio",
        "First contact resolution in the window: resolved / eligible.",
        GAUGE,
        QW,
    ),
    (
        "callpulse_queue_fcr_pending_contacts",
        "Completed contacts whose FCR window is still open, no repeat contact yet.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_queue_fcr_provisional_ratio",
        "(resolved + pending) / (eligible + pending) since start: FCR if no pending customer calls back.",
        GAUGE,
        Q,
    ),
    (
        "callpulse_fcr_eligible_total",
        "Completed contacts whose FCR outcome is known.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_fcr_resolved_total",
        "Completed contacts resolved first time.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_fcr_customers",
        "Customers the FCR tracker remembers now.",
        GAUGE,
        &[],
    ),
    (
        "callpulse_team_agents",
        "Agents per team and state, now.",
        GAUGE,
        &["team", "state"],
    ),
    (
        "callpulse_calls_offered_total",
        "Calls offered since this instance started.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_answered_total",
        "Calls answered.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_abandoned_total",
        "Calls abandoned, short abandons included.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_short_abandoned_total",
        "Short abandons.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_answered_within_threshold_total",
        "Calls answered within the SL threshold.",
        COUNTER,
        QT,
    ),
    (
        "callpulse_calls_completed_total",
        "Calls completed after wrap-up.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_handle_seconds_total",
        "Talk + hold + after-call work of completed calls.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_csat_responses_total",
        "CSAT responses.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_csat_positive_responses_total",
        "CSAT responses scoring 4 or 5.",
        COUNTER,
        Q,
    ),
    (
        "callpulse_calls_answer_wait_seconds",
        "Waits of answered calls; bucket bounds include every SL threshold.",
        HISTOGRAM,
        Q,
    ),
    (
        "callpulse_events_applied_total",
        "Events applied, by outcome (counted, late, parked, ignored).",
        COUNTER,
        &["outcome"],
    ),
    (
        "callpulse_events_anomalies_total",
        "Bookkeeping anomalies, by kind (orphaned, stale_waiting, clock_skew, dedupe_evicted, ticket_evicted, fcr_evicted, agent_evicted, call_evicted, fcr_untracked, agent_calls_untracked, fcr_facts_dropped).",
        COUNTER,
        &["kind"],
    ),
    (
        "callpulse_last_event_timestamp_seconds",
        "Event time of the newest event applied.",
        GAUGE,
        &[],
    ),
    (
        "callpulse_snapshot_seq",
        "Sequence number of the snapshot this scrape reads.",
        GAUGE,
        &[],
    ),
    (
        "callpulse_snapshot_timestamp_seconds",
        "The instant this scrape's figures are read at: the instance watermark (the wall clock when caught up).",
        GAUGE,
        &[],
    ),
    (
        "callpulse_watermark_delay_seconds",
        "How far the figures' instant is behind the wall clock (0 when caught up; the backlog's age while catching up).",
        GAUGE,
        &[],
    ),
    (
        "callpulse_snapshot_stale_partitions",
        "Partitions whose snapshot missed the publishing tick, so their windows end earlier.",
        GAUGE,
        &[],
    ),
    (
        "callpulse_owned_partitions",
        "Kafka partitions whose state this instance publishes.",
        GAUGE,
        &[],
    ),
];

/// The `prometheus::core::Collector` over the latest published snapshot.
#[derive(Debug)]
pub struct SnapshotCollector {
    latest: Arc<Latest>,
    descs: Vec<Desc>,
}

impl SnapshotCollector {
    /// A collector reading from `latest`.
    ///
    /// # Errors
    /// Only if a family definition above were invalid (a programming error caught by tests).
    pub fn new(latest: Arc<Latest>) -> Result<Self, prometheus::Error> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, _, labels)| {
                Desc::new(
                    (*name).to_owned(),
                    (*help).to_owned(),
                    labels.iter().map(|l| (*l).to_owned()).collect(),
                    HashMap::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(SnapshotCollector { latest, descs })
    }
}

impl Collector for SnapshotCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let published = self.latest.load();
        let mut out = Families::default();
        families(&published.snapshot, &mut out);
        FAMILIES
            .iter()
            .filter_map(|(name, help, kind, _)| {
                let metrics = out.0.remove(name)?;
                let mut family = MetricFamily::default();
                family.set_name((*name).to_owned());
                family.set_help((*help).to_owned());
                family.set_field_type(*kind);
                family.set_metric(metrics);
                Some(family)
            })
            .collect()
    }
}

#[derive(Default)]
struct Families(HashMap<&'static str, Vec<Metric>>);

impl Families {
    fn push(&mut self, name: &'static str, labels: &[(&str, &str)], metric: Metric) {
        let mut metric = metric;
        metric.set_label(
            labels
                .iter()
                .map(|(k, v)| {
                    let mut pair = LabelPair::default();
                    pair.set_name((*k).to_owned());
                    pair.set_value((*v).to_owned());
                    pair
                })
                .collect(),
        );
        self.0.entry(name).or_default().push(metric);
    }

    fn gauge(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        let mut metric = Metric::default();
        metric.set_gauge(gauge);
        self.push(name, labels, metric);
    }

    /// A gauge that is absent (rather than NaN) when its denominator was zero.
    fn maybe(&mut self, name: &'static str, labels: &[(&str, &str)], value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(name, labels, value);
        }
    }

    fn counter(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        let mut counter = Counter::default();
        counter.set_value(value);
        let mut metric = Metric::default();
        metric.set_counter(counter);
        self.push(name, labels, metric);
    }
}

fn families(snap: &Snapshot, out: &mut Families) {
    for q in &snap.queues {
        queue_families(q, out);
    }
    for team in &snap.teams {
        for (state, n) in [
            ("available", team.available),
            ("on_call", team.on_call),
            ("wrap_up", team.wrap_up),
            ("aux", team.aux),
            ("offline", team.offline),
        ] {
            out.gauge(
                "callpulse_team_agents",
                &[("team", &team.team), ("state", state)],
                n as f64,
            );
        }
        for w in &team.windows {
            let t = &w.time;
            for (state, secs) in [
                ("available", t.available_s),
                ("on_call", t.on_call_s),
                ("wrap_up", t.wrap_up_s),
                ("aux", t.aux_s),
                ("offline", t.offline_s),
            ] {
                out.gauge(
                    "callpulse_team_state_seconds",
                    &[
                        ("team", &team.team),
                        ("window", &w.window),
                        ("state", state),
                    ],
                    secs,
                );
            }
            out.maybe(
                "callpulse_team_occupancy_ratio",
                &[("team", &team.team), ("window", &w.window)],
                t.occupancy,
            );
        }
    }
    let c = &snap.engine.counters;
    for (outcome, n) in [
        ("counted", c.applied),
        ("late", c.late),
        ("parked", c.parked),
        ("ignored", c.ignored),
    ] {
        out.counter(
            "callpulse_events_applied_total",
            &[("outcome", outcome)],
            n as f64,
        );
    }
    for (kind, n) in [
        ("orphaned", c.orphaned),
        ("stale_waiting", c.stale_waiting),
        ("clock_skew", c.clock_skew),
        ("dedupe_evicted", c.dedupe_evicted),
        ("ticket_evicted", c.ticket_evicted),
        ("fcr_evicted", c.fcr_evicted),
        ("agent_evicted", c.agent_evicted),
        ("call_evicted", c.call_evicted),
        ("fcr_untracked", c.fcr_untracked),
        ("agent_calls_untracked", c.agent_calls_untracked),
        ("fcr_facts_dropped", c.fcr_facts_dropped),
    ] {
        out.counter(
            "callpulse_events_anomalies_total",
            &[("kind", kind)],
            n as f64,
        );
    }
    if let Some(ms) = snap.engine.last_event_ms {
        out.gauge(
            "callpulse_last_event_timestamp_seconds",
            &[],
            ms as f64 / 1000.0,
        );
    }
    out.gauge("callpulse_snapshot_seq", &[], snap.seq as f64);
    out.gauge(
        "callpulse_fcr_customers",
        &[],
        snap.engine.fcr_customers as f64,
    );
    out.gauge(
        "callpulse_snapshot_timestamp_seconds",
        &[],
        snap.at_ms as f64 / 1000.0,
    );
    out.gauge(
        "callpulse_watermark_delay_seconds",
        &[],
        (snap.engine.wall_ms - snap.at_ms).max(0) as f64 / 1000.0,
    );
    out.gauge(
        "callpulse_snapshot_stale_partitions",
        &[],
        snap.engine.stale_partitions as f64,
    );
    out.gauge(
        "callpulse_owned_partitions",
        &[],
        snap.engine.partitions as f64,
    );
}

fn queue_families(q: &QueueView, out: &mut Families) {
    let queue: &str = &q.queue;
    for w in &q.windows {
        window_families(queue, w, out);
    }
    out.gauge(
        "callpulse_queue_calls_waiting",
        &[("queue", queue)],
        q.waiting as f64,
    );
    out.gauge(
        "callpulse_queue_longest_wait_seconds",
        &[("queue", queue)],
        q.longest_wait_s,
    );
    out.gauge(
        "callpulse_queue_sl_target_ratio",
        &[("queue", queue)],
        q.sl_target,
    );
    let ql = [("queue", queue)];
    if let Some(tickets) = &q.tickets {
        ticket_families(queue, tickets, out);
    }
    if let Some(fcr) = &q.fcr {
        for w in &fcr.windows {
            let l = [("queue", queue), ("window", w.window.as_str())];
            out.gauge(
                "callpulse_queue_fcr_eligible_contacts",
                &l,
                w.eligible as f64,
            );
            out.gauge(
                "callpulse_queue_fcr_resolved_contacts",
                &l,
                w.success as f64,
            );
            out.maybe("callpulse_queue_fcr_ratio", &l, w.fcr);
        }
        out.gauge(
            "callpulse_queue_fcr_pending_contacts",
            &ql,
            fcr.pending as f64,
        );
        out.maybe(
            "callpulse_queue_fcr_provisional_ratio",
            &ql,
            fcr.provisional,
        );
        out.counter(
            "callpulse_fcr_eligible_total",
            &ql,
            fcr.eligible_total as f64,
        );
        out.counter(
            "callpulse_fcr_resolved_total",
            &ql,
            fcr.success_total as f64,
        );
    }
    if let Some(s) = &q.staffing {
        out.gauge(
            "callpulse_queue_offered_load_erlangs",
            &ql,
            s.traffic_erlangs,
        );
        if let Some(required) = s.required_agents {
            out.gauge("callpulse_queue_required_agents", &ql, f64::from(required));
        }
        if let Some(staffed) = s.staffed_agents {
            out.gauge("callpulse_queue_staffed_agents", &ql, staffed as f64);
        }
        if let Some(gap) = s.gap_agents {
            out.gauge("callpulse_queue_staffing_gap_agents", &ql, gap as f64);
        }
    }
    let t = &q.totals;
    out.counter("callpulse_calls_offered_total", &ql, t.offered as f64);
    out.counter("callpulse_calls_answered_total", &ql, t.answered as f64);
    out.counter("callpulse_calls_abandoned_total", &ql, t.abandoned as f64);
    out.counter(
        "callpulse_calls_short_abandoned_total",
        &ql,
        t.short_abandoned as f64,
    );
    for (threshold, n) in &t.answered_within {
        let threshold = threshold.to_string();
        out.counter(
            "callpulse_calls_answered_within_threshold_total",
            &[("queue", queue), ("threshold_seconds", &threshold)],
            *n as f64,
        );
    }
    out.counter("callpulse_calls_completed_total", &ql, t.completed as f64);
    out.counter("callpulse_calls_handle_seconds_total", &ql, t.handle_s);
    out.counter(
        "callpulse_csat_responses_total",
        &ql,
        t.csat_responses as f64,
    );
    out.counter(
        "callpulse_csat_positive_responses_total",
        &ql,
        t.csat_positive as f64,
    );
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
    out.push("callpulse_calls_answer_wait_seconds", &ql, metric);
}

fn ticket_families(queue: &str, tickets: &TicketView, out: &mut Families) {
    let ql = [("queue", queue)];
    let live = &tickets.live;
    for (name, n) in [
        ("callpulse_queue_tickets_open", live.backlog),
        (
            "callpulse_queue_tickets_awaiting_first_response",
            live.awaiting_first_response,
        ),
        ("callpulse_queue_tickets_at_risk", live.at_risk),
        ("callpulse_queue_tickets_overdue", live.breached),
    ] {
        out.gauge(name, &ql, n as f64);
    }
    let count = |n: u64| Some(n as f64);
    for w in &tickets.windows {
        let l = [("queue", queue), ("window", w.window.as_str())];
        // Counts and sums are always present; averages, percentiles and ratios only with a
        // denominator.
        for (name, value) in [
            ("callpulse_queue_tickets_created", count(w.created)),
            (
                "callpulse_queue_ticket_first_responses",
                count(w.first_responses),
            ),
            (
                "callpulse_queue_ticket_first_response_seconds",
                Some(w.first_response_sum_s),
            ),
            (
                "callpulse_queue_ticket_first_response_avg_seconds",
                w.first_response_avg_s,
            ),
            (
                "callpulse_queue_ticket_first_response_p90_seconds",
                w.first_response_p90_s,
            ),
            (
                "callpulse_queue_ticket_first_response_breaches",
                count(w.first_response_breaches),
            ),
            ("callpulse_queue_tickets_resolved", count(w.resolved)),
            (
                "callpulse_queue_ticket_resolution_seconds",
                Some(w.resolution_sum_s),
            ),
            (
                "callpulse_queue_ticket_resolution_avg_seconds",
                w.resolution_avg_s,
            ),
            (
                "callpulse_queue_ticket_resolution_p90_seconds",
                w.resolution_p90_s,
            ),
            ("callpulse_queue_tickets_reopened", count(w.reopened)),
            ("callpulse_queue_ticket_reopen_ratio", w.reopen_rate),
        ] {
            out.maybe(name, &l, value);
        }
    }
}

fn window_families(queue: &str, w: &WindowMetrics, out: &mut Families) {
    let l = [("queue", queue), ("window", w.window.as_str())];
    out.gauge("callpulse_queue_offered_calls", &l, w.offered as f64);
    out.gauge("callpulse_queue_answered_calls", &l, w.answered as f64);
    out.gauge("callpulse_queue_abandoned_calls", &l, w.abandoned as f64);
    out.gauge(
        "callpulse_queue_short_abandoned_calls",
        &l,
        w.short_abandoned as f64,
    );
    for (threshold, n) in &w.answered_within {
        let label = threshold.to_string();
        let lt = [l[0], l[1], ("threshold_seconds", label.as_str())];
        out.gauge(
            "callpulse_queue_answered_within_threshold_calls",
            &lt,
            *n as f64,
        );
        let ratio = w.service_level.get(threshold).copied().flatten();
        out.maybe("callpulse_queue_service_level_ratio", &lt, ratio);
    }
    out.gauge(
        "callpulse_queue_sl_denominator_calls",
        &l,
        w.sl_denominator as f64,
    );
    out.maybe("callpulse_queue_abandon_ratio", &l, w.abandon_rate);
    out.gauge("callpulse_queue_answer_wait_seconds", &l, w.wait_sum_s);
    out.maybe("callpulse_queue_asa_seconds", &l, w.asa_s);
    for (percentile, value) in [
        ("50", w.wait_p50_s),
        ("90", w.wait_p90_s),
        ("99", w.wait_p99_s),
    ] {
        out.maybe(
            "callpulse_queue_wait_percentile_seconds",
            &[l[0], l[1], ("percentile", percentile)],
            value,
        );
    }
    out.maybe("callpulse_queue_wait_max_seconds", &l, w.wait_max_s);
    out.gauge("callpulse_queue_completed_calls", &l, w.completed as f64);
    out.gauge("callpulse_queue_handle_seconds", &l, w.handle_sum_s);
    out.maybe("callpulse_queue_aht_seconds", &l, w.aht_s);
    for (part, value) in [
        ("talk", w.talk_sum_s),
        ("hold", w.hold_sum_s),
        ("acw", w.acw_sum_s),
    ] {
        out.gauge(
            "callpulse_queue_handle_part_seconds",
            &[l[0], l[1], ("part", part)],
            value,
        );
    }
    out.gauge("callpulse_queue_held_calls", &l, w.held_calls as f64);
    out.maybe(
        "callpulse_queue_abandon_wait_avg_seconds",
        &l,
        w.avg_abandon_s,
    );
    out.maybe(
        "callpulse_queue_resolved_reported_ratio",
        &l,
        w.resolved_reported_ratio,
    );
    out.gauge(
        "callpulse_queue_csat_responses",
        &l,
        w.csat_responses as f64,
    );
    out.gauge(
        "callpulse_queue_csat_positive_responses",
        &l,
        w.csat_positive as f64,
    );
    out.maybe("callpulse_queue_csat_ratio", &l, w.csat);
}
