//! The live partition and the report read a history through one ledger: for any history
//! (transfers, customers calling back, events of a call out of order within a couple of
//! minutes, redeliveries), the report's rows by event time add up to the live lifetime
//! totals, queue by queue, and to the live FCR outcomes once every window has closed. And
//! a long report is written as it goes, holding only the rows not yet final.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Transfer {
    WhileWaiting { to: usize, marked: bool },
    AfterAnswer { to: usize },
}

#[derive(Debug, Clone)]
struct GenCall {
    queue: usize,
    start_s: i64,
    customer: Option<u8>,
    wait_s: i64,
    /// 0 answered, 1 abandoned, 2 no outcome.
    outcome: u8,
    transfer: Option<Transfer>,
    handle_s: Option<i64>,
    csat: Option<u8>,
}

fn arb_call() -> impl Strategy<Value = GenCall> {
    let transfer = prop_oneof![
        (0usize..3, any::<bool>()).prop_map(|(to, marked)| Transfer::WhileWaiting { to, marked }),
        (0usize..3).prop_map(|to| Transfer::AfterAnswer { to }),
    ];
    (
        0usize..3,
        0i64..2 * 86_400,
        proptest::option::of(0u8..6),
        0i64..400,
        0u8..3,
        proptest::option::weighted(0.3, transfer),
        proptest::option::of(1i64..900),
        proptest::option::of(1u8..=5),
    )
        .prop_map(
            |(queue, start_s, customer, wait_s, outcome, transfer, handle_s, csat)| GenCall {
                queue,
                start_s,
                customer,
                wait_s,
                outcome,
                transfer,
                handle_s,
                csat,
            },
        )
}

const START_MS: i64 = 1_764_115_200_000; // 2025-11-26T00:00:00Z
const QUEUES: [&str; 3] = ["q0", "q1", "q2"];

