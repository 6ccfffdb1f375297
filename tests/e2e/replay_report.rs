//! `callpulse replay --report` as a user runs it, on a generated three-day history whose
//! answers the test works out on its own (naively, call by call): gzip and stdin input,
//! both attributions, CSV, a DST day in a real zone, and bad lines among the good ones.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use callpulse_e2e::callpulse_binary;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

/// One generated call and everything that happened to it.
struct Call {
    id: usize,
    queue: &'static str,
    customer: String,
    queued_ms: i64,
    wait_s: i64,
    answered: bool,
    handle: Option<(i64, i64, i64)>,
    csat: Option<u8>,
}

/// 2026-10-23T22:00Z: midnight in Berlin on the 24th; the 25th is a 25-hour day there.
const START_MS: i64 = 1_792_792_800_000;
const STEP_MS: i64 = 7 * 60 * 1000;

fn history() -> Vec<Call> {
    (0..3 * 24 * 60 / 7)
        .map(|i| {
            let answered = i % 5 != 0;
            // Every tenth call's customer rings back 7 minutes later: that contact is not
            // resolved first time.
            let customer = if i % 10 == 4 { i - 1 } else { i };
            Call {
                id: i,
                queue: if i % 3 == 0 { "sales" } else { "billing" },
                customer: format!("cust-{customer}"),
                queued_ms: START_MS + i as i64 * STEP_MS,
                wait_s: (i as i64 * 13) % 90,
                answered,
                handle: answered.then(|| {
                    (
                        120_000 + (i as i64 % 60) * 1000,
                        (i as i64 % 3) * 10_000,
                        30_000,
                    )
                }),
                csat: (answered && i % 4 == 0).then(|| 1 + (i % 5) as u8),
            }
        })
        .collect()
}

fn rfc(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The history as NDJSON, events of a call out of order now and then, plus bad lines.
fn ndjson(calls: &[Call]) -> String {
    let mut lines = Vec::new();
    for c in calls {
        let outcome_ms = c.queued_ms + c.wait_s * 1000;
        let mut events = vec![
            json!({"type": "call_queued", "event_id": format!("q{}", c.id),
            "ts": rfc(c.queued_ms), "call_id": format!("c{}", c.id), "queue": c.queue,
            "customer_id": c.customer}),
        ];
        if c.answered {
            events.push(
                json!({"type": "call_answered", "event_id": format!("a{}", c.id),
                "ts": rfc(outcome_ms), "call_id": format!("c{}", c.id), "queue": c.queue,
                "agent_id": "agent-1"}),
            );
        } else {
            events.push(
                json!({"type": "call_abandoned", "event_id": format!("x{}", c.id),
                "ts": rfc(outcome_ms), "call_id": format!("c{}", c.id), "queue": c.queue}),
            );
        }
        if let Some((talk, hold, acw)) = c.handle {
            let done = outcome_ms + talk + hold + acw;
            events.push(
                json!({"type": "call_completed", "event_id": format!("d{}", c.id),
                "ts": rfc(done), "call_id": format!("c{}", c.id), "queue": c.queue,
                "agent_id": "agent-1", "talk_ms": talk, "hold_ms": hold, "acw_ms": acw}),
            );
            if let Some(score) = c.csat {
                events.push(
                    json!({"type": "csat_response", "event_id": format!("s{}", c.id),
                    "ts": rfc(done + 60_000), "interaction_id": format!("c{}", c.id),
                    "queue": c.queue, "score": score}),
                );
            }
        }
        if c.id % 6 == 1 {
            events.reverse();
        }
        lines.extend(events.iter().map(Value::to_string));
        if c.id % 50 == 7 {
            lines.push(events[0].to_string()); // a redelivery
            lines.push("{\"type\": \"call_queued\", truncated".to_owned());
            lines.push(String::new());
        }
    }
    lines.join("\n") + "\n"
}

/// What a row should say, worked out call by call.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    offered: u64,
    answered: u64,
    abandoned: u64,
    short: u64,
    within_20: u64,
    within_60: u64,
    wait_sum_ms: i64,
    waits: Vec<i64>,
    completed: u64,
    handle_ms: i64,
    csat: u64,
    csat_top: u64,
    fcr_eligible: u64,
    fcr_success: u64,
}

