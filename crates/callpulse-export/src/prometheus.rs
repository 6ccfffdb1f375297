//! `/metrics`: the business metrics, built from the latest snapshot at scrape time.
//!
//! Nothing is pushed into gauges as events arrive; a scrape reads one `Arc<Published>`, so
//! every series in one scrape comes from one snapshot `seq`. Windowed figures are gauges with
//! a `window` label; lifetime figures are `_total` counters (never decreasing, see
//! `Retired`) and a wait histogram whose buckets fall on each queue's SL thresholds.
//! Numerators and denominators are exported next to every ratio, so `sum()` across queues
//! and instances stays correct. No per-agent label exists: agent detail is on the API.
//!
//! **Each family is declared once**, as one [`Family`] row: its name, help, type, labels
//! and the function that reads its values from a snapshot. The descriptors, the scrape and
//! the checks against `docs/metrics.md` all come from the rows, one table per topic:
//! `calls.rs` (queue call figures), `status.rs` (queue checks), `tickets.rs`, `fcr.rs`, `agents.rs` (teams), `engine.rs`.

mod adherence;
mod agents;
mod calls;
mod engine;
mod fcr;
mod groups;
mod labels;
mod plan;
mod status;
mod tickets;

use std::collections::HashMap;
use std::sync::Arc;

use callpulse_core::{QueueView, Snapshot, WindowMetrics};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

use crate::Latest;
pub use labels::LabelCap;

const QW: &[&str] = &["queue", "window"];
const Q: &[&str] = &["queue"];

/// One metric family: everything about it, in one place.
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: MetricType,
    /// Label names, in the order `emit` gives their values.
    pub(crate) labels: &'static [&'static str],
    /// Reads the family's series from a snapshot.
    pub(crate) emit: fn(&Snapshot, &mut Out),
}

/// Every family, topic by topic.
pub(crate) fn families() -> impl Iterator<Item = &'static Family> {
    [
        calls::FAMILIES,
        status::FAMILIES,
        tickets::FAMILIES,
        fcr::FAMILIES,
        agents::FAMILIES,
        adherence::FAMILIES,
        groups::FAMILIES,
        plan::FAMILIES,
        engine::FAMILIES,
    ]
    .into_iter()
    .flatten()
}

/// The series of one family being scraped.
pub(crate) struct Out {
    kind: MetricType,
    metrics: Vec<Metric>,
}

impl Out {
    fn labelled(labels: &[(&str, &str)], mut metric: Metric) -> Metric {
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
        metric
    }

    /// One series: a gauge or a counter, as the family is declared.
    pub(crate) fn put(&mut self, labels: &[(&str, &str)], value: f64) {
        let mut metric = Metric::default();
        if self.kind == MetricType::COUNTER {
            let mut counter = Counter::default();
            counter.set_value(value);
            metric.set_counter(counter);
        } else {
            let mut gauge = Gauge::default();
            gauge.set_value(value);
            metric.set_gauge(gauge);
        }
        self.metrics.push(Out::labelled(labels, metric));
    }

    /// A series that is absent (rather than NaN) when its denominator was zero.
    pub(crate) fn maybe(&mut self, labels: &[(&str, &str)], value: Option<f64>) {
        if let Some(value) = value {
            self.put(labels, value);
        }
    }

    /// A series built by the caller (histograms).
    pub(crate) fn metric(&mut self, labels: &[(&str, &str)], metric: Metric) {
        self.metrics.push(Out::labelled(labels, metric));
    }

    /// For every queue: `f(queue)`, labelled `queue`.
    pub(crate) fn per_queue(&mut self, s: &Snapshot, f: impl Fn(&QueueView) -> Option<f64>) {
        for q in &s.queues {
            self.maybe(&[("queue", &q.queue)], f(q));
        }
    }

    /// For every queue taking calls: `f(queue)`, labelled `queue`.
    pub(crate) fn per_call_queue(&mut self, s: &Snapshot, f: impl Fn(&QueueView) -> Option<f64>) {
        for q in s.queues.iter().filter(|q| q.takes_calls()) {
            self.maybe(&[("queue", &q.queue)], f(q));
        }
    }

    /// For every queue taking calls, and each call window: `f(window)`, labelled `queue`,
    /// `window`.
    pub(crate) fn per_window(&mut self, s: &Snapshot, f: impl Fn(&WindowMetrics) -> Option<f64>) {
        for q in s.queues.iter().filter(|q| q.takes_calls()) {
            for w in &q.windows {
                self.maybe(&[("queue", &q.queue), ("window", &w.window)], f(w));
            }
        }
    }

