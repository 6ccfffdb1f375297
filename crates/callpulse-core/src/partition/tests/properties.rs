//! Property tests of the partition against naive references: windows under any arrival
//! order and redelivery, fast producer clocks and catch-up pace, and partition assignment.

use super::*;

#[derive(Debug, Clone)]
struct GenCall {
    queue: usize,
    queued_ago_ms: i64,
    outcome: Option<(bool, i64)>,
    handle: Option<(i64, i64, i64)>,
    csat: Option<u8>,
}

fn arb_call() -> impl Strategy<Value = GenCall> {
    (
        0usize..3,
        // Mostly within the hour; some from up to 13 h ago, across UTC midnight from NOW.
        prop_oneof![3 => 0i64..59 * MIN, 1 => 0i64..13 * 60 * MIN],
        proptest::option::of((any::<bool>(), 0i64..90_000)),
        proptest::option::of((0i64..600_000, 0i64..60_000, 0i64..120_000)),
        proptest::option::of(1u8..=5),
    )
        .prop_map(|(queue, queued_ago_ms, outcome, handle, csat)| GenCall {
            queue,
            queued_ago_ms,
            outcome,
            handle,
            csat,
        })
}

#[derive(Debug, Default, PartialEq)]
struct Naive {
    offered: u64,
    answered: u64,
    abandoned: u64,
    short: u64,
    within20: u64,
    wait_ms: u64,
    max_wait_ms: u64,
    completed: u64,
    handle_ms: u64,
    csat: u64,
    csat_pos: u64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The engine's windows equal a naive recomputation from the raw event list, whatever the
    /// arrival order and however many events are delivered twice.
    #[test]
    fn windows_match_naive_reference(
        calls in proptest::collection::vec(arb_call(), 0..40),
        order_seed in any::<u64>(),
        dup_every in 2usize..7,
    ) {
        let queues = ["q0", "q1", "q2"];
        let mut events = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let q = queues[c.queue];
            let call = format!("c{i}");
            let at = Ts(NOW.0 - c.queued_ago_ms);
            events.push(queued(&format!("{call}-q"), &call, q, at));
            if let Some((answer, wait)) = c.outcome {
                let end = Ts((at.0 + wait).min(NOW.0));
                events.push(if answer { answered(&format!("{call}-o"), &call, q, end) } else { abandoned(&format!("{call}-o"), &call, q, end) });
            }
            if let Some(parts) = c.handle {
                events.push(completed(&format!("{call}-c"), &call, q, at, parts));
            }
            if let Some(score) = c.csat {
                events.push(csat(&format!("{call}-s"), q, at, score));
            }
        }
        // Shuffle deterministically from the seed, then redeliver every dup_every-th event.
        let mut keyed: Vec<(u64, Envelope)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (order_seed.wrapping_mul(i as u64 + 1).rotate_left(17) ^ i as u64, e.clone()))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let policy = patient_policy();
        let mut s = PartitionState::new(Arc::clone(&policy));
        for (i, (_, e)) in keyed.iter().enumerate() {
            prop_assert!(s.apply(e).is_ok());
            if i % dup_every == 0 {
                prop_assert_eq!(s.apply(e), Err(Rejection::Duplicate));
            }
        }
        let snap = view(&mut s, NOW);
        let bucket = |ts: i64| ts.div_euclid(MIN);
        let end = bucket(NOW.0);
        // The sliding windows, then the calendar ones: the 30-minute interval and the UTC day
        // holding NOW (events of earlier periods never count there, whatever the order).
        let interval_start = NOW.0 - NOW.0.rem_euclid(30 * MIN);
        let day_start = NOW.0 - NOW.0.rem_euclid(24 * 60 * MIN);
        let windows: [Box<dyn Fn(Ts) -> bool>; 6] = [
            Box::new(move |ts: Ts| bucket(ts.0) > end - 5 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 15 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 30 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| bucket(ts.0) > end - 60 && bucket(ts.0) <= end),
            Box::new(move |ts: Ts| ts.0 >= interval_start && ts.0 <= NOW.0),
            Box::new(move |ts: Ts| ts.0 >= day_start && ts.0 <= NOW.0),
        ];
        for (w, inside) in windows.iter().enumerate() {
            for (qi, qname) in queues.iter().enumerate() {
                let mut n = Naive::default();
                for c in calls.iter().filter(|c| c.queue == qi) {
                    let at = Ts(NOW.0 - c.queued_ago_ms);
                    if inside(at) { n.offered += 1; }
                    if let Some((answer, wait)) = c.outcome {
                        let end_ts = (at.0 + wait).min(NOW.0);
                        let wait = end_ts - at.0;
                        if inside(Ts(end_ts)) {
                            if answer {
                                n.answered += 1;
                                n.within20 += u64::from(wait <= 20_000);
                                n.wait_ms += wait as u64;
                                n.max_wait_ms = n.max_wait_ms.max(wait as u64);
                            } else {
                                n.abandoned += 1;
                                n.short += u64::from(wait < 5_000);
                            }
                        }
                    }
                    if let (Some((t, h, a)), true) = (c.handle, inside(at)) {
                        n.completed += 1;
                        n.handle_ms += (t + h + a) as u64;
                    }
                    if let (Some(score), true) = (c.csat, inside(at)) {
                        n.csat += 1;
                        n.csat_pos += u64::from(score >= 4);
                    }
                }
                let got = snap.queue(qname).map(|q| {
                    let m = &q.windows[w];
                    Naive {
                        offered: m.offered,
                        answered: m.answered,
                        abandoned: m.abandoned,
                        short: m.short_abandoned,
                        within20: m.answered_within[&20],
                        wait_ms: (m.wait_sum_s * 1000.0).round() as u64,
                        max_wait_ms: m.wait_max_s.map_or(0, |s| (s * 1000.0).round() as u64),
                        completed: m.completed,
                        handle_ms: (m.handle_sum_s * 1000.0).round() as u64,
                        csat: m.csat_responses,
                        csat_pos: m.csat_positive,
                    }
                }).unwrap_or_default();
                prop_assert_eq!(&got, &n, "queue {} window {}", qname, w);
            }
        }
        // Live state: calls with no outcome are waiting (until max_wait_secs says they are
        // lost); the oldest sets the longest wait.
        let max_wait_ms = i64::from(policy.max_wait_secs) * 1000;
        for (qi, qname) in queues.iter().enumerate() {
            let waiting: Vec<i64> = calls
                .iter()
                .filter(|c| c.queue == qi && c.outcome.is_none() && c.queued_ago_ms <= max_wait_ms)
                .map(|c| c.queued_ago_ms)
                .collect();
            let q = snap.queue(qname);
            prop_assert_eq!(q.map_or(0, |q| q.waiting), waiting.len() as u64);
            let longest = waiting.iter().max().map_or(0.0, |ms| *ms as f64 / 1000.0);
            prop_assert_eq!(q.map_or(0.0, |q| q.longest_wait_s), longest);
        }
    }
}

