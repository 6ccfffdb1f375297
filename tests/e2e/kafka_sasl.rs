//! A broker that requires SASL/SCRAM (tansu's `--authentication`): the engine (its consumer,
//! its own producers and topic creation) and `callpulse simulate` reach it through the
//! `ingest.librdkafka` pass-through, and a client without credentials or with a wrong
//! password gets nothing from it. tansu 0.6 cannot serve TLS and SASL together from its
//! command line, so SSL is documented (docs/security.md), not tested here.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use callpulse_e2e::{
    Engine, TOPICS, Tansu, callpulse_binary, eventually, free_port, tansu_durable_binary,
    test_config, wall_now,
};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

const USER: &str = "callpulse";
const PASSWORD: &str = "correct horse battery staple";

fn scram(password: &str) -> BTreeMap<String, String> {
    [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", USER),
        ("sasl.password", password),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Whether a client with `extra` settings gets the cluster's metadata within a few seconds.
fn reaches(brokers: &str, extra: &BTreeMap<String, String>) -> bool {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", brokers)
        .set("group.id", "sasl-probe");
    for (k, v) in extra {
        cc.set(k, v);
    }
    let consumer: BaseConsumer = cc.create().expect("probe client");
    consumer
        .fetch_metadata(None, Duration::from_secs(4))
        .is_ok_and(|m| !m.brokers().is_empty())
}

fn offered(snapshot: &serde_json::Value) -> u64 {
    snapshot["queues"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .filter_map(|q| q["totals"]["offered"].as_u64())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_and_the_simulator_reach_a_broker_that_requires_scram() {
    let dir = std::env::temp_dir().join(format!("callpulse-sasl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("tansu.db");
    let _ = std::fs::remove_file(&db);
    let port = free_port();
    // tansu creates users through a broker that does not yet ask for them; the SQLite file
    // keeps them (and the topics) for the restart that does.
    {
        let open = Tansu::start_durable(&db, port).await;
        let status = Command::new(tansu_durable_binary())
            .args(["user", "create", USER, PASSWORD, "--mechanism", "scram512"])
            .args(["--broker", &format!("tcp://{}", open.brokers)])
            .status()
            .expect("tansu user create");
        assert!(status.success(), "tansu user create: {status}");
        callpulse_sim::ensure_topics(&open.brokers, &Default::default(), &TOPICS, 2)
            .await
            .expect("topics");
    }
    let tansu = Tansu::start_durable_with(&db, port, &["--authentication"]).await;
    let brokers = tansu.brokers.clone();

    assert!(
        !reaches(&brokers, &BTreeMap::new()),
        "a client without credentials read the cluster's metadata"
    );
    assert!(
        !reaches(&brokers, &scram("wrong password")),
        "a wrong password read the cluster's metadata"
    );
    // The right password reaches it; a loaded machine may need more than one probe (each
    // a full SCRAM exchange against a broker that has just restarted).
    eventually(Duration::from_secs(60), "the right password", || async {
        reaches(&brokers, &scram(PASSWORD)).then_some(())
    })
    .await;

    // Events in through SASL: 50 queued calls from a producer, then `callpulse simulate`
    // with the credentials in the environment, as an operator would pass them.
    let producer = callpulse_sim::EventProducer::new(
        &brokers,
        &scram(PASSWORD),
        callpulse_sim::SimTopics::new("calls", "agents", "tickets", "surveys"),
    )
    .expect("producer");
    let now = wall_now();
    for i in 0..50 {
        producer
            .send(&callpulse_events::Envelope {
                event_id: format!("sasl-{i}"),
                ts: now,
                event: callpulse_events::Event::CallQueued(callpulse_events::CallQueued {
                    call_id: format!("sasl-call-{i}"),
                    queue: "sasl-q".into(),
                    customer_id: None,
                    priority: None,
                    transferred_from: None,
                }),
            })
            .expect("send");
    }
    producer.flush(Duration::from_secs(20)).expect("delivered");
    let simulate = |password: &str| {
        let mut command = Command::new(callpulse_binary());
        command
            // The simulator opens with every agent's state and day's schedule (about 230
            // events): enough for calls after them.
            .args(["simulate", "--brokers", &brokers, "--count", "1000"])
            .args(["--lookback-mins", "30"]);
        for (k, v) in scram(password) {
            command.env(format!("CALLPULSE__INGEST__LIBRDKAFKA__{k}"), v);
        }
        command.output().expect("callpulse simulate")
    };
    let out = simulate(PASSWORD);
    assert!(
        out.status.success(),
        "simulate: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut config = test_config(&brokers, "sasl");
    config.ingest.librdkafka.extend(scram(PASSWORD));
    let engine = Engine::start(config).await;
    eventually(
        Duration::from_secs(90),
        "the 50 calls and the simulator's events",
        || async {
            let s = engine.snapshot().await;
            let sasl_q = s["queues"]
                .as_array()
                .and_then(|qs| qs.iter().find(|q| q["queue"] == "sasl-q").cloned());
            (sasl_q.is_some_and(|q| q["totals"]["offered"] == 50) && offered(&s) > 50).then_some(())
        },
    )
    .await;
    // The engine's own producers went through too: checkpoints were written.
    eventually(Duration::from_secs(30), "a checkpoint written", || async {
        let m = engine.metrics().await;
        (m.value("callpulse_checkpoints_total", &[("outcome", "written")]) > 0.0).then_some(())
    })
    .await;
    engine.stop().await;

    // The same simulator with a wrong password fails, and says so.
    let out = simulate("wrong password");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("could not reach the kafka cluster"),
        "simulate with a wrong password: {}\n{stderr}",
        out.status
    );
    drop(tansu);
    let _ = std::fs::remove_dir_all(&dir);
}
