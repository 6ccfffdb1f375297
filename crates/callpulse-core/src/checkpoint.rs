//! Checkpoints: a partition's whole state as versioned bytes, and back.
//!
//! The core is deterministic in event time, so a partition's state is a function of the
//! events it applied: a checkpoint taken after the event at offset `n`, restored and fed
//! the events after `n`, gives exactly the state of a run that never stopped. Where the
//! bytes are kept and which offsets they cover is the ingest layer's business; this module
//! only turns state into bytes and back, and says clearly when it cannot.
//!
//! Layout: `CPCK` (4 bytes), the format version (u16, little-endian), the fingerprint of
//! the metrics policy it was written under (u64, little-endian), then the state in
//! [postcard](https://docs.rs/postcard) (a compact, varint-based serde format). Everything
//! is in it: windows with their histograms (sparse), calendar periods, calls waiting and
//! parked, the ledger's followed contacts and early events, agents and their day books,
//! tickets, remembered event ids, counters.
//!
//! A state is only meaningful under the policy that built it (bucket width, windows, SL
//! thresholds decide what the aggregates mean), so a checkpoint written under another
//! policy, or by another format version, is refused with an error saying so; the caller
//! then starts the partition empty from the group's committed offset.

use std::sync::Arc;

use thiserror::Error;

use crate::dedupe::key_hash;
use crate::partition::PartitionState;
use crate::policy::MetricsPolicy;

/// The format this build writes and reads.
pub const CHECKPOINT_VERSION: u16 = 7;

const MAGIC: &[u8; 4] = b"CPCK";
const HEADER_LEN: usize = 4 + 2 + 8;

/// Why a checkpoint cannot be restored.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("not a callpulse checkpoint of this kind (no CPCK or CPFC header)")]
    NotACheckpoint,
    #[error(
        "checkpoint format version {found}; this build reads version {CHECKPOINT_VERSION} only"
    )]
    UnsupportedVersion { found: u16 },
    #[error(
        "checkpoint written under a different metrics policy (bucket, windows, queue \
         definitions or skew changed); its aggregates do not mean the same under this one"
    )]
    PolicyChanged,
    #[error("corrupt checkpoint body: {0}")]
    Corrupt(String),
}

/// A fingerprint of everything in `policy` that gives state its meaning (the whole policy,
/// and the allowed future skew, which sizes the rings).
pub fn policy_fingerprint(policy: &MetricsPolicy) -> u64 {
    // Serializing a policy (strings, numbers, maps) cannot fail; an empty body would only
    // make every policy alike, which the skew below still separates.
    let body = postcard::to_allocvec(policy).unwrap_or_default();
    key_hash(&(body, policy.future_skew_secs))
}

/// Checkpoint bytes of `body` (see the module docs): `magic` says which kind of state.
pub(crate) fn encode<T: serde::Serialize>(
    magic: &[u8; 4],
    policy: &MetricsPolicy,
    body: &T,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 4096);
    out.extend_from_slice(magic);
    out.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    out.extend_from_slice(&policy_fingerprint(policy).to_le_bytes());
    // Serializing plain data into a Vec cannot fail.
    match postcard::to_extend(body, out) {
        Ok(out) => out,
        Err(_) => unreachable!("postcard serialization of in-memory state"),
    }
}

/// The state `bytes` hold, written by [`encode`] with `magic` under `policy`.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    magic: &[u8; 4],
    policy: &MetricsPolicy,
    bytes: &[u8],
) -> Result<T, CheckpointError> {
    if bytes.len() < HEADER_LEN || &bytes[..4] != magic {
        return Err(CheckpointError::NotACheckpoint);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::UnsupportedVersion { found: version });
    }
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&bytes[6..HEADER_LEN]);
    if u64::from_le_bytes(fingerprint) != policy_fingerprint(policy) {
        return Err(CheckpointError::PolicyChanged);
    }
    postcard::from_bytes(&bytes[HEADER_LEN..]).map_err(|e| CheckpointError::Corrupt(e.to_string()))
}

impl PartitionState {
    /// The whole state as checkpoint bytes (see the module docs).
    pub fn checkpoint(&self) -> Vec<u8> {
        encode(MAGIC, self.policy(), self)
    }

    /// The state a checkpoint holds, under `policy` (which must be the one it was written
    /// under).
    ///
    /// # Errors
    /// [`CheckpointError`] when the bytes are not a checkpoint, come from another format
    /// version or another policy, or do not decode.
    pub fn restore(policy: Arc<MetricsPolicy>, bytes: &[u8]) -> Result<Self, CheckpointError> {
        let mut state: PartitionState = decode(MAGIC, &policy, bytes)?;
        state.restored(policy);
        Ok(state)
    }
}

#[cfg(test)]
mod tests;
