//! callpulse benchmark support: synthetic event mixes for the core benches, the
//! end-to-end load harness (`e2e-load`), and the naive baseline of the replay benchmark
//! (`naive`, `replay-ratio`).

pub mod naive;

use callpulse_events::{
    AgentState, AgentStateChanged, CallAbandoned, CallAnswered, CallCompleted, CallQueued,
    CsatResponse, Envelope, Event, Ts,
};

/// A realistic mix over `queues` queues: per call a `call_queued`, an answer (90 %) or an
/// abandon, a `call_completed` for answered calls, a CSAT response for one in five, plus the
/// answering agent's state changes. Event times advance ~20 ms per call from `start`, and
/// outcomes follow their call by up to a few minutes, so the windows see real spread.
pub fn mixed_events(n: usize, queues: usize, start: Ts) -> Vec<Envelope> {
    let mut out = Vec::with_capacity(n + 8);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut call = 0u64;
    while out.len() < n {
        call += 1;
        let r = next();
        let queue = format!("queue-{:03}", r % queues as u64);
        let agent = format!("agent-{:05}", (r >> 8) % 10_000);
        let call_id = format!("call-{call}");
        let queued = start.plus_millis(call as i64 * 20);
        let wait = ((r >> 20) % 120_000) as i64;
        let at = queued.plus_millis(wait);
        let id = |k: &str| format!("{call}-{k}");
        out.push(Envelope {
            event_id: id("q"),
            ts: queued,
            event: Event::CallQueued(CallQueued {
                call_id: call_id.clone(),
                queue: queue.clone(),
                customer_id: None,
                priority: None,
                transferred_from: None,
            }),
        });
        if (r >> 40) % 10 == 0 {
            out.push(Envelope {
                event_id: id("x"),
                ts: at,
                event: Event::CallAbandoned(CallAbandoned::new(call_id, queue)),
            });
            continue;
        }
        out.push(Envelope {
            event_id: id("a"),
            ts: at,
            event: Event::CallAnswered(CallAnswered {
                call_id: call_id.clone(),
                queue: queue.clone(),
                agent_id: agent.clone(),
            }),
        });
        out.push(Envelope {
            event_id: id("s"),
            ts: at,
            event: Event::AgentState(AgentStateChanged {
                agent_id: agent.clone(),
                team: format!("team-{:02}", r % 20),
                state: AgentState::OnCall,
                reason: None,
            }),
        });
        let done = at.plus_millis(180_000 + ((r >> 30) % 60_000) as i64);
        out.push(Envelope {
            event_id: id("c"),
            ts: done,
            event: Event::CallCompleted(CallCompleted {
                call_id: call_id.clone(),
                queue: queue.clone(),
                agent_id: agent,
                talk_ms: 150_000,
                hold_ms: 10_000,
                acw_ms: 20_000,
                resolved: Some(true),
            }),
        });
        if (r >> 50) % 5 == 0 {
            out.push(Envelope {
                event_id: id("v"),
                ts: done,
                event: Event::CsatResponse(CsatResponse {
                    interaction_id: call_id,
                    queue,
                    agent_id: None,
                    score: Some((1 + (r >> 52) % 5) as u8),
                    nps: None,
                }),
            });
        }
    }
    out.truncate(n);
    out
}

/// A `/proc/PID/status` memory field in KiB (`VmRSS`, `VmHWM`: the peak), if readable.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
