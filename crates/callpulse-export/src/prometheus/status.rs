//! Queue status families: each queue's checks judged against its own limits (the same
//! [`callpulse_core::QueueStatus`] the wallboard colours by and the feed's alert events
//! report), and the limits themselves, so alert rules hold no per-queue number.

use prometheus::proto::MetricType::GAUGE;

use super::{Family, Q};

const QC: &[&str] = &["queue", "check"];
const QCL: &[&str] = &["queue", "check", "level"];

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_queue_open",
        help: "1 within the queue's opening hours (metrics.queues.NAME.opening_hours; always without them), else 0: business alert rules are gated by it.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| o.per_queue(s, |q| Some(if q.open { 1.0 } else { 0.0 })),
    },
    Family {
        name: "callpulse_queue_status",
        help: "The queue's worst check: 0 ok, 1 quiet (too few calls to judge), 2 at risk, 3 breach.",
        kind: GAUGE,
        labels: Q,
        emit: |s, o| o.per_queue(s, |q| Some(f64::from(q.status.level.severity()))),
    },
    Family {
        name: "callpulse_queue_check_status",
        help: "One check of the queue (service_level, longest_wait, abandon_rate, tickets_overdue): 0 ok, 1 quiet, 2 at risk, 3 breach.",
        kind: GAUGE,
        labels: QC,
        emit: |s, o| {
            for q in &s.queues {
                for c in &q.status.checks {
                    o.put(
                        &[("queue", &q.queue), ("check", c.check)],
                        f64::from(c.level.severity()),
                    );
                }
            }
        },
    },
    Family {
        name: "callpulse_queue_check_limit",
        help: "The limit a check is judged against (level at_risk or breach): the service level's is a floor, the others a ceiling.",
        kind: GAUGE,
        labels: QCL,
        emit: |s, o| {
            for q in &s.queues {
                for c in &q.status.checks {
                    for (level, limit) in [("at_risk", c.at_risk), ("breach", c.breach)] {
                        o.put(
                            &[("queue", &q.queue), ("check", c.check), ("level", level)],
                            limit,
                        );
                    }
                }
            }
        },
    },
];
