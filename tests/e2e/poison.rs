//! Hostile input mixed into good traffic: invalid UTF-8, truncated JSON, payloads at and
//! over the size limit, 100,000-deep nesting, wrong types, NaN and huge numbers, years 1970
//! and 9999, and tens of thousands of distinct queue and agent ids. Every good event is
//! counted, every bad message is counted by reason and copied to the dead-letter topic, the
//! engine keeps serving, a configured queue is still admitted after the junk filled the
//! name caps, an unconfigured one too once the junk has been idle for `name_idle_secs`
//! (event time), and the process's memory stays under a stated bound.
//!
//! The 1,000,000-name variant, with the engine as a process of its own on a tansu broker,
//! is the `poison` benchmark (`benches/src/poison.rs`).

use std::time::Duration;

use callpulse_e2e::poison::{event, hostile, nested};
use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
use callpulse_sim::{EventProducer, SimTopics};

/// Distinct junk queue ids and agent ids sent (each a valid event of a new name).
const JUNK_NAMES: u32 = 20_000;
/// Good calls, queued in the configured queue `care`, spread through the junk.
const GOOD: u32 = 400;
/// The test process may grow by at most this much while the engine takes all of it.
const RSS_BOUND_MB: u64 = 400;

fn rss_mb() -> u64 {
    callpulse_e2e::rss_bytes() / (1024 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_dead_lettered_and_good_ones_all_counted() {
    let mock = mock_cluster(2);
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "poison");
    config
        .metrics
        .queues
        .insert("care".into(), config.metrics.default_queue.clone());
    // Room for 100,000-deep nesting to reach the parser rather than the size check.
    config.ingest.max_payload_bytes = 256 * 1024;
    let max_bytes = config.ingest.max_payload_bytes;
    let max_queues = config.metrics.max_queues;
    let config_labels = config.export.max_unconfigured_labels;
    // The junk (and the good calls among it) three hours back: idle by the time the
    // fresh queue comes, at the current time.
    let idle_ms = i64::from(config.metrics.name_idle_secs) * 1000;
    let ts = wall_now().plus_millis(-idle_ms - 3_600_000).to_rfc3339();
    let hostile = hostile(&ts, max_bytes);
    // What the decoder itself says about each, before they go through Kafka.
    let limits = config.ingest.decode_limits();
    let wrong: Vec<String> = hostile
        .iter()
        .filter_map(|(payload, reason)| {
            let got = callpulse_events::decode(payload, wall_now(), &limits)
                .map(|_| "accepted")
                .unwrap_or_else(|r| r.reason());
            (got != *reason).then(|| {
                format!(
                    "{got} (want {reason}): {}",
                    String::from_utf8_lossy(&payload[..payload.len().min(100)])
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // 100,000-deep nesting in a field the contract does not know is skipped without
    // recursion (unknown fields are allowed, for newer producers): the event is good.
    assert!(callpulse_events::decode(nested(&ts, "extra").as_bytes(), wall_now(), &limits).is_ok());
    let producer = EventProducer::new(
        &brokers,
        &Default::default(),
        SimTopics::new("calls", "agents", "tickets", "surveys"),
    )
    .expect("producer");
    // A good event exactly at the size limit (padded with JSON whitespace) is accepted.
    let mut at_limit = event(
        "call_queued",
        "good-at-limit",
        &ts,
        r#""call_id":"g-limit","queue":"care""#,
    )
    .into_bytes();
    at_limit.resize(max_bytes, b' ');
    producer
        .send_raw("calls", "g-limit", &at_limit)
        .expect("send");
    let mut sent_good = 1;
    for i in 0..JUNK_NAMES {
        producer
            .send_raw(
                "calls",
                &format!("j{i}"),
                event(
                    "call_queued",
                    &format!("jq{i}"),
                    &ts,
                    &format!(r#""call_id":"j{i}","queue":"junk-{i}""#),
                )
                .as_bytes(),
            )
            .expect("send");
        producer
            .send_raw(
                "agents",
                &format!("ja{i}"),
                event(
                    "agent_state",
                    &format!("ja{i}"),
                    &ts,
                    &format!(
                        r#""agent_id":"junk-agent-{i}","team":"junk-team-{}","state":"available""#,
                        i % 8
                    ),
                )
                .as_bytes(),
            )
            .expect("send");
        if i % (JUNK_NAMES / GOOD) == 0 {
            let n = i / (JUNK_NAMES / GOOD);
            producer
                .send_raw(
                    "calls",
                    &format!("g{n}"),
                    event(
                        "call_queued",
                        &format!("good-{n}"),
                        &ts,
                        &format!(r#""call_id":"g{n}","queue":"care""#),
                    )
                    .as_bytes(),
                )
                .expect("send");
            sent_good += 1;
        }
        if i % (JUNK_NAMES / 10) == 0 {
            for (payload, _) in &hostile {
                producer.send_raw("calls", "h", payload).expect("send");
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let rss_before = rss_mb();
    let engine = Engine::start(config).await;
    let total = f64::from(2 * JUNK_NAMES) + f64::from(sent_good) + 10.0 * hostile.len() as f64;
    eventually(
        Duration::from_secs(120),
        "every message consumed",
        || async {
            let m = engine.metrics().await;
            (m.sum("callpulse_events_consumed_total") == total).then_some(())
        },
    )
    .await;
    let m = eventually(
        Duration::from_secs(30),
        "every good call counted",
        || async {
            let m = engine.metrics().await;
            let all = m.get("callpulse_calls_offered_total", &[("queue", "care")])
                == Some(f64::from(sent_good));
            let dead = m
                .get("callpulse_dead_letters_total", &[("outcome", "sent")])
                .unwrap_or(0.0);
            (all && dead == m.sum("callpulse_events_rejected_total")).then_some(m)
        },
    )
    .await;
    // Each hostile kind, ten times, under its reason.
    for (_, reason) in &hostile {
        let want = 10.0 * hostile.iter().filter(|(_, r)| r == reason).count() as f64;
        assert_eq!(
            m.value("callpulse_events_rejected_total", &[("reason", reason)]),
            want,
            "{reason}"
        );
    }
    // Junk names: admitted up to the caps, the rest rejected as too many names; either
    // way every one is accounted for, and the configured queue was admitted throughout.
    let too_many = m.value(
        "callpulse_events_rejected_total",
        &[("reason", "too_many_names")],
    );
    assert!(too_many > 0.0, "the caps were reached");
    let rejected = m.sum("callpulse_events_rejected_total");
    assert_eq!(
        m.value("callpulse_dead_letters_total", &[("outcome", "sent")]),
        rejected,
        "every rejected message is in the dead-letter topic"
    );
    // A queue the configuration does not name, now: the junk has been idle long enough
    // for one junk queue to make room for it in its partition.
    let now = wall_now().plus_millis(-1_000).to_rfc3339();
    producer
        .send_raw(
            "calls",
            "fresh",
            event(
                "call_queued",
                "fresh-1",
                &now,
                r#""call_id":"fresh","queue":"fresh""#,
            )
            .as_bytes(),
        )
        .expect("send");
    producer.flush(Duration::from_secs(30)).expect("flush");
    eventually(
        Duration::from_secs(30),
        "the fresh queue admitted",
        || async {
            let snapshot = engine.snapshot().await;
            let fresh = snapshot["queues"].as_array().and_then(|queues| {
                queues
                    .iter()
                    .find(|q| q["queue"] == "fresh")
                    .map(|q| q["totals"]["offered"].clone())
            });
            (fresh == Some(serde_json::json!(1))).then_some(())
        },
    )
    .await;
    let m = engine.metrics().await;
    assert!(
        m.value(
            "callpulse_events_anomalies_total",
            &[("kind", "queue_evicted")]
        ) >= 1.0,
        "a junk queue made room"
    );
    // Its waiting junk call went with it.
    assert!(
        m.value(
            "callpulse_events_anomalies_total",
            &[("kind", "call_evicted")]
        ) >= 1.0
    );
    // Still serving, and the exported series stay bounded by the caps.
    let (status, _) = engine.get("/healthz").await;
    assert_eq!(status, 200);
    let queues = engine.snapshot().await["queues"]
        .as_array()
        .map_or(0, Vec::len);
    // The cap holds per partition (two partitions of `calls`), and so does the list of
    // evicted queues' totals.
    assert!(queues <= 2 * (2 * max_queues) + 1, "{queues} queues");
    // `/metrics` has series for the configured queue and the first unconfigured ones only;
    // the others (the fresh one among them: the junk came first) are counted as withheld.
    let labelled: std::collections::BTreeSet<&str> = m
        .series
        .keys()
        .filter(|k| k.starts_with("callpulse_calls_offered_total{"))
        .map(String::as_str)
        .collect();
    let cap = config_labels;
    assert_eq!(labelled.len(), cap + 1, "{labelled:?}");
    assert!(labelled.contains(r#"callpulse_calls_offered_total{queue="care"}"#));
    assert_eq!(
        m.value(
            "callpulse_prometheus_labels_withheld",
            &[("label", "queue")]
        ),
        (queues - cap - 1) as f64
    );
    let grown = rss_mb().saturating_sub(rss_before);
    assert!(
        grown < RSS_BOUND_MB,
        "RSS grew by {grown} MB over {total} messages, {rejected} rejected"
    );
    engine.stop().await;
}
