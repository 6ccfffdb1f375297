//! What instances share through the snapshot topic: each owned partition's read model (a
//! [`PartitionSnapshot`] or an FCR [`FcrPart`]), so that any instance can merge the whole
//! center with the same merge it uses for its own partitions.
//!
//! Bytes: the checkpoint header with its own magic (`CPSH`, the format version, the policy
//! fingerprint), then postcard. A part built under another policy has windows of another
//! meaning and is refused, as a checkpoint would be.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, decode, encode};
use crate::fcr::FcrPart;
use crate::partition::PartitionSnapshot;
use crate::policy::MetricsPolicy;

const MAGIC: &[u8; 4] = b"CPSH";

/// One partition's read model, of either kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SharedBody {
    Events(Box<PartitionSnapshot>),
    Fcr(FcrPart),
}

/// A partition's read model as its owner published it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharedPart {
    /// The owning instance's id (`ingest.shared.instance`).
    pub instance: String,
    /// The owner's wall time when it published (ms): how fresh the part is.
    pub wall_ms: i64,
    pub body: SharedBody,
}

/// [`SharedBody`] borrowed: what an owner publishes without copying its snapshot (postcard
/// writes a reference as the value, so the bytes are the same).
#[derive(Debug, Clone, Copy, Serialize)]
pub enum SharedRef<'a> {
    Events(&'a PartitionSnapshot),
    Fcr(&'a FcrPart),
}

#[derive(Serialize)]
struct SharedPartRef<'a> {
    instance: &'a str,
    wall_ms: i64,
    body: SharedRef<'a>,
}

impl SharedPart {
    /// The part's bytes under `policy`.
    pub fn encode(&self, policy: &MetricsPolicy) -> Vec<u8> {
        encode(MAGIC, policy, self)
    }

    /// The bytes of a part made of `body`, without building a [`SharedPart`].
    pub fn encode_ref(
        instance: &str,
        wall_ms: i64,
        body: SharedRef<'_>,
        policy: &MetricsPolicy,
    ) -> Vec<u8> {
        encode(
            MAGIC,
            policy,
            &SharedPartRef {
                instance,
                wall_ms,
                body,
            },
        )
    }

    /// # Errors
    /// [`CheckpointError`] for bytes of another format version or policy, or corrupt ones.
    pub fn decode(policy: &MetricsPolicy, bytes: &[u8]) -> Result<SharedPart, CheckpointError> {
        decode(MAGIC, policy, bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use callpulse_events::Ts;

    use super::*;
    use crate::partition::PartitionState;

    #[test]
    fn a_part_round_trips_and_merges_as_the_original() {
        let policy = Arc::new(MetricsPolicy::default());
        let mut state = PartitionState::new(Arc::clone(&policy));
        let now = Ts(1_700_000_000_000);
        for (i, kind) in ["call_queued", "call_answered"].iter().enumerate() {
            let line = format!(
                r#"{{"type":"{kind}","event_id":"e{i}","ts":"2023-11-14T22:13:{:02}Z","call_id":"c1","queue":"q","agent_id":"a","customer_id":"x"}}"#,
                10 + i * 5
            );
            let env =
                callpulse_events::decode(line.as_bytes(), now, &Default::default()).expect("valid");
            state.apply(&env).expect("applied");
        }
        let part = state.snapshot(now);
        let shared = SharedPart {
            instance: "a-1".to_owned(),
            wall_ms: 5,
            body: SharedBody::Events(Box::new(part.clone())),
        };
        let bytes = shared.encode(&policy);
        assert_eq!(
            bytes,
            SharedPart::encode_ref("a-1", 5, SharedRef::Events(&part), &policy)
        );
        let back = SharedPart::decode(&policy, &bytes).expect("decodes");
        let SharedBody::Events(back_part) = back.body else {
            panic!("kind changed");
        };
        let merged = |p: PartitionSnapshot| {
            serde_json::to_value(crate::snapshot::Snapshot::build(
                1,
                now,
                &[Arc::new(p)],
                &crate::snapshot::Retired::default(),
                &policy,
            ))
            .expect("json")
        };
        assert_eq!(merged(part), merged(*back_part));
        let mut other = MetricsPolicy::default();
        other.fcr_window_secs += 1;
        assert_eq!(
            SharedPart::decode(&other, &shared.encode(&policy)).err(),
            Some(CheckpointError::PolicyChanged)
        );
    }
}
