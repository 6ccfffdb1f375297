use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use proptest::prelude::*;

use super::*;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// A day of `shape` scaled by `level`, each call handled in `aht` seconds.
fn day(on: NaiveDate, shape: &[f64], level: f64, aht: f64) -> Day {
    Day {
        date: on,
        slots: shape
            .iter()
            .map(|s| Slot {
                offered: s * level,
                handled: s * level,
                handle_s: s * level * aht,
                abandoned: s * level * 0.1,
                wait_s: s * level * 6.0,
            })
            .collect(),
    }
}

const SHAPE: [f64; 4] = [10.0, 30.0, 40.0, 20.0];

#[test]
fn the_profile_is_the_mean_of_typical_days() {
    let d = date("1999-03-01");
    let a = day(d, &SHAPE, 1.0, 100.0);
    let b = day(d, &SHAPE, 2.0, 200.0);
    // A holiday: a tenth of the volume, left out.
    let holiday = day(d, &SHAPE, 0.1, 100.0);
    let profile = Profile::learn(&[&a, &holiday, &b]).expect("profile");
    assert_eq!(profile.days, 2);
    assert_eq!(profile.offered, vec![15.0, 45.0, 60.0, 30.0]);
    // AHT per interval: (10·100 + 20·200) / 30 in the first.
    let aht = profile.aht_s[0].expect("aht");
    assert!((aht - 5000.0 / 30.0).abs() < 1e-9, "{aht}");
    // Patience: waits over abandons (6 s per call, a tenth abandon).
    assert!((profile.patience_s.expect("patience") - 60.0).abs() < 1e-9);
    assert_eq!(Profile::learn(&[]), None);
}

#[test]
fn reforecast_scales_the_profile_by_the_day_so_far() {
    let d = date("1999-03-01");
    let past = day(d, &SHAPE, 1.0, 100.0);
    let profile = Profile::learn(&[&past]).expect("profile");
    // Today runs 50 % above the profile, handle times 20 % above.
    let today = day(d, &SHAPE, 1.5, 120.0);
    let method = Method {
        weeks: 4,
        damping: 0.1,
        aht_damping_calls: 10.0,
    };
    let at_start = reforecast(&profile, &SoFar::at_slot(&today, 0), &method);
    assert_eq!(at_start.offered, profile.offered);
    // After two intervals: actual 60, profile 40, k = 0.1 · 100 = 10: (60+10)/(40+10) = 1.4.
    let rf = reforecast(&profile, &SoFar::at_slot(&today, 2), &method);
    assert_eq!(rf.from, 2);
    assert_eq!(rf.offered.len(), 2);
    assert!(
        (rf.offered[0] - 40.0 * 1.4).abs() < 1e-9,
        "{:?}",
        rf.offered
    );
    assert!((rf.offered[1] - 20.0 * 1.4).abs() < 1e-9);
    // AHT: handled 60 calls at 120 s = 7200 s against 6000 s predicted; pseudo 10 · 100 s:
    // (7200 + 1000) / (6000 + 1000).
    let aht = rf.aht_s[0].expect("aht");
    assert!((aht - 100.0 * 8200.0 / 7000.0).abs() < 1e-9, "{aht}");
    // At the day's end nothing is left to forecast.
    assert!(
        reforecast(&profile, &SoFar::at_slot(&today, 4), &method)
            .offered
            .is_empty()
    );
}

