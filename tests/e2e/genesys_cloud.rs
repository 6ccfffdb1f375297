//! Genesys Cloud conversation details as an operator replays them: a day of generated
//! conversations (answered, abandoned, transferred between queues while waiting), each
//! answered one read twice as the analytics API returns it while the agent is in wrap-up
//! and again once it is over, half of them as whole query responses. Each interval's
//! figures equal Genesys' own metrics worked out conversation by conversation: nOffered,
//! answers and tAnswered, abandons, handle time = tTalkComplete + tHeldComplete + tAcw.

use std::collections::BTreeMap;
use std::process::Command;

use callpulse_e2e::callpulse_binary;
use serde_json::{Value, json};

/// 2026-11-02T00:00:00Z.
const START: i64 = 1_793_577_600;

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Default, PartialEq)]
struct Figures {
    offered: i64,
    answered: i64,
    answered_ms: i64,
    abandoned: i64,
    handled: i64,
    handle_ms: i64,
}

fn acd(name: &str, start: i64, end: i64, metrics: Value) -> Value {
    json!({"purpose": "acd", "participantName": name, "sessions": [{"mediaType": "voice",
        "segments": [{"segmentStart": iso(start), "segmentEnd": iso(end), "segmentType": "interact", "queueId": format!("q-{name}")}],
        "metrics": metrics}]})
}

fn agent(
    name: &str,
    queue: &str,
    answered: i64,
    talk: i64,
    hold: i64,
    acw: i64,
    wrapup_over: bool,
) -> Value {
    let mut wrapup = json!({"segmentStart": iso(answered + talk + hold), "segmentType": "wrapup", "queueId": format!("q-{queue}")});
    if wrapup_over {
        wrapup["segmentEnd"] = json!(iso(answered + talk + hold + acw));
    }
    let mut metrics = vec![
        json!({"name": "tTalk", "value": talk * 1000}),
        json!({"name": "tTalkComplete", "value": talk * 1000}),
        json!({"name": "tHeldComplete", "value": hold * 1000}),
    ];
    if wrapup_over {
        metrics.push(json!({"name": "tAcw", "value": acw * 1000}));
    }
    json!({"purpose": "agent", "participantName": name, "userId": format!("u-{name}"), "sessions": [{"mediaType": "voice",
        "segments": [
            {"segmentStart": iso(answered), "segmentEnd": iso(answered + talk + hold), "segmentType": "interact", "queueId": format!("q-{queue}")},
            wrapup
        ],
        "metrics": metrics}]})
}