fn rfc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One call's events as (time, JSON line).
fn call_events(i: usize, c: &GenCall) -> Vec<(i64, String)> {
    let id = format!("c{i}");
    let t0 = START_MS + c.start_s * 1000;
    let mut n = 0;
    let mut ev = |at: i64, body: String| {
        n += 1;
        (
            at,
            format!(r#"{{"event_id":"{id}-{n}","ts":"{}",{body}}}"#, rfc(at)),
        )
    };
    let queued = |q: usize, from: Option<usize>, customer: Option<u8>| {
        let mut s = format!(
            r#""type":"call_queued","call_id":"{id}","queue":"{}""#,
            QUEUES[q]
        );
        if let Some(from) = from {
            s += &format!(r#","transferred_from":"{}""#, QUEUES[from]);
        }
        if let Some(cust) = customer {
            s += &format!(r#","customer_id":"cust-{cust}""#);
        }
        s
    };
    let answered = |q: usize| {
        format!(
            r#""type":"call_answered","call_id":"{id}","queue":"{}","agent_id":"a""#,
            QUEUES[q]
        )
    };
    let mut out = vec![ev(t0, queued(c.queue, None, c.customer))];
    let mut queue = c.queue;
    let mut at = t0;
    if let Some(Transfer::WhileWaiting { to, marked }) = c.transfer {
        at += c.wait_s * 500;
        out.push(ev(at, queued(to, marked.then_some(queue), None)));
        queue = to;
    }
    let outcome_at = t0 + c.wait_s * 1000;
    match c.outcome {
        0 => out.push(ev(outcome_at, answered(queue))),
        1 => out.push(ev(
            outcome_at,
            format!(
                r#""type":"call_abandoned","call_id":"{id}","queue":"{}""#,
                QUEUES[queue]
            ),
        )),
        _ => {}
    }
    let mut end = outcome_at;
    if let (0, Some(Transfer::AfterAnswer { to })) = (c.outcome, &c.transfer) {
        out.push(ev(outcome_at + 30_000, queued(*to, Some(queue), None)));
        out.push(ev(outcome_at + 40_000, answered(*to)));
        queue = *to;
        end = outcome_at + 40_000;
    }
    if let (0, Some(handle_s)) = (c.outcome, c.handle_s) {
        let done = end + handle_s * 1000;
        out.push(ev(
            done,
            format!(
                r#""type":"call_completed","call_id":"{id}","queue":"{}","agent_id":"a","talk_ms":{},"hold_ms":0,"acw_ms":1000"#,
                QUEUES[queue],
                handle_s * 1000 - 1000
            ),
        ));
        if let Some(score) = c.csat {
            out.push(ev(
                done + 60_000,
                format!(
                    r#""type":"csat_response","interaction_id":"{id}","queue":"{}","score":{score}"#,
                    QUEUES[queue]
                ),
            ));
        }
    }
    out
}

/// The history in arrival order: time order, each event delayed by up to two minutes
/// (a deterministic jitter from `seed`), every `dup_every`-th event delivered twice, and a
/// last event three days on, by which every FCR window has closed.
fn history(calls: &[GenCall], seed: u64, dup_every: usize) -> Vec<Envelope> {
    let mut events: Vec<(i64, String)> = calls
        .iter()
        .enumerate()
        .flat_map(|(i, c)| call_events(i, c))
        .collect();
    let last = events.iter().map(|(at, _)| *at).max().unwrap_or(START_MS);
    let mut arrival: Vec<(i64, usize, String)> = events
        .drain(..)
        .enumerate()
        .map(|(i, (at, line))| {
            let jitter = (seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 120_000;
            (at + jitter as i64, i, line)
        })
        .collect();
    arrival.sort();
    let mut lines: Vec<String> = Vec::new();
    for (n, (_, _, line)) in arrival.into_iter().enumerate() {
        if n % dup_every == 0 {
            lines.push(line.clone());
        }
        lines.push(line);
    }
    lines.push(format!(
        r#"{{"type":"call_queued","event_id":"end","ts":"{}","call_id":"end","queue":"q0"}}"#,
        rfc(last + 3 * 86_400_000)
    ));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    decode_all(&refs)
}

/// The figures compared, from a live queue's totals and from summed report rows.
type Figures = [u64; 10];

fn live_figures(c: &crate::CallCounts) -> Figures {
    [
        c.offered,
        c.transferred_in,
        c.transferred_out,
        c.answered,
        c.abandoned,
        c.short_abandoned,
        c.answer_wait_ms,
        c.completed,
        c.talk_ms + c.hold_ms + c.acw_ms,
        c.csat_responses,
    ]
}

fn add_row(sum: &mut Figures, m: &WindowMetrics) {
    let ms = |s: f64| (s * 1000.0).round() as u64;
    let row = [
        m.offered,
        m.transferred_in,
        m.transferred_out,
        m.answered,
        m.abandoned,
        m.short_abandoned,
        ms(m.wait_sum_s),
        m.completed,
        ms(m.handle_sum_s),
        m.csat_responses,
    ];
    for (s, r) in sum.iter_mut().zip(row) {
        *s += r;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn report_rows_add_up_to_the_live_totals(
        calls in proptest::collection::vec(arb_call(), 1..60),
        seed in any::<u64>(),
        dup_every in 2usize..9,
    ) {
        let envs = history(&calls, seed, dup_every);
        let policy = Arc::new(MetricsPolicy::default());
        // Live, as `replay` runs it: facts to the tracker as they come.
        let mut part = crate::PartitionState::new(Arc::clone(&policy));
        let mut tracker = crate::FcrTracker::for_policy(&policy);
        let mut live_rejected = 0;
        for env in &envs {
            live_rejected += u64::from(part.apply(env).is_err());
            for fact in part.drain_fcr_facts() {
                tracker.apply(&fact);
            }
        }
        let end = envs.last().map(|e| e.ts).expect("events");
        // The engine moves the tracker to each tick's instant.
        tracker.advance(end);
        let snap = part.snapshot(end);
        let spec = ReportSpec {
            interval_secs: 3600,
            calendar: Calendar::utc(),
            attribution: Attribution::Event,
            sl_thresholds_override: None,
        };
        let mut builder = ReportBuilder::new(Arc::clone(&policy), spec);
        let mut rows = Vec::new();
        let mut report_rejected = 0;
        for env in &envs {
            report_rejected += u64::from(builder.apply(env).is_err());
            rows.extend(builder.take_final());
        }
        let (last, counters) = builder.finish();
        rows.extend(last);
        prop_assert_eq!(live_rejected, report_rejected);
        prop_assert_eq!(counters.late, 0);
        prop_assert_eq!(counters.orphaned, snap.counters.orphaned);
        for q in &snap.queues {
            let mut sum = Figures::default();
            for row in rows.iter().filter(|r| r.queue == *q.name) {
                add_row(&mut sum, &row.metrics);
            }
            prop_assert_eq!(sum, live_figures(&q.totals.counts), "queue {}", q.name);
        }
        let fcr = rows
            .iter()
            .filter(|r| r.queue != CENTER)
            .fold((0, 0, 0), |(e, s, o), r| (e + r.fcr_eligible, s + r.fcr_success, o + r.fcr_open));
        let live = tracker.view(end, &policy).iter().fold((0, 0, 0), |(e, s, p), (_, v)| {
            (e + v.totals.eligible, s + v.totals.success, p + v.pending)
        });
        prop_assert_eq!(fcr, live, "FCR (eligible, success, open/pending)");
    }
}

/// A month of history, one call a minute: rows are written as they become final, and the
/// builder never holds more than the rows of its settle horizon; the rows written along the
/// way are exactly the rows of the whole history, in order.
#[test]
fn a_long_report_is_written_as_it_goes_in_bounded_memory() {
    let days = 30;
    let lines: Vec<String> = (0..days * 1440)
        .flat_map(|m: i64| {
            let t = START_MS + m * 60_000;
            let q = QUEUES[(m % 3) as usize];
            [
                format!(
                    r#"{{"type":"call_queued","event_id":"q{m}","ts":"{}","call_id":"c{m}","queue":"{q}","customer_id":"k{}"}}"#,
                    rfc(t),
                    m % 500
                ),
                format!(
                    r#"{{"type":"call_answered","event_id":"a{m}","ts":"{}","call_id":"c{m}","queue":"{q}","agent_id":"a"}}"#,
                    rfc(t + 15_000)
                ),
                format!(
                    r#"{{"type":"call_completed","event_id":"d{m}","ts":"{}","call_id":"c{m}","queue":"{q}","agent_id":"a","talk_ms":100000,"hold_ms":0,"acw_ms":5000}}"#,
                    rfc(t + 130_000)
                ),
            ]
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let envs = decode_all(&refs);
    let policy = Arc::new(MetricsPolicy::default());
    let spec = ReportSpec {
        interval_secs: 1800,
        calendar: Calendar::utc(),
        attribution: Attribution::Offered,
        sl_thresholds_override: None,
    };
    let settle_ms = ReportBuilder::settle_ms(&policy, Attribution::Offered);
    // The intervals a row can still change in, plus the one filling and the one ending,
    // plus those that pass between two calls of `take_final` (997 events, 90 an interval).
    let bound = (settle_ms / 1_800_000 + 2 + 12) as usize * (QUEUES.len() + 1);
    let mut builder = ReportBuilder::new(Arc::clone(&policy), spec);
    let mut streamed = Vec::new();
    let mut most_held = 0;
    for (n, env) in envs.iter().enumerate() {
        builder.apply(env).expect("applied");
        if n % 997 == 0 {
            streamed.extend(builder.take_final());
        }
        most_held = most_held.max(builder.held_rows());
    }
    let written_early = streamed.len();
    let (last, counters) = builder.finish();
    streamed.extend(last);
    assert!(most_held <= bound, "held {most_held} rows, bound {bound}");
    assert!(
        written_early > streamed.len() * 9 / 10,
        "most rows are written before the end: {written_early} of {}",
        streamed.len()
    );
    assert_eq!(streamed.len(), days as usize * 48 * (QUEUES.len() + 1));
    let offered: u64 = streamed
        .iter()
        .filter(|r| r.queue == CENTER)
        .map(|r| r.metrics.offered)
        .sum();
    assert_eq!(offered, days as u64 * 1440);
    assert_eq!((counters.late, counters.orphaned), (0, 0));
    let keys: Vec<(&str, &str)> = streamed
        .iter()
        .map(|r| (r.interval_start.as_str(), r.queue.as_str()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "in order");
    // Each customer calls every 500 minutes, within the 24 h window: every settled
    // contact was repeated; the windows of the last day are still open at the end.
    let (eligible, success, open) = streamed
        .iter()
        .filter(|r| r.queue == CENTER)
        .fold((0, 0, 0), |(e, s, o), r| {
            (e + r.fcr_eligible, s + r.fcr_success, o + r.fcr_open)
        });
    assert_eq!(eligible + open, days as u64 * 1440);
    assert_eq!(success, 0);
    assert!(open > 0);
}