    /// For every queue and call window, one series per `(label value, value)` of `f`,
    /// labelled `queue`, `window`, `label`.
    pub(crate) fn per_window_by(
        &mut self,
        s: &Snapshot,
        label: &str,
        f: impl Fn(&WindowMetrics) -> Vec<(String, Option<f64>)>,
    ) {
        for q in s.queues.iter().filter(|q| q.takes_calls()) {
            for w in &q.windows {
                for (value_label, value) in f(w) {
                    self.maybe(
                        &[
                            ("queue", &q.queue),
                            ("window", &w.window),
                            (label, &value_label),
                        ],
                        value,
                    );
                }
            }
        }
    }
}

/// Counts as series values.
pub(crate) fn count(n: u64) -> Option<f64> {
    Some(n as f64)
}

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
    /// Only if a family definition were invalid (a programming error caught by tests).
    pub fn new(latest: Arc<Latest>) -> Result<Self, prometheus::Error> {
        let descs = families()
            .map(|f| {
                Desc::new(
                    f.name.to_owned(),
                    f.help.to_owned(),
                    f.labels.iter().map(|l| (*l).to_owned()).collect(),
                    HashMap::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(SnapshotCollector { latest, descs })
    }
}

/// Every family's series for `snap`; families without a series are left out.
fn scrape(snap: &Snapshot) -> Vec<MetricFamily> {
    families()
        .filter_map(|f| {
            let mut out = Out {
                kind: f.kind,
                metrics: Vec::new(),
            };
            (f.emit)(snap, &mut out);
            if out.metrics.is_empty() {
                return None;
            }
            let mut family = MetricFamily::default();
            family.set_name(f.name.to_owned());
            family.set_help(f.help.to_owned());
            family.set_field_type(f.kind);
            family.set_metric(out.metrics);
            Some(family)
        })
        .collect()
}

impl Collector for SnapshotCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        scrape(self.latest.load().own())
    }
}

