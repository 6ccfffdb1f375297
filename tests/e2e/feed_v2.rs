//! `/ws` protocol v2 over a real socket: hello, a snapshot of the subscription, deltas
//! chained by `base`, heartbeats, ping, refusals, resubscription; and a v1 client whose
//! whole-snapshot frame passes the per-client cap is closed with code 1009 and a reason,
//! while a v2 client of the same server keeps its small frames.

use std::collections::BTreeMap;
use std::time::Duration;

use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
use callpulse_events::{CallQueued, Envelope, Event};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One waiting call in each of `queues` queues `q000`, `q001`, ...
fn produce_calls_in_queues(brokers: &str, queues: u32) {
    let topics = callpulse_sim::SimTopics::new("calls", "agents", "tickets", "surveys");
    let producer =
        callpulse_sim::EventProducer::new(brokers, &BTreeMap::new(), topics).expect("producer");
    let now = wall_now();
    for i in 0..queues {
        let env = Envelope {
            event_id: format!("feed-{i}"),
            ts: now,
            event: Event::CallQueued(CallQueued {
                call_id: format!("call-{i}"),
                queue: format!("q{i:03}"),
                customer_id: None,
                priority: None,
                transferred_from: None,
            }),
        };
        producer.send(&env).expect("send");
    }
    producer.flush(Duration::from_secs(10)).expect("flush");
}

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON frame");
        }
    }
}

/// The next frame of `kind`, skipping others (alerts, heartbeats).
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_deltas_heartbeats_and_the_size_cap() {
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "feed-v2");
    // Past the default 50 labels nothing changes here; the cap is what matters: 250 queues
    // make a v1 frame of several hundred KB.
    config.export.ws_max_write_buffer_bytes = 128 * 1024;
    config.export.ws_heartbeat_ms = 150;
    config.ingest.tick_ms = 400;
    let engine = Engine::start(config).await;
    produce_calls_in_queues(&brokers, 250);
    eventually(Duration::from_secs(60), "250 queues", || async {
        let snapshot = engine.snapshot().await;
        (snapshot["queues"].as_array().map_or(0, Vec::len) == 250).then_some(())
    })
    .await;
    let base = format!("ws://{}/ws", engine.addr);

    // v1: the whole snapshot is too big for this server's cap: closed with a reason.
    let (mut v1, _) = tokio_tungstenite::connect_async(&base).await.expect("v1");
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), v1.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.expect("close frame"),
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.contains("protocol 2"), "{}", close.reason);

    // v2 with two queues: hello, then a snapshot holding exactly them.
    let url = format!("{base}?protocol=2&queues=q001,q002&sections=queues,center,alerts");
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("v2");
    let hello = next_json(&mut ws).await;
    assert_eq!(
        (hello["type"].as_str(), hello["protocol"].as_u64()),
        (Some("hello"), Some(2))
    );
    let snapshot = next_of(&mut ws, "snapshot").await;
    let queues: Vec<&String> = snapshot["queues"]
        .as_object()
        .expect("queues")
        .keys()
        .collect();
    assert_eq!(queues, ["q001", "q002"]);
    assert_eq!(snapshot["queues"]["q001"]["waiting"], 1);
    assert!(snapshot.get("teams").is_none() && snapshot.get("agents").is_none());
    assert!(snapshot["center"].is_object());
    // Updates chain: each names the seq of the frame before it.
    let mut seq = snapshot["seq"].as_u64().expect("seq");
    for _ in 0..3 {
        let update = next_of(&mut ws, "update").await;
        assert_eq!(update["base"].as_u64(), Some(seq));
        seq = update["seq"].as_u64().expect("seq");
    }
    // Heartbeats come between ticks (150 ms < 400 ms).
    let beat = next_of(&mut ws, "heartbeat").await;
    assert!(beat["seq"].as_u64().is_some());
    // Ping, a malformed message, and an unknown section: answered, counted, still open.
    ws.send(Message::text(json!({"type": "ping", "id": 7}).to_string()))
        .await
        .expect("ping");
    assert_eq!(next_of(&mut ws, "pong").await["id"], 7);
    ws.send(Message::text("{not json")).await.expect("send");
    let error = next_of(&mut ws, "error").await;
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()));
    ws.send(Message::text(
        json!({"type": "subscribe", "sections": ["queus"]}).to_string(),
    ))
    .await
    .expect("send");
    let error = next_of(&mut ws, "error").await;
    assert!(error["error"].as_str().expect("text").contains("queus"));
    // Resubscribe: a snapshot of the new subscription follows.
    ws.send(Message::text(
        json!({"type": "subscribe", "sections": ["queues"], "queues": ["q200"]}).to_string(),
    ))
    .await
    .expect("send");
    let snapshot = next_of(&mut ws, "snapshot").await;
    let queues: Vec<&String> = snapshot["queues"]
        .as_object()
        .expect("queues")
        .keys()
        .collect();
    assert_eq!(queues, ["q200"]);
    assert!(snapshot.get("center").is_none());

    // A protocol the server does not speak is refused before the upgrade.
    match tokio_tungstenite::connect_async(format!("{base}?protocol=3")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("protocol 3 should be refused, got {other:?}"),
    }
    let m = engine.metrics().await;
    assert_eq!(m.value("callpulse_ws_messages_refused_total", &[]), 2.0);
    assert_eq!(
        m.value("callpulse_ws_dropped_total", &[("reason", "too_large")]),
        1.0
    );
    drop(ws);
    engine.stop().await;
}
