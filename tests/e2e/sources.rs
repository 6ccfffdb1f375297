//! Asterisk's `queue_log` as an operator uses it. `callpulse replay --from
//! asterisk-queue-log` on a generated two-day log, rotated into two files in the middle of
//! calls, with every exit verb, both transfer forms, ring lines, a foreign verb, broken lines
//! and a PBX restart: each interval's figures checked against the PBX's own values worked
//! out call by call (holdtime, waittime, calltime), and the snapshot mode's totals against
//! the same. And `callpulse source asterisk-queue-log --follow` into Kafka (the mock
//! cluster) and the engine: a rotation while it follows, a SIGKILL, more lines and another
//! rotation while it is down, and the engine's totals exact: nothing lost, nothing twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use callpulse_e2e::callpulse_binary;
use callpulse_e2e::totals::queue_totals;
use serde_json::Value;

/// 2026-11-02T00:00:00Z.
const START: i64 = 1_793_577_600;
const QUEUES: [&str; 2] = ["billing", "sales"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// COMPLETECALLER / COMPLETEAGENT / BLINDTRANSFER / ATTENDEDTRANSFER, with calltime.
    Answered(i64),
    /// ABANDON / EXITWITHTIMEOUT / EXITEMPTY / EXITWITHKEY.
    Exit,
}

struct Call {
    id: usize,
    queue: &'static str,
    entered: i64,
    wait: i64,
    outcome: Outcome,
}

/// `count` calls, one every `spacing` seconds from `start`.
fn history(start: i64, count: usize, spacing: i64) -> Vec<Call> {
    (0..count)
        .map(|i| {
            let wait = 6 + (i as i64 * 7) % 80;
            Call {
                id: i,
                queue: QUEUES[i % 2],
                entered: start + i as i64 * spacing,
                wait,
                outcome: if i % 4 == 3 {
                    Outcome::Exit
                } else {
                    Outcome::Answered(60 + (i as i64 * 11) % 400)
                },
            }
        })
        .collect()
}

/// The log lines, in time order, with members added before `start` and a few lines no
/// figure comes from.
fn queue_log(calls: &[Call], start: i64) -> Vec<String> {
    let mut lines: Vec<(i64, String)> = Vec::new();
    for agent in 0..3 {
        for q in QUEUES {
            lines.push((start - 600, format!("NONE|{q}|SIP/{agent}|ADDMEMBER|")));
        }
    }
    for c in calls {
        let (id, q) = (format!("{start}.{}", c.id), c.queue);
        let agent = format!("SIP/{}", c.id % 3);
        lines.push((
            c.entered,
            format!("{id}|{q}|NONE|ENTERQUEUE||+49{}|1", 1000 + c.id),
        ));
        lines.push((c.entered + 2, format!("{id}|{q}|{agent}|RINGNOANSWER|2000")));
        // The answer or exit line is written up to a second after entry + wait, as the
        // rounding of two timestamps would have it.
        let at = c.entered + c.wait + (c.id as i64 % 2);
        match c.outcome {
            Outcome::Answered(calltime) => {
                let w = c.wait;
                lines.push((at, format!("{id}|{q}|{agent}|CONNECT|{w}|{id}.9|2")));
                let end = at + calltime;
                let line = match c.id % 4 {
                    0 => format!("{id}|{q}|{agent}|COMPLETECALLER|{w}|{calltime}|1"),
                    1 => format!("{id}|{q}|{agent}|COMPLETEAGENT|{w}|{calltime}|1"),
                    _ if c.id % 8 == 2 => {
                        format!("{id}|{q}|{agent}|BLINDTRANSFER|200|ctx|{w}|{calltime}|1")
                    }
                    _ => format!(
                        "{id}|{q}|{agent}|ATTENDEDTRANSFER|LINK|SIP/x-1|SIP/y-2|{w}|{calltime}|1"
                    ),
                };
                lines.push((end, line));
            }
            Outcome::Exit => {
                let w = c.wait;
                let line = match (c.id / 4) % 4 {
                    0 => format!("{id}|{q}|NONE|ABANDON|1|1|{w}"),
                    1 => format!("{id}|{q}|NONE|EXITWITHTIMEOUT|1|1|{w}"),
                    2 => format!("{id}|{q}|NONE|EXITEMPTY|1|1|{w}"),
                    _ => format!("{id}|{q}|NONE|EXITWITHKEY|5|1|1|{w}"),
                };
                lines.push((at, format!("{id}|{q}|{agent}|RINGCANCELED|900")));
                lines.push((at, line));
            }
        }
    }
    lines.push((start + 60, "x|billing|NONE|JOINEMPTY|1".to_owned()));
    lines.push((start + 61, "x|billing|NONE|CONNECT|soon".to_owned()));
    lines.push((start + 62, "NONE|NONE|NONE|CONFIGRELOAD|".to_owned()));
    lines.sort_by_key(|(t, _)| *t);
    let mut text: Vec<String> = lines
        .into_iter()
        .map(|(t, rest)| format!("{t}|{rest}"))
        .collect();
    text.insert(text.len() / 3, "garbage without fields".to_owned());
    text
}

