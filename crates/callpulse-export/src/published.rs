//! What the publisher hands to readers: a snapshot and its JSON, serialized once per tick
//! however many clients read it.

use std::sync::Arc;

use callpulse_core::Snapshot;

/// One published snapshot.
#[derive(Debug)]
pub struct Published {
    pub snapshot: Snapshot,
    /// `snapshot` as JSON.
    pub json: Arc<str>,
}

impl Published {
    /// Serializes `snapshot` once.
    pub fn new(snapshot: Snapshot) -> Published {
        // The snapshot holds only strings, integers and finite floats: serialization cannot
        // fail, and a non-finite float would serialize as null rather than fail.
        let json = serde_json::to_string(&snapshot).unwrap_or_else(|_| "{}".to_owned());
        Published {
            snapshot,
            json: Arc::from(json),
        }
    }

    /// The WebSocket frame for this snapshot: `kind` is `snapshot` (first frame) or `update`.
    pub fn frame(&self, kind: &str) -> String {
        format!(
            r#"{{"type":"{kind}","seq":{},"data":{}}}"#,
            self.snapshot.seq, self.json
        )
    }
}
