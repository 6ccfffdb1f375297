//! A checkpoint taken anywhere, restored and fed the rest of the events, gives exactly the
//! state of a run that never stopped; and what cannot be restored is refused clearly.

use callpulse_events::{DecodeLimits, Envelope, Ts, decode};
use proptest::prelude::*;

use super::*;
use crate::snapshot::{Retired, Snapshot};

const START_MS: i64 = 1_764_158_400_000; // 2025-11-26T12:00:00Z

fn rfc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One generated event: a kind, a subject, a queue or team, an offset in seconds.
fn line(i: usize, (kind, subject, place, offset_s, extra): (u8, u8, u8, i64, u8)) -> String {
    let ts = rfc(START_MS + offset_s * 1000);
    let queue = ["sales", "billing", "care"][usize::from(place % 3)];
    let call = format!("c{subject}");
    let head = format!(r#""event_id":"e{i}","ts":"{ts}""#);
    match kind % 10 {
        0 | 1 => format!(
            r#"{{{head},"type":"call_queued","call_id":"{call}","queue":"{queue}","customer_id":"k{}"}}"#,
            extra % 7
        ),
        2 => format!(
            r#"{{{head},"type":"call_answered","call_id":"{call}","queue":"{queue}","agent_id":"a{}"}}"#,
            extra % 9
        ),
        3 => format!(r#"{{{head},"type":"call_abandoned","call_id":"{call}","queue":"{queue}"}}"#),
        4 => format!(
            r#"{{{head},"type":"call_completed","call_id":"{call}","queue":"{queue}","agent_id":"a{}","talk_ms":{},"hold_ms":{},"acw_ms":5000,"resolved":true}}"#,
            extra % 9,
            u32::from(extra) * 1000,
            u32::from(extra % 3) * 1000
        ),
        5 => format!(
            r#"{{{head},"type":"csat_response","interaction_id":"{call}","queue":"{queue}","score":{}}}"#,
            1 + extra % 5
        ),
        6 => format!(
            r#"{{{head},"type":"agent_state","agent_id":"a{}","team":"t{}","state":"{}"}}"#,
            subject % 9,
            place % 2,
            ["available", "on_call", "wrap_up", "aux", "offline"][usize::from(extra % 5)]
        ),
        7 => format!(
            r#"{{{head},"type":"ticket_created","ticket_id":"t{subject}","queue":"{queue}","channel":"email","customer_id":"k{}"}}"#,
            extra % 7
        ),
        8 => format!(
            r#"{{{head},"type":"ticket_first_response","ticket_id":"t{subject}","agent_id":"a1"}}"#
        ),
        _ if extra % 4 == 0 => {
            format!(r#"{{{head},"type":"ticket_reopened","ticket_id":"t{subject}"}}"#)
        }
        _ => format!(
            r#"{{{head},"type":"ticket_resolved","ticket_id":"t{subject}","agent_id":"a1"}}"#
        ),
    }
}

fn decode_lines(lines: &[String]) -> Vec<Envelope> {
    let limits = DecodeLimits {
        max_past_ms: None,
        ..DecodeLimits::default()
    };
    lines
        .iter()
        .map(|l| decode(l.as_bytes(), Ts(i64::MAX / 4), &limits).expect("valid event"))
        .collect()
}

/// Everything a reader sees of a partition at `at`, as JSON, plus what is not in a snapshot
/// (the FCR facts it hands on, what it tracks).
fn observe(state: &mut PartitionState, at: Ts, policy: &MetricsPolicy) -> serde_json::Value {
    let facts = format!("{:?}", state.drain_fcr_facts());
    let tracked = (
        state.tracked_calls(),
        state.tracked_tickets(),
        state.remembered_ids(),
    );
    let part = Arc::new(state.snapshot(at));
    let snapshot = Snapshot::build(0, at, &[part], &Retired::default(), policy);
    serde_json::json!({
        "snapshot": serde_json::to_value(&snapshot).expect("json"),
        "facts": facts,
        "tracked": format!("{tracked:?}"),
    })
}

fn arb_event() -> impl Strategy<Value = (u8, u8, u8, i64, u8)> {
    // Two hours, mostly in order with a jitter, across the 13:00 interval boundary.
    (any::<u8>(), 0u8..40, any::<u8>(), 0i64..7200, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Stopped after any event, checkpointed, restored and fed the rest (including
    /// redeliveries of what came before the stop), a partition reads exactly as one that
    /// never stopped, at the end and at the stop itself.
    #[test]
    fn restored_state_equals_an_uninterrupted_run(
        mut events in proptest::collection::vec(arb_event(), 1..120),
        stop in any::<prop::sample::Index>(),
        redeliver in 0usize..5,
    ) {
        events.sort_by_key(|e| e.3 + i64::from(e.4 % 90));
        let lines: Vec<String> = events.iter().enumerate().map(|(i, e)| line(i, *e)).collect();
        let mut envs = decode_lines(&lines);
        let stop = stop.index(envs.len());
        // A consumer that restarts may be handed some events again.
        let again: Vec<Envelope> = envs[stop.saturating_sub(redeliver)..stop].to_vec();
        envs.splice(stop..stop, again);
        let policy = Arc::new(MetricsPolicy::default());
        let end = Ts(START_MS + 7300 * 1000);

        let mut straight = PartitionState::new(Arc::clone(&policy));
        let mut first = PartitionState::new(Arc::clone(&policy));
        for env in &envs[..stop] {
            let a = straight.apply(env);
            let b = first.apply(env);
            prop_assert_eq!(a, b);
        }
        let at_stop = Ts(envs[..stop].iter().map(|e| e.ts.millis()).max().unwrap_or(START_MS));
        let bytes = first.checkpoint();
        let mut restored = PartitionState::restore(Arc::clone(&policy), &bytes)
            .expect("restores");
        // Reading at the stop leaves both unchanged and alike.
        prop_assert_eq!(
            observe(&mut restored, at_stop, &policy),
            observe(&mut straight, at_stop, &policy)
        );
        for env in &envs[stop..] {
            let a = straight.apply(env);
            let b = restored.apply(env);
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(observe(&mut restored, end, &policy), observe(&mut straight, end, &policy));
        // A checkpoint of a restored state restores too.
        let again = PartitionState::restore(Arc::clone(&policy), &restored.checkpoint());
        prop_assert!(again.is_ok());
    }
}

fn some_state(policy: &Arc<MetricsPolicy>) -> PartitionState {
    let lines: Vec<String> = (0..50)
        .map(|i| line(i, (i as u8, (i % 7) as u8, i as u8, i as i64 * 30, i as u8)))
        .collect();
    let mut state = PartitionState::new(Arc::clone(policy));
    for env in decode_lines(&lines) {
        let _ = state.apply(&env);
    }
    state
}

#[test]
fn what_cannot_be_restored_is_refused_with_a_reason() {
    let policy = Arc::new(MetricsPolicy::default());
    let bytes = some_state(&policy).checkpoint();
    assert!(PartitionState::restore(Arc::clone(&policy), &bytes).is_ok());

    let refused = |bytes: &[u8], policy: &Arc<MetricsPolicy>| {
        PartitionState::restore(Arc::clone(policy), bytes).expect_err("refused")
    };
    assert_eq!(
        refused(b"{\"json\": true}", &policy),
        CheckpointError::NotACheckpoint
    );
    let mut newer = bytes.clone();
    newer[4..6].copy_from_slice(&(CHECKPOINT_VERSION + 1).to_le_bytes());
    let error = refused(&newer, &policy);
    assert_eq!(
        error,
        CheckpointError::UnsupportedVersion {
            found: CHECKPOINT_VERSION + 1
        }
    );
    assert!(
        error
            .to_string()
            .contains(&format!("reads version {CHECKPOINT_VERSION}")),
        "{error}"
    );

    let mut changed = (*policy).clone();
    changed.windows_mins = vec![5, 15];
    assert_eq!(
        refused(&bytes, &Arc::new(changed)),
        CheckpointError::PolicyChanged
    );
    let mut skewed = (*policy).clone();
    skewed.future_skew_secs += 60;
    assert_eq!(
        refused(&bytes, &Arc::new(skewed)),
        CheckpointError::PolicyChanged
    );

    let truncated = &bytes[..bytes.len() / 2];
    assert!(matches!(
        refused(truncated, &policy),
        CheckpointError::Corrupt(_)
    ));
}
