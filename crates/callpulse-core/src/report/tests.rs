use callpulse_events::{DecodeLimits, decode};

use super::*;

/// A small history with known answers (UTC, 30-minute intervals, default policy: SL 20 s,
/// short abandons under 5 s, FCR window 24 h).
const HISTORY: &str = r#"
{"type":"call_queued","event_id":"1","ts":"2026-11-26T09:10:00Z","call_id":"c1","queue":"billing","customer_id":"A"}
{"type":"call_answered","event_id":"2","ts":"2026-11-26T09:10:15Z","call_id":"c1","queue":"billing","agent_id":"a1"}
{"type":"call_completed","event_id":"3","ts":"2026-11-26T09:20:00Z","call_id":"c1","queue":"billing","agent_id":"a1","talk_ms":300000,"hold_ms":0,"acw_ms":60000,"resolved":true}
{"type":"csat_response","event_id":"4","ts":"2026-11-26T09:21:00Z","interaction_id":"c1","queue":"billing","score":5}
{"type":"call_abandoned","event_id":"6","ts":"2026-11-26T09:25:03Z","call_id":"c2","queue":"billing"}
{"type":"call_queued","event_id":"5","ts":"2026-11-26T09:25:00Z","call_id":"c2","queue":"billing"}
{"type":"call_queued","event_id":"7","ts":"2026-11-26T09:29:50Z","call_id":"c3","queue":"billing"}
{"type":"call_answered","event_id":"8","ts":"2026-11-26T09:30:30Z","call_id":"c3","queue":"billing","agent_id":"a2"}
{"type":"csat_response","event_id":"9","ts":"2026-11-26T09:31:00Z","interaction_id":"c3","queue":"billing","score":3}
{"type":"call_queued","event_id":"10","ts":"2026-11-26T09:40:00Z","call_id":"c4","queue":"billing","customer_id":"A"}
{"type":"call_answered","event_id":"11","ts":"2026-11-26T09:40:10Z","call_id":"c4","queue":"billing","agent_id":"a1"}
{"type":"call_completed","event_id":"12","ts":"2026-11-26T09:50:00Z","call_id":"c4","queue":"billing","agent_id":"a1","talk_ms":100000,"hold_ms":20000,"acw_ms":0}
{"type":"call_answered","event_id":"13","ts":"2026-11-26T09:41:00Z","call_id":"c9","queue":"billing","agent_id":"a2"}
{"type":"call_answered","event_id":"2","ts":"2026-11-26T09:10:15Z","call_id":"c1","queue":"billing","agent_id":"a1"}
{"type":"agent_state","event_id":"14","ts":"2026-11-27T10:00:00Z","agent_id":"a1","team":"t","state":"offline"}
"#;

fn report(attribution: Attribution, tz: &str) -> (Vec<ReportRow>, ReportCounters) {
    let spec = ReportSpec {
        interval_secs: 1800,
        calendar: Calendar::new(tz).expect("zone"),
        attribution,
        sl_thresholds_override: None,
    };
    let mut builder = ReportBuilder::new(Arc::new(MetricsPolicy::default()), spec);
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    let now = Ts(i64::MAX / 4);
    let mut duplicates = 0;
    for line in HISTORY.lines().filter(|l| !l.trim().is_empty()) {
        let env = decode(line.as_bytes(), now, &limits).expect("valid event");
        if builder.apply(&env) == Err(Rejection::Duplicate) {
            duplicates += 1;
        }
    }
    assert_eq!(duplicates, 1);
    builder.finish()
}

fn row<'a>(rows: &'a [ReportRow], start: &str, queue: &str) -> &'a WindowMetrics {
    &rows
        .iter()
        .find(|r| r.interval_start == start && r.queue == queue)
        .unwrap_or_else(|| panic!("no row {start} {queue}"))
        .metrics
}

