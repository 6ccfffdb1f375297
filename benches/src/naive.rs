//! The naive baseline of the replay benchmark: what a competent newcomer writes in an
//! afternoon for a *small* job, single-threaded, with no care for speed beyond the obvious.
//!
//! The job: from an NDJSON file of call events, per queue and minute (event time), count
//! offered, answered and abandoned calls, answered within 20 s, the waits of answered calls
//! (joined with their `call_queued`, by call id) and the handle time of completed calls;
//! then, over 15-minute windows sliding by one minute, each queue's offered, answered,
//! abandoned, service level (answered within 20 s / answered), ASA and AHT. Typed
//! `serde_json` decode into one struct of optional fields, `chrono` for timestamps, a
//! `HashMap` keyed by `(queue, minute)` and one by call id.
//!
//! It is the yardstick, not a competitor: it computes a fraction of what `callpulse replay`
//! does (no dedupe, no transfers, no parking of early outcomes, no lateness, no
//! histograms, no percentiles, no FCR, agents or tickets, no calendar periods), so a ratio
//! of 1 would mean the full catalogue costs no more than this.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;

/// The SL threshold of the small job.
pub const SL_MS: i64 = 20_000;
/// The sliding window of the small job, in minutes.
pub const WINDOW_MINS: i64 = 15;

#[derive(Debug, Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    ts: String,
    call_id: Option<String>,
    queue: Option<String>,
    talk_ms: Option<i64>,
    hold_ms: Option<i64>,
    acw_ms: Option<i64>,
}

/// One queue's figures in one minute.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub completed: u64,
    pub within_sl: u64,
    pub wait_ms: i64,
    pub handle_ms: i64,
}

/// One output row: a queue's 15-minute window ending with minute `end_minute`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub queue: String,
    pub end_minute: i64,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub service_level: Option<f64>,
    pub asa_s: Option<f64>,
    pub aht_s: Option<f64>,
}

/// What a run produced: the per-minute table, the rows and how many lines it read.
#[derive(Debug, Default)]
pub struct Naive {
    pub minutes: HashMap<(String, i64), Minute>,
    pub rows: Vec<Row>,
    pub lines: u64,
    pub bad: u64,
}

/// Runs the small job over `input`.
pub fn run(input: impl BufRead) -> Naive {
    let mut out = Naive::default();
    let mut queued_at: HashMap<String, i64> = HashMap::new();
    for line in input.lines() {
        let Ok(line) = line else {
            out.bad += 1;
            continue;
        };
        out.lines += 1;
        let Ok(event) = serde_json::from_str::<Line>(&line) else {
            out.bad += 1;
            continue;
        };
        let Ok(ts) = chrono::DateTime::parse_from_rfc3339(&event.ts) else {
            out.bad += 1;
            continue;
        };
        let ms = ts.timestamp_millis();
        let (Some(call), Some(queue)) = (event.call_id, event.queue) else {
            continue;
        };
        let minute = ms.div_euclid(60_000);
        let slot = out.minutes.entry((queue, minute)).or_default();
        match event.kind.as_str() {
            "call_queued" => {
                slot.offered += 1;
                queued_at.insert(call, ms);
            }
            "call_answered" => {
                slot.answered += 1;
                if let Some(at) = queued_at.get(&call) {
                    let wait = (ms - at).max(0);
                    slot.wait_ms += wait;
                    slot.within_sl += u64::from(wait <= SL_MS);
                }
            }
            "call_abandoned" => {
                slot.abandoned += 1;
                queued_at.remove(&call);
            }
            "call_completed" => {
                slot.completed += 1;
                slot.handle_ms += event.talk_ms.unwrap_or(0)
                    + event.hold_ms.unwrap_or(0)
                    + event.acw_ms.unwrap_or(0);
                queued_at.remove(&call);
            }
            _ => {}
        }
    }
    out.rows = windows(&out.minutes);
    out
}

/// The sliding windows over the per-minute table, per queue, from its first minute to its
/// last.
fn windows(minutes: &HashMap<(String, i64), Minute>) -> Vec<Row> {
    let mut span: HashMap<&str, (i64, i64)> = HashMap::new();
    for (queue, minute) in minutes.keys() {
        let s = span.entry(queue).or_insert((*minute, *minute));
        s.0 = s.0.min(*minute);
        s.1 = s.1.max(*minute);
    }
    let mut rows = Vec::new();
    for (queue, (first, last)) in span {
        for end in first..=last {
            let mut sum = Minute::default();
            for m in end - WINDOW_MINS + 1..=end {
                if let Some(x) = minutes.get(&(queue.to_owned(), m)) {
                    sum.offered += x.offered;
                    sum.answered += x.answered;
                    sum.abandoned += x.abandoned;
                    sum.completed += x.completed;
                    sum.within_sl += x.within_sl;
                    sum.wait_ms += x.wait_ms;
                    sum.handle_ms += x.handle_ms;
                }
            }
            let per = |n: i64, d: u64| (d > 0).then(|| n as f64 / d as f64 / 1000.0);
            rows.push(Row {
                queue: queue.to_owned(),
                end_minute: end,
                offered: sum.offered,
                answered: sum.answered,
                abandoned: sum.abandoned,
                service_level: (sum.answered > 0)
                    .then(|| sum.within_sl as f64 / sum.answered as f64),
                asa_s: per(sum.wait_ms, sum.answered),
                aht_s: per(sum.handle_ms, sum.completed),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_history_gives_its_windows() {
        let input = [
            r#"{"type":"call_queued","event_id":"1","ts":"2026-11-26T10:00:00Z","call_id":"a","queue":"q"}"#,
            r#"{"type":"call_answered","event_id":"2","ts":"2026-11-26T10:00:10Z","call_id":"a","queue":"q","agent_id":"x"}"#,
            r#"{"type":"call_completed","event_id":"3","ts":"2026-11-26T10:03:10Z","call_id":"a","queue":"q","agent_id":"x","talk_ms":100000,"hold_ms":0,"acw_ms":20000}"#,
            r#"{"type":"call_queued","event_id":"4","ts":"2026-11-26T10:01:00Z","call_id":"b","queue":"q"}"#,
            r#"{"type":"call_answered","event_id":"5","ts":"2026-11-26T10:01:30Z","call_id":"b","queue":"q","agent_id":"x"}"#,
            r#"{"type":"call_queued","event_id":"6","ts":"2026-11-26T10:02:00Z","call_id":"c","queue":"q"}"#,
            r#"{"type":"call_abandoned","event_id":"7","ts":"2026-11-26T10:02:05Z","call_id":"c","queue":"q"}"#,
            "not json",
        ]
        .join("\n");
        let out = run(input.as_bytes());
        assert_eq!((out.lines, out.bad), (8, 1));
        // Minutes 10:00 to 10:03: the window ending at 10:03 holds everything.
        assert_eq!(out.rows.len(), 4);
        let last = out.rows.iter().max_by_key(|r| r.end_minute).expect("rows");
        assert_eq!((last.offered, last.answered, last.abandoned), (3, 2, 1));
        assert_eq!(last.service_level, Some(0.5));
        assert_eq!(last.asa_s, Some(20.0));
        assert_eq!(last.aht_s, Some(120.0));
    }
}
