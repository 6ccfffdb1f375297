//! `callpulse demo` as a user runs it: start the binary, read the printed URL, scrape
//! `/metrics`, read `/ws`, stop it with SIGTERM and expect a clean exit.

use std::process::Command;
use std::time::Duration;

use callpulse_e2e::browser::Browser;
use callpulse_e2e::servers::spawn_demo;
use callpulse_e2e::{Scrape, eventually, http_get};
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_serves_and_stops_on_sigterm() {
    let (mut child, addr) = spawn_demo(&["--backfill-mins", "5", "--partitions", "2"]).await;
    eventually(Duration::from_secs(60), "demo ready", || async {
        (http_get(addr, "/readyz").await.0 == 200).then_some(())
    })
    .await;
    let scrape = eventually(
        Duration::from_secs(60),
        "billing calls in the 5m window",
        || async {
            let (_, body) = http_get(addr, "/metrics").await;
            let m = Scrape::parse(&body);
            (m.get(
                "callpulse_queue_offered_calls",
                &[("queue", "billing"), ("window", "5m")],
            )
            .unwrap_or(0.0)
                > 0.0)
                .then_some(m)
        },
    )
    .await;
    assert!(scrape.sum("callpulse_events_consumed_total") > 0.0);
    let (status, page) = http_get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("callpulse wallboard"));

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws");
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("frame")
        .expect("open")
        .expect("ok");
    let first: serde_json::Value =
        serde_json::from_str(first.to_text().expect("text")).expect("json");
    assert_eq!(first["type"], "snapshot");
    assert!(
        first["data"]["queues"]
            .as_array()
            .is_some_and(|q| q.len() == 5),
        "four simulated voice queues and the ticket queue"
    );

    // The wallboard in headless Chromium at a TV's size (at a smaller one the board pages
    // its queues): waits for the page's own state rather than a fixed render budget, which a
    // loaded CI machine can overrun before the first frame arrives.
    let mut browser = Browser::start().await;
    browser.size(1920, 1080).await;
    browser.navigate(&format!("http://{addr}/")).await;
    let missing = r#"["billing", "sales", "support", "vip", "digital"]
        .filter(q => !document.querySelector(`[data-queue="${q}"]`)).join(",")"#;
    browser
        .wait_for(
            &format!(r#"document.body.dataset.seq && {missing} === ''"#),
            Duration::from_secs(30),
        )
        .await;
    let state = browser
        .wait_for(
            r#"document.body.dataset.state === "live" ? "live" : ''"#,
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(state, "live", "wallboard shows the live status");
    drop(browser);

    let rc = sigterm(child.0.id());
    assert_eq!(rc, 0, "SIGTERM sent");
    let status = eventually(Duration::from_secs(30), "demo exits after SIGTERM", || {
        let exited = child.0.try_wait().expect("try_wait");
        async move { exited }
    })
    .await;
    assert!(
        status.success(),
        "demo exits 0 after SIGTERM, got {status:?}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                return true;
            }
        }
        true
    })
    .await;
    assert!(closed.unwrap_or(false), "websocket closed on shutdown");
}

/// Sends SIGTERM through the `kill` command (the workspace forbids `unsafe`).
fn sigterm(pid: u32) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    status.code().unwrap_or(-1)
}