/// A partition that applied the JSON events `lines`, decoded at `now` (for tests).
#[cfg(test)]
pub(crate) fn applied<L: AsRef<str>>(
    policy: &Arc<callpulse_core::MetricsPolicy>,
    lines: impl IntoIterator<Item = L>,
    now: callpulse_core::Ts,
) -> callpulse_core::PartitionState {
    let mut part = callpulse_core::PartitionState::new(Arc::clone(policy));
    for line in lines {
        let env = callpulse_events::decode(
            line.as_ref().as_bytes(),
            now,
            &callpulse_events::DecodeLimits::default(),
        )
        .expect("valid");
        part.apply(&env).expect("applied");
    }
    part
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use callpulse_core::{MetricsPolicy, Retired, Ts};
    use prometheus::proto::MetricFamily;

    use super::*;

    const DOCS: &str = include_str!("../../../docs/metrics.md");

    #[test]
    fn every_family_is_documented_once_and_named_once() {
        let mut seen = BTreeSet::new();
        for f in families() {
            assert!(seen.insert(f.name), "{} declared twice", f.name);
            // A row names the family first: `name` or `name{label}`.
            let row = format!("| `{}", f.name);
            assert!(
                DOCS.lines().any(|line| line
                    .strip_prefix(&row)
                    .is_some_and(|rest| rest.starts_with('`') || rest.starts_with('{'))),
                "docs/metrics.md has no row for {}",
                f.name
            );
            assert!(!f.help.is_empty(), "{} has no help", f.name);
        }
    }

    /// A snapshot in which every family has series: calls with a customer, a repeat contact,
    /// an agent with a quality evaluation, a ticket, and a queue whose team is staffed.
    fn busy_snapshot() -> Snapshot {
        let mut policy = MetricsPolicy::default();
        policy.queues.insert(
            "q".into(),
            callpulse_core::QueuePolicy {
                team: Some("t".into()),
                ..callpulse_core::QueuePolicy::default()
            },
        );
        policy.groups.insert(
            "g".into(),
            callpulse_core::policy::GroupPolicy {
                teams: vec!["t".into()],
                queues: Vec::new(),
            },
        );
        let policy = Arc::new(policy);
        let now = Ts(1_764_158_400_000);
        let lines = [
            r#"{"type":"call_queued","event_id":"1","ts":"2025-11-26T11:50:00Z","call_id":"c1","queue":"q","customer_id":"k"}"#,
            r#"{"type":"call_answered","event_id":"2","ts":"2025-11-26T11:50:10Z","call_id":"c1","queue":"q","agent_id":"a"}"#,
            r#"{"type":"call_completed","event_id":"3","ts":"2025-11-26T11:52:00Z","call_id":"c1","queue":"q","agent_id":"a","talk_ms":60000,"hold_ms":5000,"acw_ms":10000,"resolved":true}"#,
            r#"{"type":"csat_response","event_id":"4","ts":"2025-11-26T11:53:00Z","interaction_id":"c1","queue":"q","agent_id":"a","score":5,"nps":9}"#,
            r#"{"type":"call_queued","event_id":"5","ts":"2025-11-26T11:55:00Z","call_id":"c2","queue":"q","customer_id":"k"}"#,
            r#"{"type":"call_abandoned","event_id":"6","ts":"2025-11-26T11:56:00Z","call_id":"c2","queue":"q"}"#,
            r#"{"type":"call_queued","event_id":"7","ts":"2025-11-26T11:58:00Z","call_id":"c3","queue":"q"}"#,
            r#"{"type":"agent_state","event_id":"8","ts":"2025-11-26T11:40:00Z","agent_id":"a","team":"t","state":"available"}"#,
            r#"{"type":"ticket_created","event_id":"9","ts":"2025-11-26T11:45:00Z","ticket_id":"t1","queue":"q","channel":"email"}"#,
            r#"{"type":"ticket_first_response","event_id":"10","ts":"2025-11-26T11:46:00Z","ticket_id":"t1","agent_id":"a"}"#,
            r#"{"type":"ticket_resolved","event_id":"11","ts":"2025-11-26T11:47:00Z","ticket_id":"t1","agent_id":"a"}"#,
            r#"{"type":"qa_evaluation","event_id":"12","ts":"2025-11-26T11:57:00Z","evaluation_id":"v1","agent_id":"a","evaluator_id":"l","form":"f","score":8,"max_score":10}"#,
            r#"{"type":"agent_schedule","event_id":"13","ts":"2025-11-26T08:00:00Z","agent_id":"a","start":"2025-11-26T11:30:00Z","end":"2025-11-26T12:30:00Z","segments":[{"start":"2025-11-26T11:30:00Z","end":"2025-11-26T11:50:00Z","activity":"open"},{"start":"2025-11-26T11:50:00Z","end":"2025-11-26T12:10:00Z","activity":"break"}]}"#,
        ];
        let mut part = applied(&policy, lines, now);
        let mut fcr = callpulse_core::FcrTracker::for_policy(&policy);
        fcr.apply_all(part.drain_fcr_facts());
        let parts = [Arc::new(part.snapshot(now))];
        let fcr = [Arc::new(fcr.part(now, &policy))];
        // A profile for `q`: its reforecast and the team's plan against it.
        let day = serde_json::json!({
            "offered": vec![4.0; 48], "aht_s": vec![75.0; 48], "patience_s": 60.0, "days": 8
        });
        let profiles: callpulse_core::forecast::ProfileSet =
            serde_json::from_value(serde_json::json!({
                "version": callpulse_core::forecast::PROFILE_VERSION,
                "timezone": "UTC",
                "interval_secs": 1800,
                "learned_to": "2025-11-01",
                "method": { "weeks": 8, "damping": 0.1, "aht_damping_calls": 50.0 },
                "queues": { "q": vec![day; 7] },
            }))
            .expect("profiles");
        let mut snapshot = Snapshot::build(1, now, &parts, &Retired::default(), &policy)
            .with_fcr(&fcr, &Default::default())
            .with_plan(Some(&profiles), &policy);
        // What the publisher adds from the consumer: the cluster heard from, messages seen.
        snapshot.engine.broker_contact_age_s = Some(0.4);
        // What the publisher adds from the shared view: two partitions of other instances.
        snapshot.engine.remote_partitions = 2;
        snapshot.engine.oldest_remote_age_s = Some(1.5);
        snapshot.engine.last_message_age_s = Some(1.2);
        snapshot
    }

    #[test]
    fn every_family_emits_and_every_series_carries_exactly_its_declared_labels() {
        let scraped = scrape(&busy_snapshot());
        let names: BTreeSet<&str> = scraped.iter().map(MetricFamily::name).collect();
        for f in families() {
            assert!(names.contains(f.name), "{} emitted nothing", f.name);
        }
        for family in scraped {
            let declared = families()
                .find(|f| f.name == family.name())
                .expect("declared");
            for metric in family.get_metric() {
                let names: Vec<&str> = metric.get_label().iter().map(|l| l.name()).collect();
                assert_eq!(names, declared.labels, "{}", declared.name);
            }
        }
    }
}
