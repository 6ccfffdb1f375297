//! The shipped alerting, end to end with real servers (Debian's `prometheus` and
//! `prometheus-alertmanager`, started here on loopback ports): the engine is fed a queue
//! whose service level breaches, Prometheus scrapes it and evaluates the shipped rules,
//! Alertmanager routes by the shipped configuration, and the alert reaches the floor's
//! webhook (a receiver this test runs), labelled and linked to its runbook. A queue with
//! too few calls, and a closed queue in breach, raise nothing.
//!
//! The shipped files are used as they are, except: every `for:` is cut to 2 s, the
//! Alertmanager's waits to 1 s, and the webhook URLs and ports point at this test.

use std::time::Duration;

use callpulse_core::QueuePolicy;
use callpulse_core::hours::OpeningHours;
use callpulse_e2e::crash::produce;
use callpulse_e2e::servers::{
    answered, prometheus_query, queued, start_alertmanager, start_prometheus,
};
use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
use callpulse_events::{Envelope, Ts};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

fn calls(queue: &str, n: i64, wait_ms: i64, now: Ts) -> Vec<Envelope> {
    // Recent enough that the newest event is about a minute old: the stalled-events alert
    // (which inhibits queue alerts) must stay quiet.
    let start = now.plus_millis(-4 * 60_000);
    (0..n)
        .flat_map(|i| {
            let id = format!("{queue}-{i}");
            let at = start.plus_millis(i * 10_000);
            [
                queued(&id, queue, at),
                answered(&id, queue, at.plus_millis(wait_ms)),
            ]
        })
        .collect()
}

/// A webhook receiver: every POST's path and JSON body.
async fn receiver(listener: tokio::net::TcpListener, out: mpsc::UnboundedSender<(String, Value)>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let out = out.clone();
        tokio::spawn(async move {
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            let (path, body) = loop {
                let Ok(n) = socket.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    continue;
                };
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    break (path, body[..length].to_owned());
                }
            };
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            if let Ok(json) = serde_json::from_str(&body) {
                let _ = out.send((path, json));
            }
        });
    }
}

