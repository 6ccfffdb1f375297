//! Core throughput: events applied per second on one core, mixed events across 100 queues;
//! the decode step alone; the cost of one snapshot; and whether the per-event cost stays
//! flat in the number of queues (10, 100, 1,000) and of windows (2 vs 6, same longest).

use std::sync::Arc;

use callpulse_bench::mixed_events;
use callpulse_core::{MetricsPolicy, PartitionState, Retired, Snapshot, Ts};
use callpulse_events::{DecodeLimits, decode, decode_two_pass};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 200_000;
const START: Ts = Ts(1_764_147_600_000);

fn apply(c: &mut Criterion) {
    let events = mixed_events(N, 100, START);
    let policy = Arc::new(MetricsPolicy::default());
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("apply_mixed_100_queues", |b| {
        b.iter_batched(
            || PartitionState::new(Arc::clone(&policy)),
            |mut state| {
                for env in &events {
                    let _ = state.apply(env);
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
    let payloads: Vec<String> = events.iter().map(|e| e.to_json()).collect();
    let now = events.last().map_or(START, |e| e.ts);
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    group.bench_function("decode_json", |b| {
        b.iter(|| {
            for p in &payloads {
                let _ = decode(p.as_bytes(), now, &limits);
            }
        });
    });
    // The two-pass decode it falls back to, as the baseline of the same run.
    group.bench_function("decode_json_two_pass", |b| {
        b.iter(|| {
            for p in &payloads {
                let _ = decode_two_pass(p.as_bytes(), now, &limits);
            }
        });
    });
    group.bench_function("decode_and_apply", |b| {
        b.iter_batched(
            || PartitionState::new(Arc::clone(&policy)),
            |mut state| {
                for p in &payloads {
                    if let Ok(env) = decode(p.as_bytes(), now, &limits) {
                        let _ = state.apply(&env);
                    }
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let mut state = PartitionState::new(Arc::clone(&policy));
    for env in &events {
        let _ = state.apply(env);
    }
    // A floor's day of schedules: every agent's shift with a break (the staffing plan's
    // input, read at each snapshot).
    for env in schedules(now) {
        let _ = state.apply(&env);
    }
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(20);
    group.bench_function("partition_snapshot_100_queues_10k_agents", |b| {
        b.iter(|| state.snapshot(now));
    });
    let parts: Vec<_> = (0..4).map(|_| Arc::new(state.snapshot(now))).collect();
    group.bench_function("merge_4_partitions", |b| {
        b.iter(|| Snapshot::build(1, now, &parts, &Retired::default(), &policy));
    });
    // What the publisher does with a merged snapshot each tick: the JSON of the API and v1,
    // the feed's pieces, and linking them to the previous tick's (deltas, alert events).
    let merged = Snapshot::build(1, now, &parts, &Retired::default(), &policy);
    let previous = callpulse_export::Published::new(merged.clone());
    group.bench_function("publish_4_partitions", |b| {
        b.iter(|| {
            let mut next = merged.clone();
            next.seq = 2;
            let mut published = callpulse_export::Published::new(next);
            published.follow(&previous);
            published
        });
    });
    group.bench_function("clone_merged_snapshot", |b| {
        b.iter(|| merged.clone());
    });
    // The staffing plan on top of the merge: each of the 100 queues reforecast from a
    // profile, each team's scheduled agents against them.
    let profiles = profiles(100);
    group.bench_function("merge_and_plan_4_partitions", |b| {
        b.iter(|| {
            Snapshot::build(1, now, &parts, &Retired::default(), &policy)
                .with_plan(Some(&profiles), &policy)
        });
    });
    group.finish();
}

/// Each of the 10,000 agents of [`mixed_events`] scheduled for the day of `now`: open 08:00
/// to 17:00 with a break staggered over the morning, in one of 50 teams.
fn schedules(now: Ts) -> Vec<callpulse_events::Envelope> {
    use callpulse_events::{Activity, AgentSchedule, Envelope, Event, ScheduleSegment};
    let day = now.millis() - now.millis().rem_euclid(86_400_000);
    let at = |min: i64| Ts(day + min * 60_000);
    (0..10_000)
        .map(|i| {
            let pause = 9 * 60 + (i % 12) * 15;
            Envelope {
                event_id: format!("schedule-{i}"),
                ts: at(0),
                event: Event::AgentSchedule(AgentSchedule {
                    agent_id: format!("agent-{i:05}"),
                    team: Some(format!("team-{}", i % 50)),
                    start: at(0),
                    end: at(24 * 60),
                    segments: vec![
                        ScheduleSegment {
                            start: at(8 * 60),
                            end: at(pause),
                            activity: Activity::Open,
                        },
                        ScheduleSegment {
                            start: at(pause),
                            end: at(pause + 15),
                            activity: Activity::Break,
                        },
                        ScheduleSegment {
                            start: at(pause + 15),
                            end: at(17 * 60),
                            activity: Activity::Open,
                        },
                    ],
                }),
            }
        })
        .collect()
}

/// A profile for each of `queues` queues of [`mixed_events`]: a flat day.
fn profiles(queues: usize) -> callpulse_core::forecast::ProfileSet {
    let day = serde_json::json!({
        "offered": vec![90.0; 48], "aht_s": vec![180.0; 48], "patience_s": 120.0, "days": 8
    });
    let queues: serde_json::Map<String, serde_json::Value> = (0..queues)
        .map(|q| {
            (
                format!("queue-{q:03}"),
                serde_json::json!(vec![day.clone(); 7]),
            )
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "version": callpulse_core::forecast::PROFILE_VERSION,
        "timezone": "UTC",
        "interval_secs": 1800,
        "learned_to": "2025-11-01",
        "method": { "weeks": 8, "damping": 0.1, "aht_damping_calls": 50.0 },
        "queues": queues,
    }))
    .expect("profiles")
}

/// The same number of events over more queues, and under more windows: the per-event cost
/// should not grow with either (a bucket ring is indexed, not scanned).
fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply_scaling");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    let run = |group: &mut criterion::BenchmarkGroup<'_, _>,
               name: String,
               policy: Arc<MetricsPolicy>,
               events: &[callpulse_events::Envelope]| {
        group.bench_function(name, |b| {
            b.iter_batched(
                || PartitionState::new(Arc::clone(&policy)),
                |mut state| {
                    for env in events {
                        let _ = state.apply(env);
                    }
                    state
                },
                BatchSize::LargeInput,
            );
        });
    };
    let policy = Arc::new(MetricsPolicy::default());
    for queues in [10, 100, 1_000] {
        let events = mixed_events(N, queues, START);
        run(
            &mut group,
            format!("queues_{queues}"),
            Arc::clone(&policy),
            &events,
        );
    }
    let events = mixed_events(N, 100, START);
    for windows in [vec![15, 60], vec![5, 10, 15, 20, 30, 60]] {
        let policy = MetricsPolicy {
            windows_mins: windows.clone(),
            ..MetricsPolicy::default()
        };
        policy.validate().expect("policy");
        run(
            &mut group,
            format!("windows_{}", windows.len()),
            Arc::new(policy),
            &events,
        );
    }
    group.finish();
}

criterion_group!(benches, apply, scaling);
criterion_main!(benches);
