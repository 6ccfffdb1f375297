//! Native records on Kafka, read by the engine itself: an Amazon Connect topic (contact
//! records as a Kinesis bridge writes them, some re-sent, two run together in one message)
//! and a Genesys Cloud topic (conversation details, one read again once it ended), mapped
//! in the partition they arrive in. The engine's totals equal the records' own; a message
//! that is no record is rejected and counted as `unmappable_record`. Replaying the same
//! messages from files gives the same totals.

use std::time::Duration;

use callpulse_e2e::totals::{iso, queue_totals};
use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
use callpulse_sources::NativeFormat;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};

const CONNECT: &str = "connect.ctr";
const GENESYS: &str = "genesys.conversations";

fn connect_record(i: i64, start: i64) -> Value {
    let enqueued = start + i * 30;
    let duration = 5 + i % 40;
    let mut r = json!({"ContactId": format!("ctr-{i}"), "Channel": "VOICE", "InitiationMethod": "INBOUND",
        "DisconnectTimestamp": iso(enqueued + duration + 200), "DisconnectReason": "CUSTOMER_DISCONNECT",
        "Queue": {"Name": "billing", "EnqueueTimestamp": iso(enqueued), "Duration": duration}});
    if i % 4 == 0 {
        r["DisconnectTimestamp"] = json!(iso(enqueued + duration));
    } else {
        r["Agent"] = json!({"Username": "anna", "ConnectedToAgentTimestamp": iso(enqueued + duration),
            "AgentInteractionDuration": 180, "CustomerHoldDuration": 10, "AfterContactWorkDuration": 10});
    }
    r
}

fn conversation(i: i64, start: i64, ended: bool) -> Value {
    let offered = start + i * 30;
    let mut wrapup =
        json!({"segmentStart": iso(offered + 100), "segmentType": "wrapup", "queueId": "q-s"});
    let mut metrics = vec![json!({"name": "tTalkComplete", "value": 90000})];
    if ended {
        wrapup["segmentEnd"] = json!(iso(offered + 120));
        metrics.push(json!({"name": "tAcw", "value": 20000}));
    }
    json!({"conversationId": format!("conv-{i}"), "participants": [
        {"purpose": "customer", "sessions": [{"ani": "tel:+4930111", "segments": [{"segmentStart": iso(offered)}]}]},
        {"purpose": "acd", "participantName": "Support", "sessions": [{"segments": [{"segmentStart": iso(offered), "segmentType": "interact", "queueId": "q-s"}],
            "metrics": [{"name": "nOffered", "value": 1}, {"name": "tAnswered", "value": 10000}]}]},
        {"purpose": "agent", "participantName": "ben", "sessions": [{"segments": [
            {"segmentStart": iso(offered + 10), "segmentEnd": iso(offered + 100), "segmentType": "interact", "queueId": "q-s"}, wrapup],
            "metrics": metrics}]}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reads_connect_and_genesys_records_from_their_topics() {
    let mock = mock_cluster(2);
    for topic in [CONNECT, GENESYS] {
        mock.create_topic(topic, 2, 1).expect("topic");
    }
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "native-topics");
    config.ingest.topics.native = [
        (CONNECT.to_owned(), NativeFormat::AmazonConnect),
        (GENESYS.to_owned(), NativeFormat::GenesysCloud),
    ]
    .into_iter()
    .collect();
    let engine = Engine::start(config).await;

    let start = wall_now().millis() / 1000 - 1800;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    let mut messages: Vec<(&str, String, String)> = Vec::new();
    for i in 0..20 {
        let record = connect_record(i, start).to_string();
        if i % 5 == 1 {
            // Re-sent, as Connect does.
            messages.push((CONNECT, format!("ctr-{i}"), record.clone()));
        }
        messages.push((CONNECT, format!("ctr-{i}"), record));
    }
    // Two records in one message, as a Firehose-style bridge may write them.
    let joined = format!("{}{}", connect_record(20, start), connect_record(21, start));
    messages.push((CONNECT, "ctr-20".into(), joined));
    messages.push((CONNECT, "junk".into(), "{\"hello\": \"world\"}".into()));
    for i in 0..10 {
        let key = format!("conv-{i}");
        messages.push((
            GENESYS,
            key.clone(),
            conversation(i, start, false).to_string(),
        ));
        messages.push((GENESYS, key, conversation(i, start, true).to_string()));
    }
    for (topic, key, payload) in &messages {
        producer
            .send(BaseRecord::to(topic).key(key).payload(payload))
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(10)).expect("flush");

    // Connect: 22 contacts, those with i % 4 == 0 abandoned (0, 4, 8, 12, 16, 20);
    // handle = 180 + 10 + 10 s each. Genesys: 10 answered, handle 90 + 20 s.
    let connect_want = (22, 16, 6, 16, 16 * 200);
    let genesys_want = (10, 10, 0, 10, 10 * 110);
    let snapshot = eventually(Duration::from_secs(60), "both topics counted", || async {
        let s = engine.snapshot().await;
        (queue_totals(&s, "billing") == Some(connect_want)
            && queue_totals(&s, "Support") == Some(genesys_want))
        .then_some(s)
    })
    .await;
    assert_eq!(queue_totals(&snapshot, "billing"), Some(connect_want));
    let metrics = engine.metrics().await;
    assert_eq!(
        metrics.value(
            "callpulse_events_rejected_total",
            &[("reason", "unmappable_record")]
        ),
        1.0
    );
    engine.stop().await;

    // The same messages replayed from files give the same figures as the live path.
    let dir = std::env::temp_dir().join(format!("callpulse-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (topic, from, queue, want) in [
        (CONNECT, "amazon-connect", "billing", connect_want),
        (GENESYS, "genesys-cloud", "Support", genesys_want),
    ] {
        let file = dir.join(format!("{topic}.json"));
        let lines: Vec<&str> = messages
            .iter()
            .filter(|(t, ..)| *t == topic)
            .map(|(_, _, payload)| payload.as_str())
            .collect();
        std::fs::write(&file, lines.join("\n") + "\n").expect("write");
        let out = std::process::Command::new(callpulse_e2e::callpulse_binary())
            .args(["replay", "--log-format", "json", "--from", from])
            .arg(&file)
            .output()
            .expect("replay");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replayed: Value = serde_json::from_slice(&out.stdout).expect("snapshot");
        assert_eq!(queue_totals(&replayed, queue), Some(want), "{from}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
