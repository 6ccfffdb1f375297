//! The whole center from any instance, through crashes and scaling: three `callpulse run`
//! processes in one consumer group on the external broker (tansu); one is SIGKILLed, started
//! again, then a fourth joins. After each change has settled, every instance's
//! `/api/v1/snapshot` equals that of one engine that read everything alone: every queue's
//! windows, totals, waiting calls and FCR, the center, the agents, the applied count.
//! Events keep arriving between the changes. FCR is exact because its facts are re-keyed
//! by customer through the group's repartition topic; the whole center is on every instance
//! because each publishes its partitions to the group's snapshot topic.

use std::time::Duration;

use callpulse_e2e::crash::{Running, figures, history, produce, scrape, spawn_in_group};
use callpulse_e2e::{Engine, TOPICS, Tansu, free_port, test_config, try_http_get, wall_now};
use serde_json::Value;

const GROUP: &str = "whole";

async fn snapshot_of(port: u16) -> Option<Value> {
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (status, body) = try_http_get(addr, "/api/v1/snapshot", Duration::from_secs(3)).await?;
    (status == 200).then(|| serde_json::from_str(&body).expect("snapshot json"))
}

/// Waits until every instance on `ports` shows the reference's figures; fails with the
/// last difference.
async fn settled(reference: &Engine, ports: &[u16], brokers: &str, what: &str) {
    let mut last = (Value::Null, Value::Null, 0);
    for _ in 0..240 {
        let want = figures(&reference.snapshot().await);
        let mut all = want["applied"].as_u64() > Some(0);
        for port in ports {
            let got = match snapshot_of(*port).await {
                Some(snapshot) => figures(&snapshot),
                None => Value::Null,
            };
            if got != want {
                all = false;
                last = (want.clone(), got, *port);
                break;
            }
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut diff = Vec::new();
    differences(&last.0, &last.1, "", &mut diff);
    diff.extend(per_partition(brokers).await);
    panic!(
        "{what}: the instance on port {} differs from the single engine (single vs instance):\n{}",
        last.2,
        diff.join("\n")
    );
}

/// The paths where `a` and `b` differ, with both values (the first few).
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 12 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, value) in x {
                differences(
                    value,
                    y.get(key).unwrap_or(&Value::Null),
                    &format!("{path}.{key}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                let name = p["queue"]
                    .as_str()
                    .or(p["window"].as_str())
                    .map_or(i.to_string(), String::from);
                differences(p, q, &format!("{path}[{name}]"), out);
            }
        }
        _ => out.push(format!("{path}: {a} vs {b}")),
    }
}

/// Per partition, the applied count the group's owners shared and the reference's, where
/// they differ (read back from the two snapshot topics): says which partition is off.
async fn per_partition(brokers: &str) -> Vec<String> {
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut base = rdkafka::ClientConfig::new();
        base.set("bootstrap.servers", &brokers);
        let read = |topic: &str| {
            let view = callpulse_ingest::SharedView::open(
                &base,
                callpulse_ingest::SharedSettings {
                    topic: topic.to_owned(),
                    instance: format!("diagnosis-{topic}"),
                    chunk_bytes: 900_000,
                    expire: Duration::from_secs(3600),
                    timeout: Duration::from_secs(10),
                },
                std::sync::Arc::new(callpulse_core::MetricsPolicy::default()),
            )
            .expect("snapshot topic");
            std::thread::sleep(Duration::from_secs(3));
            let parts = view.remote(&Default::default(), wall_now());
            view.close();
            parts
                .into_iter()
                .filter_map(|(key, part)| match part.body {
                    callpulse_ingest::RemoteBody::Events(p) => Some((
                        format!("{}/{}", key.0, key.1),
                        (p.counters.applied, part.instance),
                    )),
                    callpulse_ingest::RemoteBody::Fcr(_) => None,
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let group = read(&format!("{GROUP}.snapshots"));
        let reference = read(callpulse_e2e::SNAPSHOT_TOPIC);
        group
            .iter()
            .filter(|(key, (applied, _))| reference.get(*key).map(|r| r.0) != Some(*applied))
            .map(|(key, (applied, owner))| {
                format!(
                    "partition {key}: applied {:?} alone vs {applied} by {owner}",
                    reference.get(key).map(|r| r.0)
                )
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_shows_the_single_engine_figures_through_a_kill_a_restart_and_a_fourth() {
    let tansu = Tansu::start().await;
    let brokers = tansu.brokers.clone();
    callpulse_sim::ensure_topics(&brokers, &Default::default(), &TOPICS, 4)
        .await
        .expect("topics");
    let events = history(1600, wall_now().plus_millis(-40 * 60_000));
    let chunks: Vec<_> = events.chunks(events.len() / 4 + 1).collect();
    produce(&brokers, chunks[0]);
    let mut ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut instances: Vec<Running> = ports
        .iter()
        .map(|port| spawn_in_group(&brokers, *port, GROUP))
        .collect();
    // One engine alone, in a group of its own (its own FCR and snapshot topics).
    let reference = Engine::start(test_config(&brokers, "whole-reference")).await;
    settled(&reference, &ports, &brokers, "three instances").await;

    instances[0].kill();
    produce(&brokers, chunks[1]);
    settled(&reference, &ports[1..], &brokers, "one instance SIGKILLed").await;

    instances[0] = spawn_in_group(&brokers, ports[0], GROUP);
    produce(&brokers, chunks[2]);
    settled(&reference, &ports, &brokers, "the killed instance back").await;

    ports.push(free_port());
    instances.push(spawn_in_group(&brokers, ports[3], GROUP));
    produce(&brokers, chunks[3]);
    settled(&reference, &ports, &brokers, "a fourth instance").await;

    let snapshot = snapshot_of(ports[3]).await.expect("fourth instance");
    assert!(
        snapshot["engine"]["remote_partitions"].as_u64() > Some(0),
        "the fourth instance merged other instances' partitions"
    );
    assert!(
        snapshot["engine"]["sources"]
            .as_array()
            .is_some_and(|s| s.iter().any(|p| p["kind"] == "fcr")),
        "FCR partitions are listed among the sources"
    );
    // /metrics says how much of the view is other instances', and how fresh.
    let m = scrape(ports[3]).await.expect("fourth instance's /metrics");
    assert!(m.value("callpulse_shared_remote_partitions", &[]) > 0.0);
    assert!(m.value("callpulse_shared_oldest_part_age_seconds", &[]) < 10.0);
    let fcr_eligible: u64 = figures(&snapshot)["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .filter_map(|q| q["fcr"]["eligible_total"].as_u64())
        .sum();
    assert!(fcr_eligible > 0, "FCR outcomes were compared");
    reference.stop().await;
    drop(instances); // SIGKILLed
}
