//! `memory`: how much memory the core's state takes at contact-center scale, and that it
//! stays bounded past its caps.
//!
//! Builds, in one process and stage by stage, the worst case of one partition owning
//! everything: 1,000 queues with every bucket of every window filled (plus the calendar
//! windows), 10,000 agents in 100 teams changing state, 100,000 open tickets, and the
//! instance's FCR tracker with 1,000,000 customers each with a completed contact pending.
//! Then it feeds a second million customers past a 1,000,000 cap and a second day of events,
//! to show that memory stops growing. Memory is the process's resident set (from
//! `/proc/self/status`) after each stage; growth is attributed to the stage (freed memory
//! the allocator keeps still counts, so figures are upper bounds).
//!
//! `cargo run --release -p callpulse-bench --bin memory`

use std::sync::Arc;

use callpulse_core::{FcrFact, FcrTracker, MetricsPolicy, PartitionState, Retired, Snapshot, Ts};
use callpulse_events::{
    AgentState, AgentStateChanged, CallAnswered, CallCompleted, CallQueued, Envelope, Event,
    TicketChannel, TicketCreated,
};

const QUEUES: usize = 1_000;
const AGENTS: usize = 10_000;
const TEAMS: usize = 100;
const CUSTOMERS: u64 = 1_000_000;
const TICKETS: usize = 100_000;

fn rss_bytes() -> u64 {
    callpulse_e2e::rss_bytes()
}

struct Stages {
    last: u64,
    start: u64,
}

impl Stages {
    fn new() -> Self {
        let now = rss_bytes();
        Stages {
            last: now,
            start: now,
        }
    }

    #[allow(clippy::print_stdout)] // a benchmark's report
    fn mark(&mut self, what: &str, units: u64, unit: &str) {
        let now = rss_bytes();
        let grew = now.saturating_sub(self.last);
        let per = if units > 0 {
            format!("{:>8.0} B/{unit}", grew as f64 / units as f64)
        } else {
            String::new()
        };
        println!(
            "{what:<58} +{:>8.1} MiB  total {:>8.1} MiB  {per}",
            grew as f64 / 1048576.0,
            (now - self.start) as f64 / 1048576.0
        );
        self.last = now;
    }
}

fn env(n: &mut u64, ts: Ts, event: Event) -> Envelope {
    *n += 1;
    Envelope {
        event_id: format!("e{n}"),
        ts,
        event,
    }
}

/// One hour of calls on every queue: every minute bucket of every queue gets a call that
/// is queued, answered and completed. A snapshot follows each simulated minute, as the
/// engine's tick does (it is what compacts closed buckets).
fn calls(state: &mut PartitionState, n: &mut u64, start: Ts) -> u64 {
    let mut applied = 0;
    for minute in 0..60i64 {
        if minute > 0 {
            let _ = state.snapshot(start.plus_millis(minute * 60_000));
        }
        for q in 0..QUEUES {
            let at = start.plus_millis(minute * 60_000 + (q as i64 % 50) * 1000);
            let call_id = format!("c-{}-{minute}-{q}", start.millis());
            let queue = format!("queue-{q:04}");
            let agent = format!("agent-{:05}", (minute as usize * QUEUES + q) % AGENTS);
            let wait = (q as i64 * 7919 + minute * 104_729) % 90_000;
            for e in [
                env(
                    n,
                    at,
                    Event::CallQueued(CallQueued {
                        call_id: call_id.clone(),
                        queue: queue.clone(),
                        customer_id: None,
                        priority: None,
                        transferred_from: None,
                    }),
                ),
                env(
                    n,
                    at.plus_millis(wait),
                    Event::CallAnswered(CallAnswered {
                        call_id: call_id.clone(),
                        queue: queue.clone(),
                        agent_id: agent.clone(),
                    }),
                ),
                env(
                    n,
                    at.plus_millis(wait + 200_000),
                    Event::CallCompleted(CallCompleted {
                        call_id,
                        queue,
                        agent_id: agent,
                        talk_ms: 150_000,
                        hold_ms: 20_000,
                        acw_ms: 30_000,
                        resolved: Some(true),
                    }),
                ),
            ] {
                if state.apply(&e).is_ok() {
                    applied += 1;
                }
            }
        }
    }
    applied
}

fn agents(state: &mut PartitionState, n: &mut u64, start: Ts) {
    for round in 0..6i64 {
        for a in 0..AGENTS {
            let e = env(
                n,
                start.plus_millis(round * 600_000 + a as i64 * 50),
                Event::AgentState(AgentStateChanged {
                    agent_id: format!("agent-{a:05}"),
                    team: format!("team-{:03}", a % TEAMS),
                    state: AgentState::ALL[(a + round as usize) % 4],
                    reason: None,
                }),
            );
            let _ = state.apply(&e);
        }
    }
}

fn tickets(state: &mut PartitionState, n: &mut u64, start: Ts) {
    for t in 0..TICKETS {
        let e = env(
            n,
            start.plus_millis(t as i64 * 30),
            Event::TicketCreated(TicketCreated {
                ticket_id: format!("t-{t}"),
                queue: format!("queue-{:04}", t % QUEUES),
                channel: TicketChannel::Email,
                customer_id: None,
                priority: Some((t % 3) as u8),
            }),
        );
        let _ = state.apply(&e);
    }
}

