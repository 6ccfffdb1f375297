//! Ticket families: the backlog now and per sliding window. Counts and sums are always
//! present for a queue with tickets; averages, percentiles and ratios only with a
//! denominator.

use callpulse_core::{Snapshot, TicketLive, TicketWindow};
use prometheus::proto::MetricType::*;

use super::{Family, Out, Q, QW, count};

/// For every queue with tickets: `f(live)`, labelled `queue`.
fn per_queue(s: &Snapshot, o: &mut Out, f: impl Fn(&TicketLive) -> u64) {
    for q in &s.queues {
        if let Some(t) = &q.tickets {
            o.put(&[("queue", &q.queue)], f(&t.live) as f64);
        }
    }
}

/// For every queue with tickets and every window: `f(window)`, labelled `queue`, `window`.
fn per_window(s: &Snapshot, o: &mut Out, f: impl Fn(&TicketWindow) -> Option<f64>) {
    for q in &s.queues {
        for w in q.tickets.iter().flat_map(|t| &t.windows) {
            o.maybe(&[("queue", &q.queue), ("window", &w.window)], f(w));
        }
    }
}

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_queue_tickets_open",
        help: "Open tickets (created or reopened, not resolved), now.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |t| t.backlog),
    },
    Family {
        name: "callpulse_queue_tickets_awaiting_first_response",
        help: "Open tickets with no first response yet, now.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |t| t.awaiting_first_response),
    },
    Family {
        name: "callpulse_queue_tickets_at_risk",
        help: "Tickets with no first response past the at-risk share of their target, not yet past it, now.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |t| t.at_risk),
    },
    Family {
        name: "callpulse_queue_tickets_overdue",
        help: "Tickets with no first response past their target, now.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| per_queue(s, o, |t| t.breached),
    },
    Family {
        name: "callpulse_queue_tickets_created",
        help: "Tickets created in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.created)),
    },
    Family {
        name: "callpulse_queue_ticket_first_responses",
        help: "First responses in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.first_responses)),
    },
    Family {
        name: "callpulse_queue_ticket_first_response_seconds",
        help: "Sum of first response times in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| Some(w.first_response_sum_s)),
    },
    Family {
        name: "callpulse_queue_ticket_first_response_avg_seconds",
        help: "Mean first response time in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.first_response_avg_s),
    },
    Family {
        name: "callpulse_queue_ticket_first_response_p90_seconds",
        help: "90th percentile first response time in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.first_response_p90_s),
    },
    Family {
        name: "callpulse_queue_ticket_first_response_breaches",
        help: "First responses later than their target in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.first_response_breaches)),
    },
    Family {
        name: "callpulse_queue_tickets_resolved",
        help: "Tickets resolved in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.resolved)),
    },
    Family {
        name: "callpulse_queue_ticket_resolution_seconds",
        help: "Sum of creation-to-resolution times of tickets resolved in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| Some(w.resolution_sum_s)),
    },
    Family {
        name: "callpulse_queue_ticket_resolution_avg_seconds",
        help: "Mean resolution time in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.resolution_avg_s),
    },
    Family {
        name: "callpulse_queue_ticket_resolution_p90_seconds",
        help: "90th percentile resolution time in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.resolution_p90_s),
    },
    Family {
        name: "callpulse_queue_tickets_reopened",
        help: "Tickets reopened in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| count(w.reopened)),
    },
    Family {
        name: "callpulse_queue_ticket_reopen_ratio",
        help: "Reopened / resolved in the window.",
        kind: GAUGE,
        labels: QW,
        emit: |s, o| per_window(s, o, |w| w.reopen_rate),
    },
];
