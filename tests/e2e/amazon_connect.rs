//! Amazon Connect's contact records as an operator replays them: a day of generated
//! records (answered, abandoned, queue transfers, contacts that never queued), some re-sent
//! as Connect re-sends updated records, some concatenated on one line as Kinesis Data
//! Firehose writes them. Replayed with Connect's own service-level formula, each interval's
//! figures equal Connect's metrics worked out record by record: contacts queued, service
//! level ("removed from queue within X" over queued), queue answer time from
//! `Queue.Duration`, handle time = interaction + hold + after-contact work.

use std::collections::BTreeMap;
use std::process::Command;

use callpulse_e2e::callpulse_binary;
use callpulse_e2e::totals::iso;
use serde_json::{Value, json};

/// 2026-11-02T00:00:00Z.
const START: i64 = 1_793_577_600;
const X: i64 = 20;

#[derive(Debug, Default, PartialEq)]
struct Figures {
    queued: i64,
    removed_within: i64,
    answered: i64,
    queue_answer_s: i64,
    handled: i64,
    handle_s: i64,
}

/// The records, as lines, and Connect's figures per (30-minute interval, queue).
fn history() -> (Vec<String>, BTreeMap<(i64, String), Figures>) {
    let mut lines = Vec::new();
    let mut want: BTreeMap<(i64, String), Figures> = BTreeMap::new();
    let mut pending_concat: Option<String> = None;
    for i in 0..400i64 {
        let enqueued = START + 8 * 3600 + i * 97;
        let queue = ["billing", "sales"][(i % 2) as usize];
        let duration = 3 + (i * 13) % 60;
        let id = format!("c-{i}");
        let interval = enqueued - enqueued.rem_euclid(1800);
        let row = want.entry((interval, queue.to_owned())).or_default();
        let mut record = json!({
            "AWSAccountId": "123456789012", "Channel": "VOICE", "ContactId": id,
            "InitiationMethod": "INBOUND", "InitiationTimestamp": iso(enqueued - 15),
            "CustomerEndpoint": {"Address": format!("+49301{:05}", i % 150), "Type": "TELEPHONE_NUMBER"},
            "Queue": {"Name": queue, "EnqueueTimestamp": iso(enqueued),
                      "DequeueTimestamp": iso(enqueued + duration), "Duration": duration},
        });
        if i % 25 == 7 {
            // Never queued: an outbound call. Counts nowhere.
            record["InitiationMethod"] = json!("OUTBOUND");
            record["Queue"] = Value::Null;
            lines.push(record.to_string());
            continue;
        }
        row.queued += 1;
        match i % 5 {
            // Abandoned.
            3 => {
                record["DisconnectTimestamp"] = json!(iso(enqueued + duration));
                record["DisconnectReason"] = json!("CUSTOMER_DISCONNECT");
                row.removed_within += i64::from(duration <= X);
            }
            // Transferred to the retention queue while waiting; answered there.
            4 => {
                let next = format!("c-{i}-t");
                record["NextContactId"] = json!(next);
                record["DisconnectTimestamp"] = json!(iso(enqueued + duration));
                lines.push(record.to_string());
                let second_at = enqueued + duration;
                let second_interval = second_at - second_at.rem_euclid(1800);
                let r2 = want
                    .entry((second_interval, "retention".to_owned()))
                    .or_default();
                r2.queued += 1;
                r2.removed_within += 1;
                r2.answered += 1;
                r2.queue_answer_s += 5;
                r2.handled += 1;
                r2.handle_s += 200 + 10 + 30;
                let second = json!({
                    "ContactId": next, "InitialContactId": id, "PreviousContactId": id,
                    "InitiationMethod": "QUEUE_TRANSFER", "Channel": "VOICE",
                    "DisconnectTimestamp": iso(second_at + 5 + 210),
                    "Queue": {"Name": "retention", "EnqueueTimestamp": iso(second_at), "Duration": 5},
                    "Agent": {"Username": "rita", "ConnectedToAgentTimestamp": iso(second_at + 5),
                              "AgentInteractionDuration": 200, "CustomerHoldDuration": 10,
                              "AfterContactWorkDuration": 30}
                });
                lines.push(second.to_string());
                continue;
            }
            // Answered.
            _ => {
                let talk = 60 + (i * 7) % 300;
                let hold = if i % 3 == 0 { 20 } else { 0 };
                let acw = 15 + i % 40;
                let connected = enqueued + duration;
                record["DisconnectTimestamp"] = json!(iso(connected + talk + hold));
                record["Agent"] = json!({
                    "Username": format!("agent-{}", i % 7), "ConnectedToAgentTimestamp": iso(connected),
                    "AgentInteractionDuration": talk, "CustomerHoldDuration": hold,
                    "AfterContactWorkDuration": acw,
                    "AfterContactWorkEndTimestamp": iso(connected + talk + hold + acw)
                });
                row.removed_within += i64::from(duration <= X);
                row.answered += 1;
                row.queue_answer_s += duration;
                row.handled += 1;
                row.handle_s += talk + hold + acw;
            }
        }
        let text = record.to_string();
        if i % 11 == 0 {
            // Re-sent later, as Connect does with an updated record.
            lines.push(text.clone());
        }
        match pending_concat.take() {
            // Two records on one line, as Firehose writes them.
            Some(prev) => lines.push(format!("{prev}{text}")),
            None if i % 9 == 0 => pending_concat = Some(text),
            None => lines.push(text),
        }
    }
    lines.extend(pending_concat);
    lines.push("{\"not\": \"a record\"}".to_owned());
    (lines, want)
}