fn expected(
    calls: &[Call],
    interval_of: impl Fn(i64) -> i64,
    by_offer: bool,
) -> BTreeMap<(i64, String), Expected> {
    let end_ms = calls
        .iter()
        .map(|c| {
            let out = c.queued_ms + c.wait_s * 1000;
            c.handle.map_or(out, |(t, h, a)| out + t + h + a + 60_000)
        })
        .max()
        .expect("calls");
    let mut rows: BTreeMap<(i64, String), Expected> = BTreeMap::new();
    for c in calls {
        let outcome_ms = c.queued_ms + c.wait_s * 1000;
        let key_at = |event_ms: i64| interval_of(if by_offer { c.queued_ms } else { event_ms });
        for queue in [c.queue, "*"] {
            let row = |ms: i64| (key_at(ms), queue.to_owned());
            rows.entry(row(c.queued_ms)).or_default().offered += 1;
            let r = rows.entry(row(outcome_ms)).or_default();
            if c.answered {
                r.answered += 1;
                r.within_20 += u64::from(c.wait_s <= 20);
                r.within_60 += u64::from(c.wait_s <= 60);
                r.wait_sum_ms += c.wait_s * 1000;
                r.waits.push(c.wait_s * 1000);
            } else {
                r.abandoned += 1;
                r.short += u64::from(c.wait_s < 5);
            }
            if let Some((talk, hold, acw)) = c.handle {
                let done = outcome_ms + talk + hold + acw;
                let r = rows.entry(row(done)).or_default();
                r.completed += 1;
                r.handle_ms += talk + hold + acw;
                if done + 24 * 3600 * 1000 <= end_ms {
                    r.fcr_eligible += 1;
                    let repeat = calls.iter().any(|o| {
                        o.customer == c.customer
                            && o.queued_ms > c.queued_ms
                            && o.queued_ms <= done + 24 * 3600 * 1000
                    });
                    r.fcr_success += u64::from(!repeat);
                }
                if let Some(score) = c.csat {
                    let r = rows.entry(row(done + 60_000)).or_default();
                    r.csat += 1;
                    r.csat_top += u64::from(score >= 4);
                }
            }
        }
    }
    rows
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("callpulse-replay-{}-{name}", std::process::id()))
}

/// Runs `callpulse replay` with `args`, the 20 s and 60 s thresholds, and `stdin`.
fn run(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(callpulse_binary())
        .arg("replay")
        .args(args)
        .args(["--sl-threshold", "20", "--sl-threshold", "60"])
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("replay starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let text = text.to_owned();
        std::thread::spawn(move || pipe.write_all(text.as_bytes()).expect("feed stdin"));
    }
    let out = child.wait_with_output().expect("replay runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "replay failed: {stderr}");
    assert!(
        stderr.contains("malformed_json"),
        "bad lines are reported: {stderr}"
    );
    String::from_utf8(out.stdout).expect("utf-8 report")
}

fn rows_of(report: &str) -> Vec<Value> {
    report
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn ms_of(rfc3339: &Value) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339.as_str().expect("string"))
        .expect("RFC 3339")
        .timestamp_millis()
}

/// serde_json parses floats to within one unit in the last place, not always exactly.
#[track_caller]
fn assert_close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1.0),
            "{what}: {g} vs {w}"
        ),
        _ => assert_eq!(got, want, "{what}"),
    }
}

fn check(rows: &[Value], want: &BTreeMap<(i64, String), Expected>) {
    assert_eq!(rows.len(), want.len(), "one row per queue and interval");
    let keys: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                ms_of(&r["interval_start"]),
                r["queue"].as_str().expect("queue").to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "sorted by interval, then queue"
    );
    for (row, key) in rows.iter().zip(&keys) {
        let e = &want[key];
        let n = |k: &str| row[k].as_u64().unwrap_or_else(|| panic!("{k} in {row}"));
        let what = format!("{key:?}");
        assert_eq!(
            (
                n("offered"),
                n("answered"),
                n("abandoned"),
                n("short_abandoned")
            ),
            (e.offered, e.answered, e.abandoned, e.short),
            "{what}"
        );
        assert_eq!(row["answered_within"]["20"], json!(e.within_20), "{what}");
        assert_eq!(row["answered_within"]["60"], json!(e.within_60), "{what}");
        let den = e.answered + e.abandoned - e.short;
        assert_eq!(n("sl_denominator"), den, "{what}");
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        assert_close(
            row["service_level"]["20"].as_f64(),
            ratio(e.within_20, den),
            &what,
        );
        assert_close(
            row["abandon_rate"].as_f64(),
            ratio(e.abandoned - e.short, e.offered - e.short),
            &what,
        );
        assert_close(
            row["wait_sum_s"].as_f64(),
            Some(e.wait_sum_ms as f64 / 1000.0),
            &what,
        );
        assert_close(
            row["asa_s"].as_f64(),
            ratio(e.wait_sum_ms as u64, e.answered).map(|ms| ms / 1000.0),
            &what,
        );
        let mut waits = e.waits.clone();
        waits.sort_unstable();
        assert_close(
            row["wait_max_s"].as_f64(),
            waits.last().map(|ms| *ms as f64 / 1000.0),
            &what,
        );
        // Percentiles come from a 2-significant-digit histogram: within 1 % (or 10 ms).
        if !waits.is_empty() {
            let rank = ((0.9 * waits.len() as f64).ceil() as usize).max(1) - 1;
            let naive = waits[rank] as f64 / 1000.0;
            let got = row["wait_p90_s"].as_f64().expect("p90");
            assert!(
                (got - naive).abs() <= (naive * 0.01).max(0.01),
                "{what}: p90 {got} vs {naive}"
            );
        }
        assert_eq!(n("completed"), e.completed, "{what}");
        assert_close(
            row["handle_sum_s"].as_f64(),
            Some(e.handle_ms as f64 / 1000.0),
            &what,
        );
        assert_eq!(
            (n("fcr_success"), n("fcr_eligible")),
            (e.fcr_success, e.fcr_eligible),
            "{what}"
        );
        assert_close(
            row["fcr"].as_f64(),
            ratio(e.fcr_success, e.fcr_eligible),
            &what,
        );
        assert_eq!(n("csat_responses"), e.csat, "{what}");
        assert_close(row["csat"].as_f64(), ratio(e.csat_top, e.csat), &what);
    }
}

