//! The simulator and the engine against queueing theory. A stationary M/M/c center
//! (Poisson arrivals, exponential talk, no wrap-up, no breaks, fixed staff) is simulated for
//! four days; its events go through the report code; the measured service level, ASA and
//! abandonment are compared with Erlang C (patient callers) and Erlang A (impatient ones).
//!
//! Tolerance: hourly batch means. The first hour is dropped as warm-up and the last as still
//! in progress; the other 94 give a mean and a standard error, and the theory must lie within
//! 4 standard errors (plus 0.5 % of the value, for the bias a finite run keeps). Hours are
//! ~60 handle times long, so batches are close to independent. The seeds are fixed, so the
//! test is deterministic; with other seeds, measured values fell within 1-3 standard errors.

use std::sync::Arc;

use callpulse_core::erlang::{asa, erlang_a_abandon, erlang_c, service_level};
use callpulse_core::{Attribution, Calendar, MetricsPolicy, ReportBuilder, ReportSpec, Ts};
use callpulse_sim::{QueueModel, SimConfig, Simulator, TalkDistribution};

const RATE_PER_MIN: f64 = 20.0;
const AHT_S: f64 = 60.0;
const AGENTS: u32 = 23;
const HOURS: i64 = 96;

struct Hour {
    offered: f64,
    answered: f64,
    abandoned: f64,
    within_20: f64,
    wait_sum_s: f64,
}

fn simulate(patience_s: f64, seed: u64) -> Vec<Hour> {
    let cfg = SimConfig {
        seed,
        scale: 1.0,
        survey_share: 0.0,
        peak_tickets_per_min: 0.0,
        flat_day: true,
        breaks: false,
        queues: vec![QueueModel {
            name: "q".into(),
            team: "t".into(),
            peak_calls_per_min: RATE_PER_MIN,
            peak_agents: AGENTS,
            mean_talk_secs: AHT_S,
            talk_distribution: TalkDistribution::Exponential,
            hold_share: 0.0,
            mean_hold_secs: 0.0,
            mean_acw_secs: 0.0,
            mean_patience_secs: patience_s,
        }],
    };
    let start = Ts(1_780_000_000_000 - 1_780_000_000_000 % 3_600_000);
    let mut sim = Simulator::new(cfg, start);
    let events = sim.advance_to(Ts(start.millis() + HOURS * 3_600_000));
    let spec = ReportSpec {
        interval_secs: 3600,
        calendar: Calendar::new("UTC").expect("zone"),
        attribution: Attribution::Offered,
        sl_thresholds_override: Some(vec![20]),
    };
    let mut report = ReportBuilder::new(Arc::new(MetricsPolicy::default()), spec);
    for env in &events {
        report
            .apply(env)
            .expect("simulated events are valid and unique");
    }
    let (rows, counters) = report.finish();
    assert_eq!(counters.orphaned, 0);
    rows.iter()
        .filter(|r| r.queue == "q")
        .skip(1) // warm-up: the center starts empty
        .take((HOURS - 2) as usize) // the last hour's calls are still being handled
        .map(|r| {
            let m = &r.metrics;
            Hour {
                offered: m.offered as f64,
                answered: m.answered as f64,
                abandoned: m.abandoned as f64,
                within_20: m.answered_within[&20] as f64,
                wait_sum_s: m.wait_sum_s,
            }
        })
        .collect()
}

/// Mean and standard error of per-hour values.
fn batch(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[track_caller]
fn within(what: &str, measured: (f64, f64), theory: f64) {
    let (mean, se) = measured;
    assert!(
        (mean - theory).abs() <= 4.0 * se + 0.005 * theory.abs().max(1.0),
        "{what}: measured {mean:.4} ± {se:.4}, theory {theory:.4}"
    );
}

#[test]
fn patient_callers_match_erlang_c() {
    let traffic = RATE_PER_MIN / 60.0 * AHT_S;
    let hours = simulate(1e9, 7);
    assert!(hours.iter().all(|h| h.abandoned == 0.0), "nobody gives up");
    let offered: f64 = hours.iter().map(|h| h.offered).sum();
    assert!(offered > 100_000.0, "four days of calls: {offered}");
    let sl: Vec<f64> = hours.iter().map(|h| h.within_20 / h.answered).collect();
    let asas: Vec<f64> = hours.iter().map(|h| h.wait_sum_s / h.answered).collect();
    let theory_sl = service_level(AGENTS, traffic, AHT_S, 20.0);
    let theory_asa = asa(AGENTS, traffic, AHT_S);
    // Sanity of the set-up: a queue that waits, but not hopelessly.
    assert!((0.2..0.6).contains(&erlang_c(AGENTS, traffic)));
    within("service level 20 s", batch(&sl), theory_sl);
    within("ASA (s)", batch(&asas), theory_asa);
    // Arrivals are Poisson at the configured rate.
    let per_hour: Vec<f64> = hours.iter().map(|h| h.offered).collect();
    within("calls per hour", batch(&per_hour), RATE_PER_MIN * 60.0);
}

#[test]
fn impatient_callers_abandon_as_erlang_a_predicts() {
    let rate_per_s = RATE_PER_MIN / 60.0;
    let mut measured = Vec::new();
    for (patience_s, seed) in [(30.0, 21), (180.0, 12)] {
        let hours = simulate(patience_s, seed);
        let share: Vec<f64> = hours.iter().map(|h| h.abandoned / h.offered).collect();
        let theory = erlang_a_abandon(AGENTS, rate_per_s, AHT_S, patience_s);
        within(
            &format!("abandon share, patience {patience_s} s"),
            batch(&share),
            theory,
        );
        let sl: Vec<f64> = hours
            .iter()
            .map(|h| h.within_20 / (h.answered + h.abandoned))
            .collect();
        measured.push((batch(&share).0, batch(&sl).0, theory));
    }
    // Less patience: more abandons, and the queue that remains moves faster than Erlang C
    // (which ignores abandonment) would say.
    let (impatient, patient) = (measured[0], measured[1]);
    assert!(impatient.0 > patient.0 && impatient.2 > patient.2);
    let erlang_c_sl = service_level(AGENTS, rate_per_s * AHT_S, AHT_S, 20.0);
    assert!(
        impatient.1 > erlang_c_sl,
        "{} vs {erlang_c_sl}",
        impatient.1
    );
}