/// Eight weeks of Mondays at one level, then a Monday at twice it: the reforecast learns
/// the day's level as it goes; the baseline (last Monday) cannot.
#[test]
fn evaluation_beats_last_week_on_a_busy_day_and_both_are_exact_on_a_steady_one() {
    let first = date("1999-03-01");
    let mut history = BTreeMap::new();
    for w in 0..9u64 {
        let on = first + Days::new(7 * w);
        let level = if w == 8 { 2.0 } else { 1.0 };
        history.insert(on, day(on, &SHAPE, level, 100.0));
    }
    let staffing = Staffing {
        interval_secs: 1800,
        threshold_s: 20.0,
        target: 0.8,
    };
    let method = Method::default();
    let steady_day = first + Days::new(7 * 7);
    let steady = evaluate("q", &history, steady_day, steady_day, &method, &staffing);
    assert_eq!(steady.score.days, 1);
    assert_eq!(steady.score.next.value(), Some(0.0));
    assert_eq!(steady.score.rest_of_day_naive.value(), Some(0.0));
    assert_eq!(steady.rows.len(), 4);
    assert!(steady.rows.iter().all(|r| r.agents_erlang_c.is_some()));

    let busy_day = first + Days::new(7 * 8);
    let busy = evaluate("q", &history, busy_day, busy_day, &method, &staffing);
    let s = &busy.score;
    // The baseline is off by half of every interval.
    assert_eq!(s.next_naive.value(), Some(0.5));
    let ours = s.next.value().expect("scored");
    assert!(ours < 0.5 * 0.8, "next interval WAPE {ours}");
    assert!(s.rest_of_day.value() < s.rest_of_day_naive.value());
    // The first interval's rate is unknown at the day's start: both see the profile.
    assert_eq!(busy.rows[0].forecast_next, 10.0);

    // The first week has no last week: not scored.
    let none = evaluate("q", &history, first, first, &method, &staffing);
    assert_eq!((none.score.days, none.score.skipped_days), (0, 1));
}

proptest! {
    /// A forecast is never negative and, with no damping, the rest of the day's forecast
    /// adds up to the profile's remainder scaled by exactly actual/expected so far.
    #[test]
    fn undamped_reforecast_is_the_ratio_so_far(
        shape in prop::collection::vec(0.0f64..50.0, 2..12),
        levels in prop::collection::vec(0.2f64..3.0, 12),
        now in 1usize..12,
    ) {
        let d = date("1999-03-01");
        let past = day(d, &shape, 1.0, 100.0);
        let today = Day {
            date: d,
            slots: shape.iter().zip(&levels).map(|(s, l)| Slot {
                offered: s * l,
                ..Slot::default()
            }).collect(),
        };
        let profile = Profile::learn(&[&past]).expect("profile");
        let now = now.min(shape.len());
        let method = Method { damping: 0.0, ..Method::default() };
        let rf = reforecast(&profile, &SoFar::at_slot(&today, now), &method);
        prop_assert!(rf.offered.iter().all(|f| *f >= 0.0));
        let actual: f64 = today.slots[..now].iter().map(|s| s.offered).sum();
        let expected: f64 = shape[..now].iter().sum();
        if expected > 0.0 {
            let rest: f64 = shape[now..].iter().sum();
            let total: f64 = rf.offered.iter().sum();
            prop_assert!((total - rest * actual / expected).abs() < 1e-6 * (1.0 + total));
        }
    }
}

/// The engine reforecasts mid-interval: what the profile expected by then counts the
/// current interval's elapsed share.
#[test]
fn mid_interval_counts_the_elapsed_share_of_the_current_interval() {
    let d = date("1999-03-01");
    let profile = Profile::learn(&[&day(d, &SHAPE, 1.0, 100.0)]).expect("profile");
    let method = Method {
        damping: 0.0,
        ..Method::default()
    };
    // Halfway through the second interval: expected 10 + 15 = 25; actual 50: twice it.
    let so_far = SoFar {
        at: 1.5,
        from: 0.0,
        offered: 50.0,
        handled: 40.0,
        handle_s: 40.0 * 150.0,
    };
    let rf = reforecast(&profile, &so_far, &method);
    assert_eq!(rf.from, 1);
    assert_eq!(rf.offered, vec![60.0, 80.0, 40.0]);
    assert_eq!(rf.volume_ratio, 2.0);
    // Handle time 150 s against the profile's 100 s, damped by 50 calls of 100 s:
    // (6000 + 5000) / (4000 + 5000).
    assert!(
        (rf.aht_ratio - 11.0 / 9.0).abs() < 1e-12,
        "{}",
        rf.aht_ratio
    );
    assert_eq!(profile.day_aht(), Some(100.0));
    // Seen only from the second interval's start: expected 15, actual 30: still twice.
    let late_start = SoFar {
        from: 1.0,
        offered: 30.0,
        ..so_far
    };
    assert_eq!(reforecast(&profile, &late_start, &method).volume_ratio, 2.0);
    // Past the day's end: nothing left, and no panic.
    let late = SoFar { at: 9.0, ..so_far };
    assert!(reforecast(&profile, &late, &method).offered.is_empty());
}