#[test]
fn interval_reports_match_a_known_history() {
    let calls = history();
    let text = ndjson(&calls);
    let gz = temp_path("history.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip end");
    let gz_arg = gz.to_str().expect("utf-8 path");
    let half_hour = |ms: i64| ms.div_euclid(1_800_000) * 1_800_000;

    // Offered attribution (the default), 30-minute UTC intervals, from the gzip file.
    let offered = rows_of(&run(&["--report", "30m", gz_arg], None));
    check(&offered, &expected(&calls, half_hour, true));

    // Event attribution, the same history from stdin.
    let by_event = rows_of(&run(
        &["--report", "30m", "--attribute-to", "event", "-"],
        Some(&text),
    ));
    check(&by_event, &expected(&calls, half_hour, false));
    assert_ne!(offered, by_event, "the attributions differ on this history");

    // The scorecard per interval: every call is agent-1's (team `unknown`: the history has
    // no agent_state), so its rows hold the center's completed calls, handle time and
    // repeat-contact FCR of each interval, by event time, as the queue report does.
    let agent_rows = rows_of(&run(&["--report", "30m", "--rows", "agent", gz_arg], None));
    let center: BTreeMap<String, &Value> = by_event
        .iter()
        .filter(|r| r["queue"] == "*" && r["completed"].as_u64() > Some(0))
        .map(|r| (r["interval_start"].as_str().expect("start").to_owned(), r))
        .collect();
    let with_calls: Vec<&Value> = agent_rows
        .iter()
        .filter(|r| r["completed"].as_u64() > Some(0))
        .collect();
    assert_eq!(
        with_calls.len(),
        center.len(),
        "one agent row per interval with calls"
    );
    for row in with_calls {
        assert_eq!(
            (&row["agent"], &row["team"]),
            (&json!("agent-1"), &json!("unknown"))
        );
        let star = center[row["interval_start"].as_str().expect("start")];
        assert_eq!(row["completed"], star["completed"], "{row}");
        assert_close(row["aht_s"].as_f64(), star["aht_s"].as_f64(), "aht");
        assert_eq!(row["team_aht_s"], row["aht_s"], "the team is agent-1 alone");
        for key in ["fcr_eligible", "fcr_success", "fcr_open"] {
            assert_eq!(row[key], star[key], "{key}: {row}");
        }
        assert_eq!(row["team_fcr"], row["fcr"], "the team is agent-1 alone");
    }
    let total = |rows: &[Value], key: &str| -> u64 {
        rows.iter()
            .filter(|r| r.get("queue").is_none_or(|q| q == "*"))
            .map(|r| r[key].as_u64().expect(key))
            .sum()
    };
    assert!(
        total(&agent_rows, "fcr_eligible") > 0,
        "the history repeats"
    );
    for key in ["fcr_eligible", "fcr_success", "fcr_open"] {
        assert_eq!(total(&agent_rows, key), total(&by_event, key), "{key}");
    }

    // Days in Berlin: the 25th has 25 hours, and every day starts at local midnight.
    let berlin = chrono_tz::Europe::Berlin;
    let local_day = |ms: i64| {
        let local = Utc
            .timestamp_millis_opt(ms)
            .single()
            .expect("time")
            .with_timezone(&berlin);
        berlin
            .from_local_datetime(&local.date_naive().and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .expect("midnight exists")
            .timestamp_millis()
    };
    let days = rows_of(&run(
        &["--report", "1d", "--tz", "Europe/Berlin", gz_arg],
        None,
    ));
    check(&days, &expected(&calls, local_day, true));
    let fall_back = days
        .iter()
        .find(|r| r["interval_start"] == "2026-10-25T00:00:00+02:00" && r["queue"] == "*")
        .expect("the DST day");
    assert_eq!(fall_back["interval_end"], "2026-10-26T00:00:00+01:00");
    assert_eq!(
        ms_of(&fall_back["interval_end"]) - ms_of(&fall_back["interval_start"]),
        25 * 3600 * 1000
    );

    // CSV: a header, the same rows, thresholds as columns.
    let csv = run(
        &[
            "--report",
            "1d",
            "--tz",
            "Europe/Berlin",
            "--format",
            "csv",
            gz_arg,
        ],
        None,
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for column in [
        "interval_start",
        "queue",
        "answered_within_20s",
        "service_level_60s",
        "fcr",
        "csat",
    ] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), days.len());
    let offered_col = header
        .iter()
        .position(|c| *c == "offered")
        .expect("offered");
    for (line, row) in body.iter().zip(&days) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len());
        assert_eq!(fields[offered_col], row["offered"].to_string());
    }
    let _ = std::fs::remove_file(&gz);
}