fn number(row: &Value, key: &str) -> i64 {
    match &row[key] {
        Value::Null => 0,
        v => v
            .as_f64()
            .map_or_else(|| panic!("{key} in {row}"), |v| v.round() as i64),
    }
}

#[test]
fn connect_records_replay_to_connects_own_metrics() {
    let (lines, want) = history();
    let dir = std::env::temp_dir().join(format!("callpulse-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (records, config) = (dir.join("ctr.json"), dir.join("callpulse.toml"));
    std::fs::write(&records, lines.join("\n") + "\n").expect("write");
    // Connect counts every abandon, however short, and calls "service level" the contacts
    // removed from the queue within X.
    std::fs::write(
        &config,
        format!(
            "[metrics.default_queue]\nsl_thresholds_secs = [{X}]\nsl_formula = \"removed_within\"\n\
             short_abandon_secs = 0\nabandon_rate_excludes_short = false\n"
        ),
    )
    .expect("config");
    let out = Command::new(callpulse_binary())
        .args(["replay", "--log-format", "json", "--from", "amazon-connect"])
        .arg(&records)
        .args(["--report", "30m", "--config"])
        .arg(&config)
        .output()
        .expect("callpulse replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "replay failed: {stderr}");
    let mut got: BTreeMap<(i64, String), Figures> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Value = serde_json::from_str(line).expect("ndjson row");
        let queue = row["queue"].as_str().expect("queue").to_owned();
        if queue == "*" || number(&row, "offered") == 0 {
            continue;
        }
        let start =
            chrono::DateTime::parse_from_rfc3339(row["interval_start"].as_str().expect("start"))
                .expect("rfc3339")
                .timestamp();
        assert_eq!(row["sl_formula"], "removed_within");
        got.insert(
            (start, queue),
            Figures {
                queued: number(&row, "offered"),
                removed_within: number(&row["sl_numerator"], &X.to_string()),
                answered: number(&row, "answered"),
                queue_answer_s: number(&row, "wait_sum_s"),
                handled: number(&row, "completed"),
                handle_s: number(&row, "handle_sum_s"),
            },
        );
    }
    assert_eq!(got, want, "{stderr}");
    // Re-sent records were recognised, the foreign line refused and counted.
    assert!(stderr.contains("\"resent\":"), "{stderr}");
    assert!(stderr.contains("not_a_record"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