/// `count` customers from `first`, each with a contact and a completion (pending).
fn customers(fcr: &mut FcrTracker, first: u64, count: u64, start: Ts) {
    let queue: Arc<str> = Arc::from("queue-0000");
    for c in first..first + count {
        let offered = start.plus_millis((c - first) as i64 * 3);
        fcr.apply(&FcrFact::Contact {
            customer: c.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            at: offered,
        });
        fcr.apply(&FcrFact::Completed {
            customer: c.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            offered,
            done: offered.plus_millis(300_000),
            queue: Arc::clone(&queue),
            key: offered,
        });
    }
}

#[allow(clippy::print_stdout)] // a benchmark's report
fn main() {
    let policy = Arc::new(MetricsPolicy {
        max_queues: QUEUES,
        max_agents: AGENTS,
        max_teams: TEAMS,
        max_fcr_customers: CUSTOMERS as usize,
        ..MetricsPolicy::default()
    });
    let day0 = Ts(1_790_000_000_000 - 1_790_000_000_000 % 86_400_000 + 8 * 3_600_000);
    let mut n = 0u64;
    let mut stages = Stages::new();
    println!(
        "stage (one partition owning everything)                         growth       resident"
    );
    let mut state = PartitionState::new(Arc::clone(&policy));
    let applied = calls(&mut state, &mut n, day0);
    stages.mark(
        "1,000 queues x 1 h of calls (all 61 buckets filled)",
        QUEUES as u64,
        "queue",
    );
    agents(&mut state, &mut n, day0);
    stages.mark(
        "10,000 agents in 100 teams, 6 state changes each",
        AGENTS as u64,
        "agent",
    );
    tickets(&mut state, &mut n, day0);
    stages.mark("100,000 open tickets", TICKETS as u64, "ticket");
    let at = day0.plus_millis(3_600_000);
    #[allow(clippy::disallowed_methods)] // timing the snapshot for the report, not event time
    let t0 = std::time::Instant::now();
    let part = Arc::new(state.snapshot(at));
    let snap = Snapshot::build(1, at, &[part], &Retired::default(), &policy);
    let took = t0.elapsed();
    stages.mark("one snapshot of it all (kept)", 0, "");
    let mut fcr = FcrTracker::for_policy(&policy);
    customers(&mut fcr, 0, CUSTOMERS, day0);
    stages.mark(
        "FCR tracker: 1,000,000 customers, each pending",
        CUSTOMERS,
        "customer",
    );
    customers(&mut fcr, CUSTOMERS, CUSTOMERS, day0.plus_millis(3_000_000));
    stages.mark(
        "... 1,000,000 more customers past the 1,000,000 cap",
        CUSTOMERS,
        "customer",
    );
    for round in 2..4u64 {
        customers(
            &mut fcr,
            round * CUSTOMERS,
            CUSTOMERS,
            day0.plus_millis(round as i64 * 3_000_000),
        );
        stages.mark("... and 1,000,000 more", CUSTOMERS, "customer");
    }
    let evicted = fcr.evicted;
    let applied2 = calls(&mut state, &mut n, day0.plus_millis(86_400_000));
    agents(&mut state, &mut n, day0.plus_millis(86_400_000));
    stages.mark("a second day of the same calls and agents", 0, "");
    println!();
    println!(
        "events applied: {} calls-day-1 + {} calls-day-2; snapshot: {} queues, {} agents, built in {:.1} ms",
        applied,
        applied2,
        snap.queues.len(),
        snap.agents.len(),
        took.as_secs_f64() * 1000.0
    );
    println!(
        "fcr: {} customers remembered (cap {}), {} evicted with a contact pending",
        fcr.customers(),
        CUSTOMERS,
        evicted
    );
    println!(
        "tracked: {} tickets, {} calls, {} event ids",
        state.tracked_tickets(),
        state.tracked_calls(),
        state.remembered_ids()
    );
    // The checkpoint of this partition: its size, and how long writing and restoring take.
    #[allow(clippy::disallowed_methods)] // timing the checkpoint for the report
    let t0 = std::time::Instant::now();
    let bytes = state.checkpoint();
    let written = t0.elapsed();
    #[allow(clippy::disallowed_methods)]
    let t1 = std::time::Instant::now();
    let restored = PartitionState::restore(Arc::clone(&policy), &bytes);
    let read = t1.elapsed();
    println!(
        "checkpoint: {:.1} MiB, written in {:.0} ms, restored in {:.0} ms ({})",
        bytes.len() as f64 / (1024.0 * 1024.0),
        written.as_secs_f64() * 1000.0,
        read.as_secs_f64() * 1000.0,
        if restored.is_ok() { "ok" } else { "FAILED" }
    );
    // What this partition shares on the snapshot topic each interval (its read model), and
    // what its customers' FCR partition does: the whole-center view's traffic.
    let read_at = day0.plus_millis(86_400_000);
    let part = state.snapshot(read_at);
    let shared = callpulse_core::SharedPart::encode_ref(
        "bench",
        0,
        callpulse_core::SharedRef::Events(&part),
        &policy,
    );
    let fcr_part = fcr.part(read_at, &policy);
    let shared_fcr = callpulse_core::SharedPart::encode_ref(
        "bench",
        0,
        callpulse_core::SharedRef::Fcr(&fcr_part),
        &policy,
    );
    println!(
        "shared part: {:.2} MiB for the partition, {:.1} KiB for its FCR tracker",
        shared.len() as f64 / (1024.0 * 1024.0),
        shared_fcr.len() as f64 / 1024.0
    );
}
