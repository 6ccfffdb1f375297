//! Every query of every shipped Grafana dashboard, run against a real Prometheus (Debian's
//! `prometheus`, on a loopback port) that scraped `callpulse demo`: each must succeed, give
//! no NaN or infinity, and give data where the demo has data. The few panels that are empty
//! by design in a fresh demo are listed below with the reason.

use std::time::Duration;

use callpulse_e2e::servers::{prometheus_query, spawn_demo, start_prometheus};
use callpulse_e2e::{eventually, grafana_dashboards};
use serde_json::Value;

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

/// The denominator of a dashboard ratio, `NUM / (DEN > 0)`: every ratio is written so.
fn denominator(expr: &str) -> Option<&str> {
    let (_, rest) = expr.split_once(" / (")?;
    rest.strip_suffix(" > 0)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_without_nan_against_the_demo() {
    let (_demo, addr) = spawn_demo(&["--backfill-mins", "20", "--partitions", "2"]).await;
    let dir = std::env::temp_dir().join(format!("callpulse-grafana-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: callpulse\n    static_configs:\n      - targets: [\"{addr}\"]\n"
        ),
    )
    .expect("write");
    let (_prometheus, prom) = start_prometheus(&dir).await;
    let query = |expr: String| async move { prometheus_query(prom, &expr).await };
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
                    // A ratio `num / (den > 0)` is rightly empty while its denominator is
                    // (no completed call yet in an interval that has just begun).
                    let no_denominator = match denominator(&concrete) {
                        Some(den) => query(format!("{den} > 0")).await.1["data"]["result"]
                            .as_array()
                            .is_none_or(Vec::is_empty),
                        None => false,
                    };
                    if result.is_empty() && !allowed && !no_denominator {
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