#[test]
fn offered_attribution_puts_a_contact_in_its_offer_interval() {
    let (rows, counters) = report(Attribution::Offered, "UTC");
    assert_eq!(counters.orphaned, 1, "c9 was never queued");
    assert_eq!((counters.duplicates, counters.ignored), (1, 1));
    // Sorted by interval, then queue with `*` first; no row for the ignored event.
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.interval_start.as_str(), r.queue.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("2026-11-26T09:00:00+00:00", "*"),
            ("2026-11-26T09:00:00+00:00", "billing"),
            ("2026-11-26T09:30:00+00:00", "*"),
            ("2026-11-26T09:30:00+00:00", "billing"),
        ]
    );
    let first = &rows[1];
    assert_eq!(first.interval_end, "2026-11-26T09:30:00+00:00");
    let m = &first.metrics;
    assert_eq!(
        (m.offered, m.answered, m.abandoned, m.short_abandoned),
        (3, 2, 1, 1)
    );
    assert_eq!(m.answered_within[&20], 1);
    assert_eq!((m.sl_denominator, m.service_level[&20]), (2, Some(0.5)));
    assert_eq!(m.abandon_rate, Some(0.0), "the only abandon was short");
    assert_eq!(
        (m.wait_sum_s, m.asa_s, m.wait_max_s),
        (55.0, Some(27.5), Some(40.0))
    );
    assert_eq!(
        (m.completed, m.handle_sum_s, m.aht_s),
        (1, 360.0, Some(360.0))
    );
    assert_eq!(
        (m.csat_responses, m.csat),
        (2, Some(0.5)),
        "c3's survey goes to its offer"
    );
    // c1's customer called again 20 minutes later: not resolved first time.
    assert_eq!(
        (first.fcr_success, first.fcr_eligible, first.fcr),
        (0, 1, Some(0.0))
    );
    let second = &rows[3];
    assert_eq!((second.fcr_success, second.fcr_eligible), (1, 1));
    assert_eq!(second.metrics.completed, 1);
    assert_eq!(second.metrics.hold_avg_s, Some(20.0));
    // The center equals the one queue.
    assert_eq!(rows[0].metrics, rows[1].metrics);
}

#[test]
fn event_attribution_counts_each_event_at_its_own_time() {
    let (rows, _) = report(Attribution::Event, "UTC");
    let early = row(&rows, "2026-11-26T09:00:00+00:00", "billing");
    assert_eq!((early.offered, early.answered, early.abandoned), (3, 1, 1));
    assert_eq!(early.csat_responses, 1);
    let late = row(&rows, "2026-11-26T09:30:00+00:00", "billing");
    assert_eq!(
        (late.offered, late.answered, late.wait_max_s),
        (1, 2, Some(40.0))
    );
    assert_eq!(late.csat_responses, 1);
}

#[test]
fn open_fcr_windows_and_zones() {
    // Without the next-day event, c4's 24 h window is still open at the end.
    let spec = ReportSpec {
        interval_secs: 86_400,
        calendar: Calendar::new("America/New_York").expect("zone"),
        attribution: Attribution::Offered,
        sl_thresholds_override: Some(vec![10, 60]),
    };
    let mut builder = ReportBuilder::new(Arc::new(MetricsPolicy::default()), spec);
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    for line in HISTORY
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("agent_state"))
    {
        let env = decode(line.as_bytes(), Ts(i64::MAX / 4), &limits).expect("valid");
        let _ = builder.apply(&env);
    }
    let (rows, _) = builder.finish();
    assert_eq!(rows.len(), 2);
    let day = &rows[1];
    assert_eq!(day.interval_start, "2026-11-26T00:00:00-05:00");
    assert_eq!(day.interval_end, "2026-11-27T00:00:00-05:00");
    // Both windows are open where the history ends: neither counts yet, not even c1's,
    // whose repeat is already known (counting early failures only would bias FCR down).
    assert_eq!((day.fcr_eligible, day.fcr_open, day.fcr), (0, 2, None));
    assert_eq!(
        day.metrics.answered_within,
        [(10, 1), (60, 3)].into_iter().collect(),
        "--sl-threshold overrides the configured 20 s"
    );
}