/// One call of the time-model property: its true times, and how far ahead the clock of the
/// producer that stamped it runs.
#[derive(Debug, Clone)]
struct SkewedCall {
    queue: usize,
    /// True time the call was queued, before the read instant.
    queued_ago_ms: i64,
    /// `Some((answered?, wait))`.
    outcome: Option<(bool, i64)>,
    /// Added to both of its stamps (a fast producer clock), under the allowed future skew.
    fast_ms: i64,
}

fn arb_skewed_call() -> impl Strategy<Value = SkewedCall> {
    (
        0usize..2,
        0i64..59 * MIN,
        proptest::option::of((any::<bool>(), 0i64..90_000)),
        prop_oneof![2 => Just(0i64), 1 => 0i64..299_000],
    )
        .prop_map(|(queue, queued_ago_ms, outcome, fast_ms)| SkewedCall {
            queue,
            queued_ago_ms,
            outcome,
            fast_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// The time model (docs/time.md): events stamped up to the allowed skew ahead, delivered
    /// in true-time order, in any chunking, with the partition read at any instants in
    /// between (as a catching-up engine reads it at wall time, hours after the events), give
    /// the same figures at the read instant as the same events applied in one go; and every
    /// event stamped within the hour before the read instant counts in the 1 h window.
    #[test]
    fn fast_clocks_and_catch_up_pace_change_no_figure(
        calls in proptest::collection::vec(arb_skewed_call(), 1..40),
        chunk in 1usize..12,
        reads_ahead_ms in proptest::collection::vec(-3_600_000i64..6 * 3_600_000, 1..5),
    ) {
        let queues = ["q0", "q1"];
        // (true time, envelope), delivered in true-time order.
        let mut events: Vec<(i64, Envelope)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let (q, call) = (queues[c.queue], format!("c{i}"));
            let at = NOW.0 - c.queued_ago_ms;
            events.push((at, queued(&format!("{call}-q"), &call, q, Ts(at + c.fast_ms))));
            if let Some((answer, wait)) = c.outcome {
                let end = (at + wait).min(NOW.0);
                let stamped = Ts(end + c.fast_ms);
                let id = format!("{call}-o");
                events.push((end, if answer { answered(&id, &call, q, stamped) } else { abandoned(&id, &call, q, stamped) }));
            }
        }
        events.sort_by_key(|(t, _)| *t);
        let mut whole = state();
        for (_, e) in &events {
            prop_assert!(whole.apply(e).is_ok());
        }
        let mut paced = state();
        for (n, part) in events.chunks(chunk).enumerate() {
            for (_, e) in part {
                prop_assert!(paced.apply(e).is_ok());
            }
            let ahead = reads_ahead_ms[n % reads_ahead_ms.len()];
            let _ = paced.snapshot(Ts(part[part.len() - 1].0 + ahead));
        }
        let expected = view(&mut whole, NOW);
        let got = view(&mut paced, NOW);
        prop_assert_eq!(
            serde_json::to_value(&got).expect("json"),
            serde_json::to_value(&expected).expect("json")
        );
        // Nothing on time was late, and the hour holds every call stamped in it.
        prop_assert_eq!(got.engine.counters.late, 0);
        let end = NOW.0.div_euclid(MIN);
        for (qi, name) in queues.iter().enumerate() {
            let offered = calls
                .iter()
                .filter(|c| c.queue == qi)
                .filter(|c| {
                    let b = (NOW.0 - c.queued_ago_ms + c.fast_ms).div_euclid(MIN);
                    b > end - 60 && b <= end
                })
                .count() as u64;
            let hour = got.queue(name).map_or(0, |q| q.windows[3].offered);
            prop_assert_eq!(hour, offered, "queue {}", name);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// Any partition assignment gives the same figures: the same calls spread over two
    /// partitions (each call's events in one, as Kafka keys them), one consumed well ahead
    /// of the other and both read at other instants meanwhile, merge at the read instant to
    /// exactly what one partition holding everything shows.
    #[test]
    fn partitions_at_different_paces_merge_to_one_partition(
        calls in proptest::collection::vec(arb_skewed_call(), 1..30),
        split_seed in any::<u64>(),
        lead in 1usize..20,
    ) {
        let queues = ["q0", "q1"];
        let mut all: Vec<(i64, usize, Envelope)> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let (q, call) = (queues[c.queue], format!("c{i}"));
            let part = usize::from(split_seed.rotate_left(i as u32) & 1 == 1);
            let at = NOW.0 - c.queued_ago_ms;
            all.push((at, part, queued(&format!("{call}-q"), &call, q, Ts(at + c.fast_ms))));
            if let Some((answer, wait)) = c.outcome {
                let end = (at + wait).min(NOW.0);
                let stamped = Ts(end + c.fast_ms);
                let id = format!("{call}-o");
                all.push((end, part, if answer { answered(&id, &call, q, stamped) } else { abandoned(&id, &call, q, stamped) }));
            }
        }
        all.sort_by_key(|(t, _, _)| *t);
        let mut one = state();
        for (_, _, e) in &all {
            prop_assert!(one.apply(e).is_ok());
        }
        // Partition 1 runs `lead` events ahead of partition 0, and each is read (at its own
        // newest event time) after every event, as a worker's tick might.
        let mut parts = [state(), state()];
        let streams: Vec<Vec<&Envelope>> = (0..2)
            .map(|p| all.iter().filter(|(_, part, _)| *part == p).map(|(_, _, e)| e).collect())
            .collect();
        let (mut i0, mut i1) = (0, 0);
        while i0 < streams[0].len() || i1 < streams[1].len() {
            let ahead = i1 < streams[1].len() && (i1 < i0 + lead || i0 == streams[0].len());
            let (p, e) = if ahead { i1 += 1; (1, streams[1][i1 - 1]) } else { i0 += 1; (0, streams[0][i0 - 1]) };
            prop_assert!(parts[p].apply(e).is_ok());
            let _ = parts[p].snapshot(e.ts);
        }
        let merged = Snapshot::build(
            1,
            NOW,
            &[Arc::new(parts[0].snapshot(NOW)), Arc::new(parts[1].snapshot(NOW))],
            &Retired::default(),
            &MetricsPolicy::default(),
        );
        let single = view(&mut one, NOW);
        prop_assert_eq!(
            serde_json::to_value(&merged.queues).expect("json"),
            serde_json::to_value(&single.queues).expect("json")
        );
        prop_assert_eq!(
            serde_json::to_value(&merged.center).expect("json"),
            serde_json::to_value(&single.center).expect("json")
        );
        prop_assert_eq!(merged.engine.counters, single.engine.counters);
    }
}
