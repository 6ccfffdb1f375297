//! Every query of every shipped Grafana dashboard, run against a real Prometheus (Debian's
//! `prometheus`, on a loopback port) that scraped `callpulse demo`: each must succeed, give
//! no NaN or infinity, and give data where the demo has data. The few panels that are empty
//! by design in a fresh demo are listed below with the reason.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callpulse_e2e::{callpulse_binary, eventually, free_port, grafana_dashboards, http_get};
use serde_json::Value;

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (dashboard uid, panel title, target refId, why it may be empty in a fresh demo).
const MAY_BE_EMPTY: &[(&str, &str, &str, &str)] = &[
    (
        "callpulse-queues",
        "FCR: settled and provisional",
        "A",
        "no FCR window (24 h) has closed yet",
    ),
    (
        "callpulse-engine",
        "Events rejected per second",
        "A",
        "the simulator sends no invalid event",
    ),
];

/// The same, for a window choice: team time and ticket windows are kept for the sliding
/// windows only, and those panels say so in their titles.
fn empty_for_window(title: &str, window: &str) -> bool {
    title.contains("sliding windows only") && matches!(window, "interval" | "today")
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_without_nan_against_the_demo() {
    let mut demo = Guard(
        Command::new(callpulse_binary())
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--backfill-mins",
                "20",
                "--partitions",
                "2",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo starts"),
    );
    let stdout = demo.0.stdout.take().expect("stdout");
    let addr = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            if let Some(url) = line.trim().strip_prefix("wallboard: http://") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("demo exited without printing its URL");
    });
    let addr = tokio::time::timeout(Duration::from_secs(90), addr)
        .await
        .expect("URL printed")
        .expect("reader");

    let dir = std::env::temp_dir().join(format!("callpulse-grafana-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: callpulse\n    static_configs:\n      - targets: [\"{addr}\"]\n"
        ),
    )
    .expect("write");
    let prom_port = free_port();
    let _prometheus = Guard(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian package prometheus)"),
    );
    let prom: std::net::SocketAddr = ([127, 0, 0, 1], prom_port).into();
    eventually(Duration::from_secs(60), "prometheus listening", || async {
        tokio::net::TcpStream::connect(prom).await.ok().map(drop)
    })
    .await;
    let query = |expr: String| async move {
        let (status, body) =
            http_get(prom, &format!("/api/v1/query?query={}", url_encode(&expr))).await;
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        (status, json)
    };
    // Data in every family the boards read, and rates over at least a few samples.
    eventually(Duration::from_secs(120), "scraped demo data", || async {
        let (_, json) = query(
            "count_over_time(callpulse_queue_completed_calls{window=\"15m\"}[1m]) > 10 and on() count(callpulse_queue_tickets_open) > 0"
                .to_owned(),
        )
        .await;
        json["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
            .then_some(())
    })
    .await;
    let (_, thresholds) = query(
        "count by (threshold_seconds) (callpulse_queue_answered_within_threshold_calls)".to_owned(),
    )
    .await;
    let threshold = thresholds["data"]["result"][0]["metric"]["threshold_seconds"]
        .as_str()
        .expect("a threshold")
        .to_owned();

    let mut ran = 0;
    let mut failures = Vec::new();
    for file in grafana_dashboards() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(&file);
        let board: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        let uid = board["uid"].as_str().expect("uid");
        for panel in board["panels"].as_array().expect("panels") {
            let title = panel["title"].as_str().expect("title");
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let ref_id = target["refId"].as_str().expect("refId");
                let windows: &[&str] = if expr.contains("$window") {
                    &["5m", "15m", "1h", "interval", "today"]
                } else {
                    &["-"]
                };
                for window in windows {
                    let concrete = expr
                        .replace("$queue", ".*")
                        .replace("$team", ".*")
                        .replace("$window", window)
                        .replace("$threshold", &threshold);
                    assert!(
                        !concrete.contains('$'),
                        "unsubstituted variable: {concrete}"
                    );
                    let (status, json) = query(concrete.clone()).await;
                    ran += 1;
                    let what = format!("{uid} / {title} / {ref_id} (window {window}): {concrete}");
                    if status != 200 || json["status"] != "success" {
                        failures.push(format!("error: {what}: {json}"));
                        continue;
                    }
                    let result = json["data"]["result"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let values: Vec<&str> = result
                        .iter()
                        .filter_map(|r| r["value"][1].as_str())
                        .collect();
                    if values.iter().any(|v| matches!(*v, "NaN" | "+Inf" | "-Inf")) {
                        failures.push(format!("NaN/Inf: {what}: {values:?}"));
                    }
                    let allowed = MAY_BE_EMPTY
                        .iter()
                        .any(|(u, t, r, _)| *u == uid && *t == title && *r == ref_id)
                        || empty_for_window(title, window);
                    if result.is_empty() && !allowed {
                        failures.push(format!("empty: {what}"));
                    }
                }
            }
        }
    }
    assert!(ran > 60, "only {ran} queries ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
