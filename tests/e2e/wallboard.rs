//! The wallboard in headless Chromium at 720p, 1080p and 4K: it fits without scrolling, its
//! values are large enough to read across a room, its cards are sorted worst first and
//! coloured by each queue's status, its numbers equal `/api/v1/snapshot` at the same `seq`,
//! a team's TV shows that team, pages rotate when the queues do not fit, and it says
//! "stale" when events stop and "disconnected" when the engine goes. Screenshots are
//! written to `$CARGO_TARGET_TMPDIR/wallboard/`.

use std::time::Duration;

use tokio::time::Instant;

use callpulse::Config;
use callpulse_core::QueuePolicy;
use callpulse_e2e::browser::Browser;
use callpulse_e2e::crash::produce;
use callpulse_e2e::servers::{answered, queued};
use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
use callpulse_events::{AgentState, AgentStateChanged, Envelope, Event, Ts};
use futures::FutureExt;
use serde_json::Value;
use std::panic::AssertUnwindSafe;

/// billing: 20 answered, 16 within 20 s (SL 80 % = its target: at risk); sales: 12 within
/// (ok); support: 3 calls waiting 3 minutes (breach); 27 more queues with one call each
/// (quiet); five agents of billing-team.
fn events(now: Ts) -> Vec<Envelope> {
    let mut out = Vec::new();
    let start = now.plus_millis(-6 * 60_000);
    for i in 0..20 {
        let id = format!("b{i}");
        let at = start.plus_millis(i * 5_000);
        out.push(queued(&id, "billing", at));
        let wait = if i < 16 { 10_000 } else { 40_000 };
        out.push(answered(&id, "billing", at.plus_millis(wait)));
    }
    for i in 0..12 {
        let id = format!("s{i}");
        let at = start.plus_millis(i * 5_000);
        out.push(queued(&id, "sales", at));
        out.push(answered(&id, "sales", at.plus_millis(5_000)));
    }
    for i in 0..3 {
        out.push(queued(
            &format!("w{i}"),
            "support",
            now.plus_millis(-180_000),
        ));
    }
    for i in 0..27 {
        let id = format!("x{i}");
        let queue = format!("queue-{i:02}");
        out.push(queued(&id, &queue, start));
        out.push(answered(&id, &queue, start.plus_millis(3_000)));
    }
    for i in 0..5 {
        out.push(Envelope {
            event_id: format!("agent-{i}"),
            ts: start,
            event: Event::AgentState(AgentStateChanged {
                agent_id: format!("agent-{i}"),
                team: "billing-team".to_owned(),
                state: if i < 2 {
                    AgentState::OnCall
                } else {
                    AgentState::Available
                },
                reason: None,
            }),
        });
    }
    out
}

fn config(brokers: &str) -> Config {
    let mut config = test_config(brokers, "wallboard");
    // One tick a second, as in production: the page and the API agree on a seq long
    // enough to be compared.
    config.ingest.tick_ms = 1000;
    config.metrics.queues.insert(
        "billing".into(),
        QueuePolicy {
            team: Some("billing-team".into()),
            ..QueuePolicy::default()
        },
    );
    // A group of the org chart: billing-team (so the billing queue) and the sales queue.
    config.metrics.groups.insert(
        "front".into(),
        callpulse_core::policy::GroupPolicy {
            teams: vec!["billing-team".into()],
            queues: vec!["sales".into()],
        },
    );
    config
}

/// What the page shows: its seq, and per card the queue, level and numbers as displayed.
const READ_PAGE: &str = r#"JSON.stringify({
  seq: Number(document.body.dataset.seq || 0),
  cards: [...document.querySelectorAll("section.card")].map((c) => ({
    queue: c.dataset.queue, level: c.dataset.level,
    sl: (c.querySelector('[data-k="sl"]') || {}).textContent,
    waiting: (c.querySelector('[data-k="waiting"]') || {}).textContent,
    offered: (c.querySelector('[data-k="offered"]') || {}).textContent,
  })),
})"#;