/// One written FCR definition (fcr.rs): the live tracker and the report agree on a
/// parallel contact (a second call, or a ticket, while the first call is in progress:
/// not a repeat) and on a contact offered in the very second the first completed (a
/// repeat).
#[test]
fn live_and_report_share_one_fcr_definition() {
    let lines = [
        // A: c2 starts while c1 is in progress; nothing after either completes.
        r#"{"type":"call_queued","event_id":"a1","ts":"2026-11-26T10:00:00Z","call_id":"c1","queue":"q","customer_id":"A"}"#,
        r#"{"type":"call_queued","event_id":"a2","ts":"2026-11-26T10:02:00Z","call_id":"c2","queue":"q","customer_id":"A"}"#,
        r#"{"type":"call_completed","event_id":"a3","ts":"2026-11-26T10:05:00Z","call_id":"c1","queue":"q","agent_id":"x","talk_ms":1000,"hold_ms":0,"acw_ms":0}"#,
        r#"{"type":"call_completed","event_id":"a4","ts":"2026-11-26T10:06:00Z","call_id":"c2","queue":"q","agent_id":"x","talk_ms":1000,"hold_ms":0,"acw_ms":0}"#,
        // B: d2 is offered in the second d1 completes.
        r#"{"type":"call_queued","event_id":"b1","ts":"2026-11-26T10:00:00Z","call_id":"d1","queue":"q","customer_id":"B"}"#,
        r#"{"type":"call_completed","event_id":"b2","ts":"2026-11-26T10:05:00Z","call_id":"d1","queue":"q","agent_id":"x","talk_ms":1000,"hold_ms":0,"acw_ms":0}"#,
        r#"{"type":"call_queued","event_id":"b3","ts":"2026-11-26T10:05:00Z","call_id":"d2","queue":"q","customer_id":"B"}"#,
        r#"{"type":"call_completed","event_id":"b4","ts":"2026-11-26T10:07:00Z","call_id":"d2","queue":"q","agent_id":"x","talk_ms":1000,"hold_ms":0,"acw_ms":0}"#,
        // C: a ticket opened during the call.
        r#"{"type":"call_queued","event_id":"c1","ts":"2026-11-26T10:00:00Z","call_id":"e1","queue":"q","customer_id":"C"}"#,
        r#"{"type":"ticket_created","event_id":"c2","ts":"2026-11-26T10:03:00Z","ticket_id":"t1","queue":"q","channel":"email","customer_id":"C"}"#,
        r#"{"type":"call_completed","event_id":"c3","ts":"2026-11-26T10:05:00Z","call_id":"e1","queue":"q","agent_id":"x","talk_ms":1000,"hold_ms":0,"acw_ms":0}"#,
        // A day later every window has closed.
        r#"{"type":"call_queued","event_id":"z1","ts":"2026-11-27T11:00:00Z","call_id":"z","queue":"q"}"#,
    ];
    let envs = decode_all(&lines);
    let policy = Arc::new(MetricsPolicy::default());
    // Live: a partition's facts through the instance's tracker.
    let mut part = live_partition(&policy, &envs);
    let mut tracker = crate::FcrTracker::for_policy(&policy);
    tracker.apply_all(part.drain_fcr_facts());
    let end = envs.last().map(|e| e.ts).expect("events");
    tracker.advance(end);
    let live = tracker
        .view(end, &policy)
        .into_iter()
        .find(|(name, _)| &**name == "q")
        .map(|(_, v)| (v.totals.eligible, v.totals.success))
        .expect("queue q");
    // The report over the same history.
    let rows = day_rows(&policy, &envs, Attribution::Offered);
    let report = rows
        .iter()
        .filter(|r| r.queue == "q")
        .fold((0, 0), |(e, s), r| (e + r.fcr_eligible, s + r.fcr_success));
    // A: both resolved; B: d1 repeated by d2, d2 resolved; C: resolved.
    assert_eq!(live, (5, 4), "live");
    assert_eq!(report, (5, 4), "report");
}

/// Transfers, through the live path and the report: the same legs per queue, the same
/// contacts in the center (event attribution, one-day rows = the live "today").
#[test]
fn live_and_report_count_transfers_alike() {
    let lines = [
        // t1: moved from a to b while waiting, answered in b.
        r#"{"type":"call_queued","event_id":"1","ts":"2026-11-26T10:00:00Z","call_id":"t1","queue":"a"}"#,
        r#"{"type":"call_queued","event_id":"2","ts":"2026-11-26T10:00:30Z","call_id":"t1","queue":"b"}"#,
        r#"{"type":"call_answered","event_id":"3","ts":"2026-11-26T10:00:40Z","call_id":"t1","queue":"b","agent_id":"x"}"#,
        // t2: answered in a, then transferred by the agent (marked) and answered in b.
        r#"{"type":"call_queued","event_id":"4","ts":"2026-11-26T10:01:40Z","call_id":"t2","queue":"a"}"#,
        r#"{"type":"call_answered","event_id":"5","ts":"2026-11-26T10:01:45Z","call_id":"t2","queue":"a","agent_id":"x"}"#,
        r#"{"type":"call_queued","event_id":"6","ts":"2026-11-26T10:02:40Z","call_id":"t2","queue":"b","transferred_from":"a"}"#,
        r#"{"type":"call_abandoned","event_id":"7","ts":"2026-11-26T10:02:50Z","call_id":"t2","queue":"b"}"#,
    ];
    let envs = decode_all(&lines);
    let policy = Arc::new(MetricsPolicy::default());
    let mut part = live_partition(&policy, &envs);
    let end = envs.last().map(|e| e.ts).expect("events");
    let parts = [Arc::new(part.snapshot(end))];
    let snap = crate::Snapshot::build(1, end, &parts, &crate::Retired::default(), &policy);
    let today = policy.windows_mins.len() + 1;
    let rows = day_rows(&policy, &envs, Attribution::Event);
    let figures = |m: &WindowMetrics| {
        (
            m.offered,
            m.transferred_in,
            m.transferred_out,
            m.answered,
            m.abandoned,
            m.wait_sum_s,
            m.avg_abandon_s,
        )
    };
    for queue in ["a", "b"] {
        let live = figures(&snap.queue(queue).expect("live queue").windows[today]);
        let report = figures(row(&rows, "2026-11-26T00:00:00+00:00", queue));
        assert_eq!(live, report, "queue {queue}");
    }
    let live = figures(&snap.center.windows[today]);
    let report = figures(row(&rows, "2026-11-26T00:00:00+00:00", CENTER));
    assert_eq!(live, report, "center");
    // Two contacts: t1 answered after 40 s, t2 answered after 5 s (its abandon in b
    // after the transfer is the queue's, not the center's).
    assert_eq!(live, (2, 0, 0, 2, 0, 45.0, None));
    let b = figures(&snap.queue("b").expect("b").windows[today]);
    assert_eq!(b, (2, 2, 0, 1, 1, 10.0, Some(10.0)));
}

