//! Any bytes through the event decoder, and whatever it accepts through a partition: no
//! input may panic, loop or grow memory without bound. The partition lives across inputs
//! (reset now and then), so sequences of events reach the ledger, the agents, the tickets
//! and the caps, not only single events.

#![no_main]

use std::cell::RefCell;
use std::sync::Arc;

use callpulse_core::{MetricsPolicy, PartitionState};
use callpulse_events::{DecodeLimits, Ts, decode};
use libfuzzer_sys::fuzz_target;

/// A fixed "now": the decoder's range checks run against it, never against a clock.
const NOW: Ts = Ts(1_764_148_500_000); // 2025-11-26T09:15:00Z

thread_local! {
    static STATE: RefCell<(PartitionState, u32)> = RefCell::new((fresh(), 0));
}

fn fresh() -> PartitionState {
    let policy = MetricsPolicy {
        max_queues: 64,
        max_agents: 256,
        ..MetricsPolicy::default()
    };
    PartitionState::new(Arc::new(policy))
}

fuzz_target!(|data: &[u8]| {
    // The engine's own limits, but any past time: history replays accept old events.
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    let Ok(envelope) = decode(data, NOW, &limits) else {
        return;
    };
    STATE.with(|cell| {
        let (state, applied) = &mut *cell.borrow_mut();
        let _ = state.apply(&envelope);
        let _ = state.drain_fcr_facts();
        *applied += 1;
        if *applied % 64 == 0 {
            // Reading at the newest event time and at "now" exercises every window.
            let at = state.high_water().unwrap_or(NOW);
            let _ = state.snapshot(at);
            let _ = state.snapshot(NOW);
        }
        if *applied >= 4096 {
            *state = fresh();
            *applied = 0;
        }
    });
});
