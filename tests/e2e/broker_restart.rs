//! The broker restarts mid-stream (tansu on SQLite, so its records, offsets and the
//! checkpoint topic survive): while it is down the engine keeps its last figures and says
//! how stale they are; once it is back the engine reconnects on its own, its partitions are
//! restored from their checkpoints, and the events produced after the restart are added to
//! the ones before: nothing lost, nothing counted twice.

use std::time::Duration;

use callpulse_e2e::{
    Engine, TOPICS, Tansu, eventually, free_port, produce_queued_calls, test_config,
};

fn offered(snapshot: &serde_json::Value) -> Option<u64> {
    snapshot["queues"]
        .as_array()?
        .iter()
        .find(|q| q["queue"] == "q")?["totals"]["offered"]
        .as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_broker_restarts() {
    let dir = std::env::temp_dir().join(format!("callpulse-durable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("tansu.db");
    let _ = std::fs::remove_file(&db);
    let port = free_port();
    let tansu = Tansu::start_durable(&db, port).await;
    let brokers = tansu.brokers.clone();
    callpulse_sim::ensure_topics(&brokers, &Default::default(), &TOPICS, 2)
        .await
        .expect("topics");
    produce_queued_calls(&brokers, "before", 0..200);
    let engine = Engine::start(test_config(&brokers, "restart-broker")).await;
    eventually(Duration::from_secs(90), "the first 200 calls", || async {
        (offered(&engine.snapshot().await) == Some(200)).then_some(())
    })
    .await;
    // Long enough for a checkpoint of every partition (test_config: every second).
    tokio::time::sleep(Duration::from_secs(3)).await;

    drop(tansu); // killed; its file stays
    let stale = eventually(
        Duration::from_secs(60),
        "the partitions revoked, the figures kept and marked stale",
        || async {
            let s = engine.snapshot().await;
            let engine_view = &s["engine"];
            (engine_view["partitions"] == 0
                && engine_view["broker_contact_age_s"].as_f64() > Some(10.0))
            .then_some(s)
        },
    )
    .await;
    assert_eq!(offered(&stale), Some(200), "{}", stale["engine"]);

    let tansu = Tansu::start_durable(&db, port).await;
    produce_queued_calls(&tansu.brokers, "after", 200..400);
    let back = eventually(Duration::from_secs(120), "all 400 calls, once", || async {
        let s = engine.snapshot().await;
        (offered(&s) == Some(400) && s["engine"]["partitions"].as_u64() > Some(0)).then_some(s)
    })
    .await;
    assert!(
        back["engine"]["broker_contact_age_s"].as_f64() < Some(5.0),
        "{}",
        back["engine"]
    );
    // A few more ticks: nothing arrives a second time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(offered(&engine.snapshot().await), Some(400));
    // The process applied all 400 itself: its counter says so, restored history aside.
    let m = engine.metrics().await;
    assert_eq!(
        m.value("callpulse_calls_offered_total", &[("queue", "q")]),
        400.0
    );
    engine.stop().await;
    drop(tansu);
    let _ = std::fs::remove_dir_all(&dir);
}
