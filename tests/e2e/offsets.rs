//! At-least-once without re-reading: offsets are stored after apply as the message's own
//! offset (librdkafka commits offset + 1), committed on shutdown, and a restarted consumer
//! in the same group starts exactly after the last applied message.

use std::time::Duration;

use callpulse_e2e::{Engine, eventually, mock_cluster, produce_queued_calls, test_config};

async fn consumed_settles_at(engine: &Engine, expected: f64) {
    let seq = eventually(Duration::from_secs(60), "messages consumed", || async {
        let m = engine.metrics().await;
        (m.sum("callpulse_events_consumed_total") >= expected)
            .then(|| m.value("callpulse_snapshot_seq", &[]))
    })
    .await;
    // A few more ticks: nothing beyond the expected messages arrives.
    let m = eventually(Duration::from_secs(10), "three more snapshots", || async {
        let m = engine.metrics().await;
        (m.value("callpulse_snapshot_seq", &[]) >= seq + 3.0).then_some(m)
    })
    .await;
    assert_eq!(m.sum("callpulse_events_consumed_total"), expected);
    assert_eq!(
        m.value("callpulse_calls_offered_total", &[("queue", "q")]),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_after_the_last_applied_message() {
    let mock = mock_cluster(2);
    let brokers = mock.bootstrap_servers();
    produce_queued_calls(&brokers, "restart", 0..10);
    let first = Engine::start(test_config(&brokers, "restart")).await;
    consumed_settles_at(&first, 10.0).await;
    first.stop().await;
    produce_queued_calls(&brokers, "restart", 10..15);
    let second = Engine::start(test_config(&brokers, "restart")).await;
    consumed_settles_at(&second, 5.0).await;
    second.stop().await;
}
