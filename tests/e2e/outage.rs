//! The broker goes away: the engine keeps serving its last figures, says how long the
//! cluster has been silent (`callpulse_broker_contact_age_seconds`, the snapshot's
//! `broker_contact_age_s`) and how old each partition's figures are (`engine.sources`),
//! and `/readyz` turns 503 once the silence passes 30 s, saying why.

use std::time::Duration;

use callpulse_e2e::{Engine, Tansu, eventually, produce_queued_calls, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_cluster_is_shown_and_makes_the_instance_unready() {
    let tansu = Tansu::start_with_topics(2).await;
    produce_queued_calls(&tansu.brokers, "outage", 0..5);
    let engine = Engine::start(test_config(&tansu.brokers, "outage")).await;
    // Ready, with the events in a published snapshot (the consumed counter is live, the
    // snapshot follows at the next tick).
    let m = eventually(Duration::from_secs(60), "ready, with events", || async {
        let (status, _) = engine.get("/readyz").await;
        let m = engine.metrics().await;
        (status == 200 && m.get("callpulse_last_message_age_seconds", &[]).is_some()).then_some(m)
    })
    .await;
    assert!(m.value("callpulse_broker_contact_age_seconds", &[]) < 5.0);

    drop(tansu); // killed
    let body = eventually(
        Duration::from_secs(90),
        "unready, broker silent",
        || async {
            let (status, body) = engine.get("/readyz").await;
            (status == 503).then_some(body)
        },
    )
    .await;
    let ready: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(ready["broker_reachable"], false, "{ready}");
    assert!(
        ready["broker_contact_age_s"].as_f64() > Some(30.0),
        "{ready}"
    );
    // Still serving, and saying how stale it is.
    let m = engine.metrics().await;
    assert!(m.value("callpulse_broker_contact_age_seconds", &[]) > 30.0);
    let snapshot = engine.snapshot().await;
    assert!(snapshot["engine"]["broker_contact_age_s"].as_f64() > Some(30.0));
    // The session timed out long ago, so the partitions are gone from this instance, but
    // the figures stay: the last parts it shared, each marked with its age.
    assert_eq!(
        snapshot["engine"]["partitions"], 0,
        "{}",
        snapshot["engine"]
    );
    let offered = snapshot["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["queue"] == "q"))
        .map(|q| q["totals"]["offered"].clone());
    assert_eq!(offered, Some(serde_json::json!(5)), "{snapshot}");
    let sources = snapshot["engine"]["sources"].as_array().expect("sources");
    assert!(!sources.is_empty());
    // Published until the session timed out (10 s into the silence), not since.
    assert!(
        sources
            .iter()
            .all(|s| s["here"] == false && s["age_s"].as_f64() > Some(5.0)),
        "{sources:?}"
    );
    // The gauge the stalled-events alert watches is still there.
    assert!(
        m.get("callpulse_last_event_timestamp_seconds", &[])
            .is_some()
    );
    engine.shutdown.cancel();
}