/// Decodes history lines as replay does (any age accepted).
fn decode_all(lines: &[&str]) -> Vec<Envelope> {
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    lines
        .iter()
        .map(|l| decode(l.as_bytes(), Ts(i64::MAX / 4), &limits).expect("valid"))
        .collect()
}

/// The one-day rows of a report over `envs`, by `attribution`.
fn day_rows(
    policy: &Arc<MetricsPolicy>,
    envs: &[Envelope],
    attribution: Attribution,
) -> Vec<ReportRow> {
    let spec = ReportSpec {
        interval_secs: 86_400,
        calendar: Calendar::utc(),
        attribution,
        sl_thresholds_override: None,
    };
    let mut builder = ReportBuilder::new(Arc::clone(policy), spec);
    for env in envs {
        builder.apply(env).expect("applied");
    }
    builder.finish().0
}

/// One live partition that applied `envs`.
fn live_partition(policy: &Arc<MetricsPolicy>, envs: &[Envelope]) -> crate::PartitionState {
    let mut part = crate::PartitionState::new(Arc::clone(policy));
    for env in envs {
        part.apply(env).expect("applied");
    }
    part
}

mod agreement;

/// A call whose customer is named only by its first queueing, moved by a marked transfer:
/// in every arrival order of its four events, live and report count its completed contact
/// for FCR (a repeat a day and a half later closes nothing but the window). Once, the
/// report lost it when the transfer's queueing, the answer and the completion all came
/// before the queueing that names the customer.
#[test]
fn a_contact_named_last_is_still_followed_in_any_arrival_order() {
    let events = [
        r#"{"type":"call_queued","event_id":"1","ts":"2026-11-26T10:00:00Z","call_id":"k","queue":"a","customer_id":"K"}"#,
        r#"{"type":"call_queued","event_id":"2","ts":"2026-11-26T10:00:01Z","call_id":"k","queue":"b","transferred_from":"a"}"#,
        r#"{"type":"call_answered","event_id":"3","ts":"2026-11-26T10:00:02Z","call_id":"k","queue":"b","agent_id":"x"}"#,
        r#"{"type":"call_completed","event_id":"4","ts":"2026-11-26T10:00:30Z","call_id":"k","queue":"b","agent_id":"x","talk_ms":27000,"hold_ms":0,"acw_ms":1000}"#,
    ];
    let tail = [
        r#"{"type":"call_queued","event_id":"5","ts":"2026-11-27T22:00:00Z","call_id":"r","queue":"a","customer_id":"K"}"#,
        r#"{"type":"call_queued","event_id":"6","ts":"2026-11-30T00:00:00Z","call_id":"z","queue":"a"}"#,
    ];
    let policy = Arc::new(MetricsPolicy::default());
    let mut orders = 0;
    for a in 0..4 {
        for b in (0..4).filter(|b| *b != a) {
            for c in (0..4).filter(|c| *c != a && *c != b) {
                let d = 6 - a - b - c;
                let mut lines: Vec<&str> = [a, b, c, d].iter().map(|i| events[*i]).collect();
                lines.extend(tail);
                let envs = decode_all(&lines);
                let end = envs.last().map(|e| e.ts).expect("events");
                let mut part = live_partition(&policy, &envs);
                let mut tracker = crate::FcrTracker::for_policy(&policy);
                tracker.apply_all(part.drain_fcr_facts());
                tracker.advance(end);
                let live: u64 = tracker
                    .view(end, &policy)
                    .iter()
                    .map(|(_, v)| v.totals.eligible)
                    .sum();
                let rows = day_rows(&policy, &envs, Attribution::Event);
                let report: u64 = rows
                    .iter()
                    .filter(|r| r.queue != CENTER)
                    .map(|r| r.fcr_eligible)
                    .sum();
                assert_eq!((live, report), (1, 1), "order {a}{b}{c}{d}");
                orders += 1;
            }
        }
    }
    assert_eq!(orders, 24);
}
