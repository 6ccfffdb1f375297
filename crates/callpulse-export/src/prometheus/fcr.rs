//! First contact resolution families (repeat-contact method, docs/metrics.md).

use callpulse_core::{FcrView, FcrWindow, Snapshot};
use prometheus::proto::MetricType::*;

use super::{Family, Out, Q, QW, count};

/// For every queue with FCR figures: `f(view)`, labelled `queue`.
fn per_queue(s: &Snapshot, o: &mut Out, f: impl Fn(&FcrView) -> Option<f64>) {
    for q in &s.queues {
        if let Some(fcr) = &q.fcr {
            o.maybe(&[("queue", &q.queue)], f(fcr));
        }
    }
}

/// For every queue with FCR figures and every window: `f(window)`.
fn per_window(s: &Snapshot, o: &mut Out, f: impl Fn(&FcrWindow) -> Option<f64>) {
    for q in &s.queues {
        for w in q.fcr.iter().flat_map(|f| &f.windows) {
            o.maybe(&[("queue", &q.queue), ("window", &w.window)], f(w));
        }
    }
}

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_queue_fcr_eligible_contacts",
        help: "Completed contacts whose FCR outcome became known in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.eligible)),
    },
    Family {
        name: "callpulse_queue_fcr_resolved_contacts",
        help: "Of those, resolved first time (no further contact within the FCR window).",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.success)),
    },
    Family {
        name: "callpulse_queue_fcr_ratio",
        help: "First contact resolution in the window: resolved / eligible.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.fcr),
    },
    Family {
        name: "callpulse_queue_fcr_pending_contacts",
        help: "Completed contacts whose FCR window is still open, no repeat contact yet.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |f| count(f.pending)),
    },
    Family {
        name: "callpulse_queue_fcr_provisional_ratio",
        help: "(resolved + pending) / (eligible + pending) since start: FCR if no pending customer calls back.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |f| f.provisional),
    },
    Family {
        name: "callpulse_fcr_eligible_total",
        help: "Completed contacts whose FCR outcome this process settled (restored history left out).",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| per_queue(s, o, |f| count(f.counted.eligible)),
    },
    Family {
        name: "callpulse_fcr_resolved_total",
        help: "Completed contacts resolved first time.",
        kind: COUNTER,
        labels: Q,
        emit: |s, o| per_queue(s, o, |f| count(f.counted.success)),
    },
    Family {
        name: "callpulse_fcr_customers",
        help: "Customers the FCR trackers of this instance's repartition-topic partitions remember now.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.engine.fcr_customers as f64),
    },
];
