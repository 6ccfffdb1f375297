use super::*;

#[test]
fn answer_counts_each_threshold_inclusively() {
    let mut agg = CallAgg::default();
    for wait in [0, 10_000, 20_000, 20_001, 60_000] {
        agg.record_answer(wait, &[20_000, 60_000]);
    }
    assert_eq!(agg.counts.answered_within, [3, 5, 0, 0]);
    assert_eq!(agg.counts.answer_wait_ms, 110_001);
    assert_eq!(agg.max_answer_wait_ms, 60_000);
    assert_eq!(agg.wait_hist.len(), 5);
    let p50 = agg.wait_hist.quantile_ms(0.5).expect("non-empty");
    assert!((19_800..=20_200).contains(&p50), "p50 {p50}");
}

#[test]
fn compact_round_trips_exactly() {
    let mut full = WaitHistogram::default();
    for wait in [1, 15, 999, 20_000, 20_000, 61_234, 7_000_000] {
        full.record(wait);
    }
    let mut compact = full.clone();
    compact.compact();
    assert!(
        compact.heap_bytes() < 200,
        "sparse: {} bytes",
        compact.heap_bytes()
    );
    assert_eq!(compact.len(), 7);
    for q in [0.0, 0.25, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(compact.quantile_ms(q), full.quantile_ms(q), "q {q}");
    }
    // A late record into a compacted bucket expands it again.
    compact.record(30);
    full.record(30);
    assert_eq!(compact.quantile_ms(0.3), full.quantile_ms(0.3));
    // Merging a compact one equals merging the full one.
    let (mut a, mut b) = (WaitHistogram::default(), WaitHistogram::default());
    a.merge(&compact);
    b.merge(&full);
    assert_eq!((a.len(), a.quantile_ms(0.5)), (b.len(), b.quantile_ms(0.5)));
    let mut empty = WaitHistogram::default();
    empty.compact();
    assert!(empty.is_empty() && empty.quantile_ms(0.5).is_none());
}

#[test]
fn merge_adds_and_maxes() {
    let mut a = CallAgg::default();
    a.record_answer(5_000, &[20_000]);
    a.counts.record_abandon(3_000, true, &[20_000]);
    let mut b = CallAgg::default();
    b.record_answer(30_000, &[20_000]);
    b.counts.record_abandon(40_000, false, &[20_000]);
    b.counts.record_csat(4);
    b.counts.record_completed(1, 2, 3, Some(true));
    a.merge(&b);
    let c = a.counts;
    assert_eq!((c.answered, c.abandoned, c.short_abandoned), (2, 2, 1));
    assert_eq!(c.sl_denominator(SlFormula::AnsweredAbandoned), 3);
    assert_eq!(c.answered_within[0], 1);
    assert_eq!(c.abandoned_within[0], 1);
    assert_eq!(a.max_answer_wait_ms, 30_000);
    assert_eq!(a.wait_hist.len(), 2);
    assert_eq!(
        (c.csat_responses, c.csat_positive, c.csat_score_sum),
        (1, 1, 4)
    );
    assert_eq!((c.completed, c.handle_ms(), c.resolved_true), (1, 6, 1));
}

/// Every SL formula on one hand-counted set of calls (20 s threshold): answered after
/// 5, 20 and 21 s; abandoned after 3 s (short, under 5 s), 15 s and 40 s; one call still
/// waiting. Offered 7.
#[test]
fn each_sl_formula_counts_as_its_vendor_does() {
    let mut c = CallCounts {
        offered: 7,
        ..CallCounts::default()
    };
    for wait in [5_000, 20_000, 21_000] {
        c.record_answer(wait, &[20_000]);
    }
    for wait in [3_000, 15_000, 40_000] {
        c.record_abandon(wait, wait < 5_000, &[20_000]);
    }
    let sl = |f: SlFormula| (c.sl_numerators(f)[0], c.sl_denominator(f));
    // Ours: answered within / (answered + abandoned - short).
    assert_eq!(sl(SlFormula::AnsweredAbandoned), (2, 5));
    assert_eq!(sl(SlFormula::Offered), (2, 7));
    assert_eq!(sl(SlFormula::OfferedMinusShort), (2, 6));
    // Asterisk's servicelevel: answered within / answered.
    assert_eq!(sl(SlFormula::AsteriskSl), (2, 3));
    // Asterisk's SL2: (answered within + abandoned within) / (answered + abandoned).
    assert_eq!(sl(SlFormula::AsteriskSl2), (4, 6));
    // Amazon Connect: removed from the queue within / queued (the waiting one too).
    assert_eq!(sl(SlFormula::RemovedWithin), (4, 7));
}

#[test]
fn wait_buckets_are_upper_inclusive() {
    let mut t = CallTotals::default();
    let bounds = [5_000, 20_000];
    for wait in [0, 5_000, 5_001, 20_000, 20_001] {
        t.record_answer(wait, &[20_000], &bounds);
    }
    assert_eq!(t.wait_le, [2, 2, 1]);
    assert_eq!(t.counts.answered_within[0], 4);
}

proptest::proptest! {
    /// Percentiles stay within the exact minimum and maximum, however the waits fall on
    /// the histogram's buckets and however windows are merged.
    #[test]
    fn percentiles_stay_within_min_and_max(
        waits in proptest::collection::vec(0u64..3_000_000, 1..60),
        split in 0usize..60,
    ) {
        let mut a = CallAgg::default();
        let mut b = CallAgg::default();
        for (i, w) in waits.iter().enumerate() {
            if i < split { a.record_answer(*w, &[]) } else { b.record_answer(*w, &[]) }
        }
        a.merge(&b);
        let (min, max) = (*waits.iter().min().unwrap(), *waits.iter().max().unwrap());
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
            let v = a.wait_quantile_ms(q).expect("answered");
            proptest::prop_assert!((min..=max).contains(&v), "q {} -> {} outside [{}, {}]", q, v, min, max);
        }
    }
}