/// No scrolling, every card inside the screen, and the smallest figure's font size.
const FIT: &str = r#"JSON.stringify({
  scroll: document.documentElement.scrollHeight > innerHeight || document.documentElement.scrollWidth > innerWidth,
  outside: [...document.querySelectorAll("section.card, .kpi, .team")].filter((e) => {
    const r = e.getBoundingClientRect(); return r.bottom > innerHeight + 1 || r.right > innerWidth + 1; }).length,
  clipped: [...document.querySelectorAll("section.card")].filter((c) => c.scrollHeight > c.clientHeight + 1).map((c) => c.dataset.queue)
    .concat([...document.querySelectorAll(".value, .big")].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)),
  smallest: Math.min(...[...document.querySelectorAll(".cell .value, .kpi .value, .head .big")]
    .map((e) => parseFloat(getComputedStyle(e).fontSize))),
  cards: document.querySelectorAll("section.card").length,
  page: document.getElementById("page").textContent,
})"#;

fn pct(r: &Value) -> String {
    r.as_f64()
        .map_or_else(|| "–".to_owned(), |r| format!("{}%", (r * 100.0).round()))
}

async fn read(browser: &mut Browser, js: &str) -> Value {
    serde_json::from_str(browser.eval(js).await.as_str().expect("JSON text")).expect("JSON")
}

