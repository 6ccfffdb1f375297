use std::collections::HashSet;

use callpulse_events::{DecodeLimits, EventKind, decode};

use super::*;

const START: Ts = Ts(1_764_147_600_000); // 2025-11-26T09:00:00Z, the busiest hour

#[test]
fn same_seed_same_events() {
    let a = Simulator::new(SimConfig::default(), START).advance_to(Ts(START.0 + 600_000));
    let b = Simulator::new(SimConfig::default(), START).advance_to(Ts(START.0 + 600_000));
    assert_eq!(a, b);
    assert!(
        a.len() > 100,
        "ten busy minutes produce events: {}",
        a.len()
    );
}

#[test]
fn events_are_valid_ordered_and_consistent() {
    let mut sim = Simulator::new(SimConfig::default(), START);
    let events = sim.advance_to(Ts(START.0 + 3_600_000));
    let mut ids = HashSet::new();
    let mut queued = HashSet::new();
    let mut last = 0;
    let mut kinds: HashMap<EventKind, usize> = HashMap::new();
    for e in &events {
        assert!(ids.insert(e.event_id.clone()), "unique ids");
        assert!(e.ts.0 >= last, "time order");
        last = e.ts.0;
        *kinds.entry(e.event.kind()).or_default() += 1;
        let back = decode(e.to_json().as_bytes(), e.ts, &DecodeLimits::default()).expect("valid");
        assert_eq!(&back, e);
        match &e.event {
            Event::CallQueued(c) => {
                queued.insert(c.call_id.clone());
            }
            Event::CallAnswered(c) => assert!(queued.contains(&c.call_id)),
            Event::CallAbandoned(c) => assert!(queued.contains(&c.call_id)),
            _ => {}
        }
    }
    let offered = kinds[&EventKind::CallQueued] as f64;
    let expected = 19.0 * 60.0; // sum of peak rates at the peak hour
    assert!(
        (offered - expected).abs() < 5.0 * expected.sqrt(),
        "offered {offered} vs {expected}"
    );
    for kind in [
        EventKind::CallAnswered,
        EventKind::CallAbandoned,
        EventKind::CallCompleted,
        EventKind::CsatResponse,
        EventKind::QaEvaluation,
        EventKind::AgentSchedule,
        EventKind::TicketCreated,
    ] {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} occurs"
        );
    }
    let answered = kinds[&EventKind::CallAnswered] as f64;
    assert!(
        answered / offered > 0.7,
        "a staffed center answers most calls: {}",
        answered / offered
    );
}

#[test]
fn night_is_quieter_than_morning() {
    let night = Ts(START.0 - 6 * 3_600_000); // 03:00
    let n = Simulator::new(SimConfig::default(), night).advance_to(Ts(night.0 + 3_600_000));
    let d = Simulator::new(SimConfig::default(), START).advance_to(Ts(START.0 + 3_600_000));
    let calls = |v: &[Envelope]| {
        v.iter()
            .filter(|e| e.event.kind() == EventKind::CallQueued)
            .count()
    };
    assert!(
        calls(&n) * 5 < calls(&d),
        "night {} day {}",
        calls(&n),
        calls(&d)
    );
}