#[derive(Debug, Default, PartialEq)]
struct Expected {
    offered: u64,
    answered: u64,
    abandoned: u64,
    wait_sum_s: i64,
    wait_max_s: i64,
    completed: u64,
    talk_sum_s: i64,
}

fn expected(calls: &[Call]) -> BTreeMap<(i64, String), Expected> {
    let mut rows: BTreeMap<(i64, String), Expected> = BTreeMap::new();
    for c in calls {
        let interval = c.entered - c.entered.rem_euclid(1800);
        for key in [(interval, c.queue.to_owned()), (interval, "*".to_owned())] {
            let row = rows.entry(key).or_default();
            row.offered += 1;
            match c.outcome {
                Outcome::Answered(calltime) => {
                    // The report's waits are the answered calls' (ASA's).
                    row.wait_sum_s += c.wait;
                    row.wait_max_s = row.wait_max_s.max(c.wait);
                    row.answered += 1;
                    row.completed += 1;
                    row.talk_sum_s += calltime;
                }
                Outcome::Exit => row.abandoned += 1,
            }
        }
    }
    rows
}

fn replay(files: &[&Path], extra: &[&str]) -> (String, String) {
    let out = Command::new(callpulse_binary())
        .args([
            "replay",
            "--log-format",
            "json",
            "--from",
            "asterisk-queue-log",
        ])
        .args(files)
        .args(extra)
        .output()
        .expect("callpulse replay");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "replay failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A figure of a row; `null` (a maximum over no call) reads 0.
fn number(row: &Value, key: &str) -> i64 {
    match &row[key] {
        Value::Null => 0,
        v => v
            .as_f64()
            .map_or_else(|| panic!("{key} in {row}"), |v| v.round() as i64),
    }
}

#[test]
fn a_rotated_queue_log_replays_to_the_pbxs_own_figures() {
    let calls = history(START, 2 * 24 * 60 / 9, 9 * 60);
    let lines = queue_log(&calls, START);
    let dir = std::env::temp_dir().join(format!("callpulse-queue-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // Rotated mid-stream, as logrotate does: the older half in queue_log.1, calls open
    // across the cut.
    let cut = lines.len() / 2;
    let (old, new) = (dir.join("queue_log.1"), dir.join("queue_log"));
    std::fs::write(&old, lines[..cut].join("\n") + "\n").expect("write");
    std::fs::write(&new, lines[cut..].join("\n") + "\n").expect("write");

    let (report, stderr) = replay(&[&old, &new], &["--report", "30m"]);
    let mut got: BTreeMap<(i64, String), Expected> = BTreeMap::new();
    for line in report.lines() {
        let row: Value = serde_json::from_str(line).expect("ndjson row");
        let start =
            chrono::DateTime::parse_from_rfc3339(row["interval_start"].as_str().expect("start"))
                .expect("rfc3339")
                .timestamp();
        let queue = row["queue"].as_str().expect("queue").to_owned();
        if number(&row, "offered") == 0 {
            continue;
        }
        got.insert(
            (start, queue),
            Expected {
                offered: number(&row, "offered") as u64,
                answered: number(&row, "answered") as u64,
                abandoned: number(&row, "abandoned") as u64,
                wait_sum_s: number(&row, "wait_sum_s"),
                wait_max_s: number(&row, "wait_max_s"),
                completed: number(&row, "completed") as u64,
                talk_sum_s: number(&row, "talk_sum_s"),
            },
        );
    }
    let want = expected(&calls);
    assert_eq!(got.len(), want.len(), "rows: {stderr}");
    for (key, row) in &want {
        assert_eq!(got.get(key), Some(row), "interval {key:?}");
    }
    // The broken line and the foreign verb were counted and said so.
    assert!(stderr.contains("too_few_fields"), "{stderr}");
    assert!(stderr.contains("JOINEMPTY"), "{stderr}");
    assert!(stderr.contains("bad_number"), "{stderr}");

    // Snapshot mode over the same files: the same totals.
    let (snapshot, _) = replay(&[&old, &new], &[]);
    let snapshot: Value = serde_json::from_str(&snapshot).expect("snapshot json");
    for q in QUEUES {
        let totals = snapshot["queues"]
            .as_array()
            .and_then(|qs| qs.iter().find(|x| x["queue"] == q))
            .map(|x| x["totals"].clone())
            .expect("queue in the snapshot");
        let (offered, answered, abandoned) = want
            .iter()
            .filter(|((_, queue), _)| queue == q)
            .fold((0, 0, 0), |acc, (_, r)| {
                (acc.0 + r.offered, acc.1 + r.answered, acc.2 + r.abandoned)
            });
        assert_eq!(totals["offered"], offered, "{q}: {totals}");
        assert_eq!(totals["answered"], answered, "{q}: {totals}");
        assert_eq!(totals["abandoned"], abandoned, "{q}: {totals}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Asterisk's own service levels (`queues.conf`), worked out from the log's holdtimes and
/// waittimes call by call: SL = answered within T / answered; SL2 = (answered within T +
/// abandoned within T) / (answered + abandoned), where EXITWITHKEY is no abandon. Replay,
/// configured with the vendor's formulas and exit rule, gives the same numerators and
/// denominators in every interval.
#[test]
fn asterisks_own_service_levels_per_interval() {
    const T: i64 = 30;
    let calls = history(START, 24 * 60 / 9, 9 * 60);
    let lines = queue_log(&calls, START);
    let dir = std::env::temp_dir().join(format!("callpulse-queue-log-sl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (log, config) = (dir.join("queue_log"), dir.join("callpulse.toml"));
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    std::fs::write(
        &config,
        format!(
            "[metrics.queues.billing]\nsl_thresholds_secs = [{T}]\nsl_formula = \"asterisk_sl2\"\n\
             exits_not_abandoned = [\"key\"]\n\
             [metrics.queues.sales]\nsl_thresholds_secs = [{T}]\nsl_formula = \"asterisk_sl\"\n\
             exits_not_abandoned = [\"key\"]\n"
        ),
    )
    .expect("config");
    // (numerator, denominator, key exits) per interval and queue, as Asterisk counts them.
    let mut want: BTreeMap<(i64, &str), (i64, i64, i64)> = BTreeMap::new();
    for c in &calls {
        let interval = c.entered - c.entered.rem_euclid(1800);
        let row = want.entry((interval, c.queue)).or_default();
        let within = i64::from(c.wait <= T);
        let key_exit = (c.id / 4) % 4 == 3;
        match (c.outcome, c.queue) {
            (Outcome::Answered(_), _) => {
                row.0 += within;
                row.1 += 1;
            }
            (Outcome::Exit, _) if key_exit => row.2 += 1,
            (Outcome::Exit, "billing") => {
                row.0 += within;
                row.1 += 1;
            }
            (Outcome::Exit, _) => {}
        }
    }
    let config = config.to_str().expect("utf-8 path");
    let (report, stderr) = replay(&[&log], &["--report", "30m", "--config", config]);
    let mut got: BTreeMap<(i64, &str), (i64, i64, i64)> = BTreeMap::new();
    for line in report.lines() {
        let row: Value = serde_json::from_str(line).expect("ndjson row");
        let queue = match row["queue"].as_str() {
            Some("billing") => "billing",
            Some("sales") => "sales",
            _ => continue,
        };
        if number(&row, "offered") == 0 {
            continue;
        }
        let start =
            chrono::DateTime::parse_from_rfc3339(row["interval_start"].as_str().expect("start"))
                .expect("rfc3339")
                .timestamp();
        let formula = if queue == "billing" {
            "asterisk_sl2"
        } else {
            "asterisk_sl"
        };
        assert_eq!(row["sl_formula"], formula, "{row}");
        got.insert(
            (start, queue),
            (
                number(&row["sl_numerator"], &T.to_string()),
                number(&row, "sl_denominator"),
                number(&row, "exited"),
            ),
        );
    }
    assert_eq!(got, want, "{stderr}");
    assert!(
        want.values().any(|r| r.2 > 0) && want.values().any(|r| r.0 < r.1),
        "the history has key exits and calls outside the threshold"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pbx_restart_ends_the_calls_it_lost() {
    let dir = std::env::temp_dir().join(format!(
        "callpulse-queue-log-restart-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("queue_log");
    let t = START;
    let lines = [
        format!("{}|NONE|q|SIP/1|ADDMEMBER|", t - 60),
        format!("{t}|w|q|NONE|ENTERQUEUE||1|1"),
        format!("{t}|a|q|NONE|ENTERQUEUE||2|2"),
        format!("{}|a|q|SIP/1|CONNECT|10|a.1|1", t + 10),
        format!("{}|NONE|NONE|NONE|QUEUESTART|", t + 100),
        format!("{}|n|q|NONE|ENTERQUEUE||3|1", t + 200),
        format!("{}|n|q|SIP/1|CONNECT|4|n.1|1", t + 204),
        format!("{}|n|q|SIP/1|COMPLETEAGENT|4|30|1", t + 234),
    ];
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let (snapshot, stderr) = replay(&[&log], &[]);
    let snapshot: Value = serde_json::from_str(&snapshot).expect("json");
    let totals = &snapshot["queues"][0]["totals"];
    assert_eq!(totals["offered"], 3, "{totals}");
    assert_eq!(totals["answered"], 2, "{totals}");
    assert_eq!(totals["abandoned"], 1, "{totals}");
    assert_eq!(totals["completed"], 2, "{totals}");
    // Nothing left waiting: the restart ended what it lost.
    assert_eq!(
        snapshot["queues"][0]["waiting"], 0,
        "{}",
        snapshot["queues"][0]
    );
    assert!(stderr.contains("\"lost_on_restart\":2"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn append(path: &Path, lines: &[String]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    for line in lines {
        writeln!(file, "{line}").expect("append");
    }
}

struct Bridge(std::process::Child);

impl Bridge {
    fn start(log: &Path, state: &Path, brokers: &str) -> Bridge {
        let child = Command::new(callpulse_binary())
            .args(["source", "asterisk-queue-log"])
            .arg(log)
            .args([
                "--follow",
                "--brokers",
                brokers,
                "--poll-ms",
                "100",
                "--state",
            ])
            .arg(state)
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(log.with_file_name("bridge.log"))
                    .expect("bridge log"),
            )
            .spawn()
            .expect("callpulse source");
        Bridge(child)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_follows_rotation_and_resumes_without_loss_or_duplicates() {
    use callpulse_e2e::{Engine, eventually, mock_cluster, test_config, wall_now};
    use std::time::Duration;

    let mock = mock_cluster(2);
    let brokers = mock.bootstrap_servers();
    let engine = Engine::start(test_config(&brokers, "queue-log-bridge")).await;
    // Recent enough for the live engine; every call ends well before now.
    let start = wall_now().millis() / 1000 - 2400;
    let calls = history(start, 40, 30);
    let lines = queue_log(&calls, start);
    let mut want: BTreeMap<&str, (u64, u64, u64, u64, i64)> = BTreeMap::new();
    for c in &calls {
        let t = want.entry(c.queue).or_default();
        t.0 += 1;
        match c.outcome {
            Outcome::Answered(calltime) => {
                t.1 += 1;
                t.3 += 1;
                t.4 += calltime;
            }
            Outcome::Exit => t.2 += 1,
        }
    }
    let dir = std::env::temp_dir().join(format!("callpulse-bridge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (log, rotated, state) = (
        dir.join("queue_log"),
        dir.join("queue_log.1"),
        dir.join("position.json"),
    );
    // Four cuts: each falls between a call's entry and its outcome somewhere.
    let n = lines.len();
    let parts: Vec<&[String]> = vec![
        &lines[..n / 4],
        &lines[n / 4..n / 2],
        &lines[n / 2..3 * n / 4],
        &lines[3 * n / 4..],
    ];
    let offered = |s: &Value| {
        QUEUES
            .iter()
            .filter_map(|q| queue_totals(s, q))
            .map(|t| t.0)
            .sum::<u64>()
    };

    append(&log, parts[0]);
    let bridge = Bridge::start(&log, &state, &brokers);
    eventually(Duration::from_secs(60), "the first part", || async {
        (offered(&engine.snapshot().await) > 0 && state.exists()).then_some(())
    })
    .await;
    // Rotated while followed: the old file gets its last lines after the rename, as a
    // writer that still holds it open would write them, then the new file starts.
    std::fs::rename(&log, &rotated).expect("rotate");
    let split = parts[1].len() / 2;
    append(&rotated, &parts[1][..split]);
    append(&log, &parts[1][split..]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Killed, then more is written and the log rotates again while it is down.
    drop(bridge);
    append(&log, parts[2]);
    std::fs::rename(&log, &rotated).expect("rotate again");
    append(&log, parts[3]);
    let _bridge = Bridge::start(&log, &state, &brokers);

    let want_total: u64 = want.values().map(|t| t.0).sum();
    let mut waited = 0;
    let snapshot = loop {
        let s = engine.snapshot().await;
        if offered(&s) == want_total {
            break s;
        }
        waited += 1;
        assert!(
            waited < 600,
            "offered {} of {want_total}; the bridge said:\n{}",
            offered(&s),
            std::fs::read_to_string(dir.join("bridge.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // A few more ticks: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let snapshot = {
        let again = engine.snapshot().await;
        assert_eq!(offered(&again), offered(&snapshot));
        again
    };
    for (q, t) in &want {
        assert_eq!(queue_totals(&snapshot, q).as_ref(), Some(t), "{q}");
    }
    engine.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