fn artefact(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wallboard");
    std::fs::create_dir_all(&dir).expect("artefact dir");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_fits_every_screen_and_tells_the_truth() {
    let mock = mock_cluster(1);
    let brokers = mock.bootstrap_servers();
    let engine = Engine::start(config(&brokers)).await;
    produce(&brokers, &events(wall_now()));
    eventually(Duration::from_secs(60), "30 queues", || async {
        let s = engine.snapshot().await;
        (s["queues"].as_array().map_or(0, Vec::len) == 30).then_some(())
    })
    .await;
    let url = format!("http://{}/", engine.addr);
    let mut browser = Browser::start().await;
    // A failed check must still stop the engine: a runtime torn down under a running
    // engine waits for its consumer thread.
    let checked = AssertUnwindSafe(live_checks(&engine, &mut browser, &url, &brokers))
        .catch_unwind()
        .await;
    if let Err(panic) = checked {
        engine.stop().await;
        std::panic::resume_unwind(panic);
    }

    // Disconnected: the engine goes; the board says so within the reconnect backoff.
    engine.stop().await;
    let gone = Instant::now();
    browser
        .wait_for(
            "document.body.dataset.state === 'down'",
            Duration::from_secs(10),
        )
        .await;
    assert!(gone.elapsed() < Duration::from_secs(5));
    let text = browser
        .eval("document.getElementById('overlay-text').textContent")
        .await;
    assert!(
        text.as_str().is_some_and(|t| t.starts_with("disconnected")),
        "{text}"
    );
    artefact("wallboard-disconnected.png", &browser.screenshot().await);
}

/// Everything checked while the engine runs.
async fn live_checks(engine: &Engine, browser: &mut Browser, url: &str, brokers: &str) {
    for (width, height) in [(1920, 1080), (1280, 720), (3840, 2160)] {
        browser.size(width, height).await;
        browser.navigate(url).await;
        browser
            .wait_for(
                "document.querySelectorAll('section.card').length",
                Duration::from_secs(15),
            )
            .await;
        let fit = read(browser, FIT).await;
        assert_eq!(fit["scroll"], false, "{width}x{height} scrolls: {fit}");
        assert_eq!(
            fit["outside"], 0,
            "{width}x{height} cuts something off: {fit}"
        );
        assert_eq!(
            fit["clipped"],
            serde_json::json!([]),
            "{width}x{height} clips a card: {fit}"
        );
        if height == 1080 {
            assert!(
                fit["smallest"].as_f64() >= Some(48.0),
                "values under 48 px: {fit}"
            );
        }
        // 30 queues do not fit on a 720p screen: pages, and they rotate.
        if height == 720 {
            let page = fit["page"].as_str().expect("page");
            assert!(page.starts_with("page 1/"), "{fit}");
        }
        artefact(
            &format!("wallboard-{width}x{height}.png"),
            &browser.screenshot().await,
        );
    }

    // The numbers on the page are the snapshot's at the page's seq; worst queues first.
    browser.size(1920, 1080).await;
    browser.navigate(url).await;
    browser
        .wait_for("document.body.dataset.seq", Duration::from_secs(15))
        .await;
    let mut compared = false;
    for _ in 0..60 {
        let page = read(browser, READ_PAGE).await;
        let snapshot = engine.snapshot().await;
        if snapshot["seq"] != page["seq"] {
            tokio::time::sleep(Duration::from_millis(150)).await;
            continue;
        }
        let cards = page["cards"].as_array().expect("cards");
        assert_eq!(cards[0]["queue"], "support", "the breach first: {page}");
        assert_eq!(cards[0]["level"], "breach");
        assert_eq!(
            cards[1]["queue"], "billing",
            "then the queue at risk: {page}"
        );
        assert_eq!(cards[1]["level"], "at_risk");
        let window = snapshot["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .position(|w| w == "15m")
            .expect("15m");
        for card in cards {
            let q = snapshot["queues"]
                .as_array()
                .expect("queues")
                .iter()
                .find(|q| q["queue"] == card["queue"])
                .expect("the card's queue is in the snapshot");
            let w = &q["windows"][window];
            assert_eq!(card["level"], q["status"]["level"], "{card}");
            assert_eq!(card["waiting"], q["waiting"].to_string(), "{card}");
            assert_eq!(card["offered"], w["offered"].to_string(), "{card}");
            assert_eq!(card["sl"], pct(&w["service_level"]["20"]), "{card}");
        }
        compared = true;
        break;
    }
    assert!(compared, "never caught the page and the API at one seq");
    assert_eq!(
        browser
            .eval("document.querySelector('[data-queue=billing] [data-k=sl]').textContent")
            .await,
        "80%"
    );

    // A team's TV: its queues only, no center or teams strip.
    browser
        .navigate(&format!("{url}?team=billing-team&layout=queues"))
        .await;
    let queues = browser
        .wait_for(
            "[...document.querySelectorAll('section.card')].map((c) => c.dataset.queue).join(',')",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(queues, "billing");

    // A group's page: its queues, and its calls merged in the KPIs (what the API says).
    browser.navigate(&format!("{url}?group=front")).await;
    let queues = browser
        .wait_for(
            "[...document.querySelectorAll('section.card')].map((c) => c.dataset.queue).sort().join(',')",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(queues, "billing,sales");
    let title = browser
        .eval("document.getElementById('title').textContent")
        .await;
    assert_eq!(title, "group front");
    let (_, body) = engine.get("/api/v1/groups/front").await;
    let group: serde_json::Value = serde_json::from_str(&body).expect("group json");
    assert_eq!(
        group["group"]["queues"],
        serde_json::json!(["billing", "sales"])
    );

    // Pages rotate (every 3 s here) when the cards do not fit.
    browser.size(1280, 720).await;
    browser.navigate(&format!("{url}?rotate=3")).await;
    browser
        .wait_for(
            "document.getElementById('page').textContent.startsWith('page 2/')",
            Duration::from_secs(15),
        )
        .await;

    // Stale: no event for 5 s turns the board grey with an overlay, within a tick and the
    // page's one-second status check. An event first, and the board loaded while it is
    // fresh: otherwise the silence since the history (as long as the checks above took)
    // would make the board stale at once, which says nothing of how soon it turns.
    produce(
        brokers,
        &[Envelope {
            event_id: "stale-check".into(),
            ts: wall_now(),
            event: Event::AgentState(AgentStateChanged {
                agent_id: "agent-4".into(),
                team: "billing-team".into(),
                state: AgentState::Available,
                reason: None,
            }),
        }],
    );
    eventually(Duration::from_secs(15), "the fresh event", || async {
        let age = engine.snapshot().await["engine"]["last_message_age_s"].as_f64();
        age.is_some_and(|age| age < 2.0).then_some(())
    })
    .await;
    browser.size(1920, 1080).await;
    browser.navigate(&format!("{url}?stale=5")).await;
    browser
        .wait_for(
            "document.body.dataset.state === 'stale'",
            Duration::from_secs(45),
        )
        .await;
    // Within the stated time: the engine's message age in the frame that turned the board
    // stale (the page records it; read afterwards, the age would include this test's own
    // delays, 13 s on a loaded CI machine): 5 s, plus a tick (1 s) for that frame, plus
    // slack for a late tick.
    let silent: f64 = browser
        .eval("document.body.dataset.staleAge")
        .await
        .as_str()
        .and_then(|age| age.parse().ok())
        .expect("the page recorded the age it turned stale at");
    assert!(
        silent > 5.0 && silent <= 5.0 + 4.0,
        "the overlay came {silent} s after the last message"
    );
    let overlay = browser
        .eval("getComputedStyle(document.getElementById('overlay')).display")
        .await;
    assert_eq!(overlay, "flex");
    let text = browser
        .eval("document.getElementById('overlay-text').textContent")
        .await;
    assert!(
        text.as_str()
            .is_some_and(|t| t.starts_with("no events for")),
        "{text}"
    );
    artefact("wallboard-stale.png", &browser.screenshot().await);
}