/// The lines and Genesys' figures per (30-minute interval by the leg's offer, queue).
fn history() -> (Vec<String>, BTreeMap<(i64, String), Figures>) {
    let mut lines = Vec::new();
    let mut want: BTreeMap<(i64, String), Figures> = BTreeMap::new();
    let mut batch = Vec::new();
    for i in 0..300i64 {
        let offered = START + 9 * 3600 + i * 113;
        let queue = ["Support", "Sales"][(i % 2) as usize];
        let wait = 4 + (i * 11) % 70;
        let id = format!("conv-{i}");
        let customer = json!({"purpose": "customer", "sessions": [{"mediaType": "voice", "ani": format!("tel:+49301{:04}", i % 120),
            "segments": [{"segmentStart": iso(offered - 20), "segmentType": "interact"}]}]});
        let conversation = match i % 5 {
            2 => {
                leg(&mut want, offered, queue).abandoned += 1;
                json!({"conversationId": id, "participants": [customer,
                    acd(queue, offered, offered + wait, json!([{"name": "nOffered", "value": 1}, {"name": "tAbandon", "value": wait * 1000}, {"name": "tAcd", "value": wait * 1000}]))]})
            }
            4 => {
                // Sales to Retention while waiting; answered in Retention.
                leg(&mut want, offered, queue);
                let second = offered + wait;
                let (talk, hold, acw) = (120 + i % 60, 0, 20);
                let row = leg(&mut want, second, "Retention");
                row.answered += 1;
                row.answered_ms += 6000;
                row.handled += 1;
                row.handle_ms += (talk + hold + acw) * 1000;
                json!({"conversationId": id, "participants": [customer,
                    acd(queue, offered, second, json!([{"name": "nOffered", "value": 1}, {"name": "tAcd", "value": wait * 1000}])),
                    acd("Retention", second, second + 6, json!([{"name": "nOffered", "value": 1}, {"name": "tAnswered", "value": 6000}])),
                    agent("rita", "Retention", second + 6, talk, hold, acw, true)]})
            }
            _ => {
                let (talk, hold, acw) = (
                    60 + (i * 7) % 300,
                    if i % 3 == 0 { 25 } else { 0 },
                    10 + i % 30,
                );
                let row = leg(&mut want, offered, queue);
                row.answered += 1;
                row.answered_ms += wait * 1000;
                row.handled += 1;
                row.handle_ms += (talk + hold + acw) * 1000;
                let parts = |over: bool| {
                    json!({"conversationId": id, "participants": [customer.clone(),
                    acd(queue, offered, offered + wait, json!([{"name": "nOffered", "value": 1}, {"name": "tAnswered", "value": wait * 1000}, {"name": "tAcd", "value": wait * 1000}])),
                    agent(&format!("agent-{}", i % 6), queue, offered + wait, talk, hold, acw, over)]})
                };
                // Read once during wrap-up, as the API returns a conversation in progress.
                lines.push(parts(false).to_string());
                parts(true)
            }
        };
        if i % 2 == 0 {
            lines.push(conversation.to_string());
        } else {
            batch.push(conversation);
            if batch.len() == 5 {
                lines.push(json!({"conversations": batch, "totalHits": 5}).to_string());
                batch = Vec::new();
            }
        }
    }
    if !batch.is_empty() {
        lines.push(json!({"conversations": batch}).to_string());
    }
    (lines, want)
}

/// The row of the leg offered to `queue` at `t`, counted as offered.
fn leg<'a>(want: &'a mut BTreeMap<(i64, String), Figures>, t: i64, queue: &str) -> &'a mut Figures {
    let row = want
        .entry((t - t.rem_euclid(1800), queue.to_owned()))
        .or_default();
    row.offered += 1;
    row
}

fn number(row: &Value, key: &str) -> i64 {
    match &row[key] {
        Value::Null => 0,
        v => v
            .as_f64()
            .map_or_else(|| panic!("{key} in {row}"), |v| (v * 1000.0).round() as i64),
    }
}

#[test]
fn genesys_conversations_replay_to_genesys_own_metrics() {
    let (lines, want) = history();
    let dir = std::env::temp_dir().join(format!("callpulse-genesys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("conversations.json");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    let out = Command::new(callpulse_binary())
        .args(["replay", "--log-format", "json", "--from", "genesys-cloud"])
        .arg(&file)
        .args(["--report", "30m"])
        .output()
        .expect("callpulse replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "replay failed: {stderr}");
    let mut got: BTreeMap<(i64, String), Figures> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Value = serde_json::from_str(line).expect("ndjson row");
        let queue = row["queue"].as_str().expect("queue").to_owned();
        if queue == "*" || row["offered"] == 0 {
            continue;
        }
        let start =
            chrono::DateTime::parse_from_rfc3339(row["interval_start"].as_str().expect("start"))
                .expect("rfc3339")
                .timestamp();
        let count = |k: &str| row[k].as_i64().unwrap_or_else(|| panic!("{k} in {row}"));
        got.insert(
            (start, queue),
            Figures {
                offered: count("offered"),
                answered: count("answered"),
                answered_ms: number(&row, "wait_sum_s"),
                abandoned: count("abandoned"),
                handled: count("completed"),
                handle_ms: number(&row, "handle_sum_s"),
            },
        );
    }
    assert_eq!(got, want, "{stderr}");
    assert!(stderr.contains("\"repeated\":"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
