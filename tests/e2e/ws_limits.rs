//! Hostile or unlucky clients get clear answers: a capped number of WebSocket clients,
//! JSON 404s, and health endpoints that say what they mean.

use std::time::Duration;

use callpulse_e2e::{Engine, eventually, mock_cluster, test_config};
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_limits_and_errors() {
    let mock = mock_cluster(1);
    let mut config = test_config(&mock.bootstrap_servers(), "limits");
    config.export.ws_max_clients = 1;
    let engine = Engine::start(config).await;
    assert_eq!(engine.get("/healthz").await, (200, "ok".to_owned()));
    eventually(Duration::from_secs(60), "ready", || async {
        (engine.get("/readyz").await.0 == 200).then_some(())
    })
    .await;

    let url = format!("ws://{}/ws", engine.addr);
    let (mut first, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("first client");
    let frame = tokio::time::timeout(Duration::from_secs(10), first.next())
        .await
        .expect("frame")
        .expect("open")
        .expect("ok");
    assert!(
        frame
            .to_text()
            .expect("text")
            .starts_with(r#"{"type":"snapshot""#)
    );
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("second client should be refused, got {other:?}"),
    }
    let m = engine.metrics().await;
    assert_eq!(
        m.value("callpulse_ws_dropped_total", &[("reason", "too_many")]),
        1.0
    );
    assert_eq!(m.value("callpulse_ws_clients", &[]), 1.0);

    let (status, body) = engine.get("/api/v1/queues/nope").await;
    assert_eq!(status, 404);
    assert!(
        body.contains(r#""error":"queue \"nope\" not found""#),
        "{body}"
    );
    assert_eq!(engine.get("/no/such/route").await.0, 404);
    drop(first);
    engine.stop().await;
}