fn shipped(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path),
    )
    .expect("shipped file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_reaches_the_floor_through_prometheus_and_alertmanager() {
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let mut config = test_config(&brokers, "alerting");
    config.ingest.tick_ms = 500;
    // billing: 12 calls, each answered after a minute: SL 0 % on enough calls. sales: two
    // such calls, too few to judge. closed: in breach but never open.
    config
        .metrics
        .queues
        .insert("billing".into(), QueuePolicy::default());
    // Open only on the day after tomorrow (UTC, the default zone): closed now.
    let now = wall_now();
    let weekday = {
        use chrono::Datelike;
        now.to_datetime()
            .expect("now")
            .weekday()
            .num_days_from_monday() as usize
    };
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(weekday + 2) % 7];
    config.metrics.queues.insert(
        "closed".into(),
        QueuePolicy {
            opening_hours: OpeningHours::try_from(vec![format!("{day} 00:00-24:00")])
                .expect("hours"),
            ..QueuePolicy::default()
        },
    );
    let engine = Engine::start(config).await;
    let mut events = calls("billing", 12, 60_000, now);
    events.extend(calls("sales", 2, 60_000, now));
    events.extend(calls("closed", 12, 60_000, now));
    produce(&brokers, &events);
    eventually(Duration::from_secs(60), "billing in breach", || async {
        let s = engine.snapshot().await;
        let billing = s["queues"]
            .as_array()
            .and_then(|q| q.iter().find(|q| q["queue"] == "billing").cloned())?;
        (billing["status"]["level"] == "breach").then_some(())
    })
    .await;

    let dir = std::env::temp_dir().join(format!("callpulse-alerting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook_port = hook.local_addr().expect("addr").port();
    let (tx, mut notifications) = mpsc::unbounded_channel();
    tokio::spawn(receiver(hook, tx));

    let am_config = shipped("deploy/alertmanager/alertmanager.yml")
        .replace("127.0.0.1:9095", &format!("127.0.0.1:{hook_port}"))
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s");
    std::fs::write(dir.join("alertmanager.yml"), am_config).expect("write");
    let (_alertmanager, am) = start_alertmanager(&dir).await;

    // The shipped rules with every hold time cut to 2 s.
    let rules: String = shipped("deploy/prometheus/callpulse-alerts.yml")
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for: ") {
                format!("{}for: 2s", &l[..l.len() - l.trim_start().len()])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("callpulse-alerts.yml"), rules).expect("write");
    let prom_config = shipped("deploy/prometheus/prometheus.yml")
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("127.0.0.1:9093", &am.to_string())
        .replace("127.0.0.1:7710", &engine.addr.to_string())
        .replace(
            "/etc/prometheus/callpulse.token",
            &dir.join("callpulse.token").display().to_string(),
        );
    // The shipped scrape sends a token file's bearer token (the auth tests check it is
    // honoured; this engine runs open, so any token reads).
    std::fs::write(dir.join("callpulse.token"), "scrape-token\n").expect("write");
    std::fs::write(dir.join("prometheus.yml"), prom_config).expect("write");
    let (_prometheus, prom) = start_prometheus(&dir).await;

    // The floor's webhook gets the breach, labelled, annotated, for billing only.
    let notified = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let (path, body) = notifications.recv().await.expect("receiver running");
            let fired = body["alerts"].as_array().is_some_and(|alerts| {
                alerts.iter().any(|a| {
                    a["labels"]["alertname"] == "CallpulseServiceLevelBreach"
                        && a["status"] == "firing"
                })
            });
            if fired {
                return (path, body);
            }
        }
    })
    .await;
    let Ok((path, body)) = notified else {
        let (_, status) =
            prometheus_query(prom, "max by (queue, check) (callpulse_queue_check_status)").await;
        let (_, alerts) = callpulse_e2e::http_get(prom, "/api/v1/alerts").await;
        let (_, targets) = callpulse_e2e::http_get(prom, "/api/v1/targets").await;
        panic!(
            "no breach notification in 90 s; logs in {}\nstatus: {status}\nalerts: {alerts}\ntargets: {targets}",
            dir.display()
        );
    };
    assert_eq!(path, "/floor", "routed to the floor: {body}");
    let alerts = body["alerts"].as_array().expect("alerts");
    let breaches: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "CallpulseServiceLevelBreach")
        .collect();
    assert_eq!(breaches.len(), 1, "{body}");
    let alert = breaches[0];
    assert_eq!(alert["labels"]["queue"], "billing");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["owner"], "floor");
    assert!(
        alert["annotations"]["runbook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("runbook.md#callpulseservicelevelbreach")),
        "{alert}"
    );
    // Nothing about the quiet queue or the closed one, in any notification so far.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok((_, body)) = notifications.try_recv() {
        for a in body["alerts"].as_array().into_iter().flatten() {
            let queue = a["labels"]["queue"].as_str().unwrap_or("");
            assert!(!matches!(queue, "sales" | "closed"), "{a}");
        }
    }
    engine.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every shipped alert has an owner, a severity, a runbook section that exists, and a
/// `promtool test rules` case in which it fires.
#[test]
fn every_alert_is_owned_documented_and_tested() {
    let rules = shipped("deploy/prometheus/callpulse-alerts.yml");
    let tests = shipped("deploy/prometheus/callpulse-alerts.test.yml");
    let runbook = shipped("docs/runbook.md");
    let blocks: Vec<&str> = rules.split("- alert: ").skip(1).collect();
    assert!(blocks.len() >= 15, "{} alerts", blocks.len());
    for block in blocks {
        let name = block.lines().next().expect("name").trim();
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
                .unwrap_or_else(|| panic!("{name} has no {key}"))
                .trim_matches('"')
                .to_owned()
        };
        assert!(
            ["critical", "warning"].contains(&field("severity:").as_str()),
            "{name}"
        );
        assert!(
            ["floor", "sre"].contains(&field("owner:").as_str()),
            "{name}"
        );
        let anchor = name.to_lowercase();
        assert!(
            field("runbook_url:").ends_with(&format!("docs/runbook.md#{anchor}")),
            "{name}"
        );
        assert!(
            runbook.lines().any(|l| l == format!("## {name}")),
            "docs/runbook.md has no section {name}"
        );
        // A case with `alertname: NAME` followed by a non-empty `exp_alerts:` list.
        let fires = tests.split("alertname: ").skip(1).any(|case| {
            case.starts_with(&format!("{name}\n"))
                && case
                    .lines()
                    .nth(1)
                    .is_some_and(|l| l.trim() == "exp_alerts:")
        });
        assert!(fires, "no promtool case in which {name} fires");
    }
}
