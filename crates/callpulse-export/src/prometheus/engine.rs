//! The engine's own families that come from the snapshot (those from live telemetry, such
//! as consumption and lag, are registered by the ingest and export crates).

use prometheus::proto::MetricType::*;

use super::Family;

pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "callpulse_events_applied_total",
        help: "Events applied, by outcome (counted, late, parked, ignored).",
        kind: COUNTER,
        labels: &["outcome"],
        emit: |s, o| {
            let c = &s.engine.counted_here();
            for (outcome, n) in [
                ("counted", c.applied),
                ("late", c.late),
                ("parked", c.parked),
                ("ignored", c.ignored),
            ] {
                o.put(&[("outcome", outcome)], n as f64);
            }
        },
    },
    Family {
        name: "callpulse_events_anomalies_total",
        help: "Bookkeeping anomalies, by kind (orphaned, stale_waiting, clock_skew, dedupe_evicted, ticket_evicted, fcr_evicted, agent_evicted, call_evicted, fcr_untracked, agent_calls_untracked, fcr_facts_dropped, queue_evicted, team_evicted).",
        kind: COUNTER,
        labels: &["kind"],
        emit: |s, o| {
            let c = &s.engine.counted_here();
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
                ("queue_evicted", c.queue_evicted),
                ("team_evicted", c.team_evicted),
            ] {
                o.put(&[("kind", kind)], n as f64);
            }
        },
    },
    Family {
        name: "callpulse_broker_contact_age_seconds",
        help: "Seconds since the Kafka cluster was last heard from (a broker up in the client statistics, or a message); absent before the first contact.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.maybe(&[], s.engine.broker_contact_age_s),
    },
    Family {
        name: "callpulse_last_message_age_seconds",
        help: "Seconds since the last Kafka message was received (wall time); absent before the first.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.maybe(&[], s.engine.last_message_age_s),
    },
    Family {
        name: "callpulse_last_event_timestamp_seconds",
        help: "Event time of the newest event applied.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.maybe(&[], s.engine.last_event_ms.map(|ms| ms as f64 / 1000.0)),
    },
    Family {
        name: "callpulse_snapshot_seq",
        help: "Sequence number of the snapshot this scrape reads.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.seq as f64),
    },
    Family {
        name: "callpulse_snapshot_timestamp_seconds",
        help: "The instant this scrape's figures are read at: the instance watermark (the wall clock when caught up).",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.at_ms as f64 / 1000.0),
    },
    Family {
        name: "callpulse_watermark_delay_seconds",
        help: "How far the figures' instant is behind the wall clock (0 when caught up; the backlog's age while catching up).",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], (s.engine.wall_ms - s.at_ms).max(0) as f64 / 1000.0),
    },
    Family {
        name: "callpulse_snapshot_stale_partitions",
        help: "Partitions whose snapshot missed the publishing tick, so their windows end earlier.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.engine.stale_partitions as f64),
    },
    Family {
        name: "callpulse_shared_remote_partitions",
        help: "Partitions other instances own whose figures (from the snapshot topic) the API, feed and wallboard of this instance merge in; /metrics never exports them.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.engine.remote_partitions as f64),
    },
    Family {
        name: "callpulse_shared_oldest_part_age_seconds",
        help: "Seconds since the oldest of those partitions' figures was published by its owner; 0 when none is merged.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.engine.oldest_remote_age_s.unwrap_or(0.0)),
    },
    Family {
        name: "callpulse_prometheus_labels_withheld",
        help: "Queues (label=\"queue\") and teams (label=\"team\") of this instance with no series here: past export.max_unconfigured_labels names the configuration does not name (the API and the feed show them).",
        kind: GAUGE,
        labels: &["label"],
        emit: |s, o| {
            o.put(&[("label", "queue")], s.engine.queues_withheld as f64);
            o.put(&[("label", "team")], s.engine.teams_withheld as f64);
        },
    },
    Family {
        name: "callpulse_build_info",
        help: "Always 1; the running build's version in the label.",
        kind: GAUGE,
        labels: &["version"],
        emit: |_, o| o.put(&[("version", env!("CARGO_PKG_VERSION"))], 1.0),
    },
    Family {
        name: "callpulse_owned_partitions",
        help: "Kafka partitions whose state this instance publishes.",
        kind: GAUGE,
        labels: &[],
        emit: |s, o| o.put(&[], s.engine.partitions as f64),
    },
];
