//! Queue totals read from a snapshot, for the tests that feed a source's calls through the
//! engine and compare what it counted with the calls' own figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::Engine;

/// A queue's lifetime totals: (offered, answered, abandoned, completed, handle seconds).
pub type Totals = (u64, u64, u64, u64, i64);

/// `queue`'s totals in a snapshot (the API's, or `replay`'s output).
pub fn queue_totals(snapshot: &Value, queue: &str) -> Option<Totals> {
    all_queue_totals(snapshot).remove(queue)
}

/// Every queue's totals in a snapshot.
pub fn all_queue_totals(snapshot: &Value) -> BTreeMap<String, Totals> {
    snapshot["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| {
            let t = &q["totals"];
            Some((
                q["queue"].as_str()?.to_owned(),
                (
                    t["offered"].as_u64()?,
                    t["answered"].as_u64()?,
                    t["abandoned"].as_u64()?,
                    t["completed"].as_u64()?,
                    t["handle_s"].as_f64()?.round() as i64,
                ),
            ))
        })
        .collect()
}

/// Waits (up to a minute) until the engine has counted `calls` offered and as many ended
/// (answered and completed, or abandoned), then a few ticks more to see that nothing
/// arrives twice; the totals. On a timeout, panics with the bridge's log at `log`.
pub async fn settled_totals(engine: &Engine, calls: u64, log: &Path) -> BTreeMap<String, Totals> {
    let mut waited = 0;
    let got = loop {
        let got = all_queue_totals(&engine.snapshot().await);
        let offered: u64 = got.values().map(|t| t.0).sum();
        let ended: u64 = got.values().map(|t| t.2 + t.3).sum();
        if offered == calls && ended == calls {
            break got;
        }
        waited += 1;
        assert!(
            waited < 600,
            "{got:?}; the bridge said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        all_queue_totals(&engine.snapshot().await),
        got,
        "nothing arrives twice"
    );
    got
}

/// Whole seconds since the epoch as RFC 3339 (`2026-11-02T09:00:00Z`), as the platforms'
/// records write their times.
pub fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
