//! What the publisher hands to readers: a snapshot and its JSON, serialized once per tick
//! however many clients read it.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;

use arc_swap::ArcSwap;
use callpulse_core::Snapshot;
use tokio::sync::watch;

use crate::feed::Parts;

/// The one snapshot every reader sees now.
///
/// **Lock-free for readers and the writer:** the snapshot is an `ArcSwap` (a load is an
/// atomic read and a reference-count increment; a store never waits for readers). Only the
/// change notification for WebSocket clients is a `watch` channel, and it carries just the
/// sequence number, so its internal lock is held for the copy of a `u64`.
#[derive(Debug)]
pub struct Latest {
    current: ArcSwap<Published>,
    seq: watch::Sender<u64>,
}

impl Latest {
    /// Starts with `first`.
    pub fn new(first: Published) -> Arc<Latest> {
        let seq = first.snapshot.seq;
        Arc::new(Latest {
            current: ArcSwap::from_pointee(first),
            seq: watch::Sender::new(seq),
        })
    }

    /// Makes `published` the snapshot every reader sees, and wakes the WebSocket clients.
    pub fn publish(&self, published: Published) {
        let seq = published.snapshot.seq;
        self.current.store(Arc::new(published));
        self.seq.send_replace(seq);
    }

    /// The current snapshot.
    pub fn load(&self) -> Arc<Published> {
        self.current.load_full()
    }

    /// Notifications of new snapshots (their sequence numbers).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.seq.subscribe()
    }
}

/// One published snapshot.
#[derive(Debug)]
pub struct Published {
    /// What the API, the feed and the wallboard show: the whole center when other
    /// instances share their partitions, else this instance's.
    pub snapshot: Snapshot,
    /// `snapshot` as JSON.
    pub json: Arc<str>,
    /// `snapshot` cut into the pieces `/ws` v2 frames are assembled from.
    pub feed: Parts,
    /// The v1 frames (`snapshot`, `update`), built by the first client that needs each and
    /// shared by all: a v1 frame is the whole snapshot.
    v1: [OnceLock<Utf8Bytes>; 2],
    /// This instance's own partitions, when `snapshot` also holds other instances': what
    /// `/metrics` exports, so that PromQL `sum()` across instances counts each once.
    own: Option<Snapshot>,
}

impl Published {
    /// Serializes `snapshot` once; `own`, when given, is what `/metrics` exports instead.
    pub fn with_own(snapshot: Snapshot, own: Option<Snapshot>) -> Published {
        let mut published = Published::new(snapshot);
        published.own = own;
        published
    }

    /// What `/metrics` exports: this instance's own partitions.
    pub fn own(&self) -> &Snapshot {
        self.own.as_ref().unwrap_or(&self.snapshot)
    }

    /// Serializes `snapshot` once.
    pub fn new(snapshot: Snapshot) -> Published {
        // The snapshot holds only strings, integers and finite floats: serialization cannot
        // fail, and a non-finite float would serialize as null rather than fail.
        // One serialization per tick: the whole JSON is assembled from the feed's pieces.
        let (feed, json) = Parts::cut(&snapshot);
        Published {
            feed,
            snapshot,
            json: Arc::from(json),
            own: None,
            v1: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Links the feed's pieces to the previous tick's, so that `/ws` v2 clients get only
    /// what changed and the alert events of this tick. Without it every piece counts as
    /// changed (correct, only larger). Call it off the async runtime: it compares every
    /// piece.
    pub fn follow(&mut self, prev: &Published) {
        self.feed.follow(&prev.feed, &self.snapshot);
    }

    /// The snapshot's JSON with only the agents `scope` covers.
    pub fn scoped_json(&self, scope: &crate::auth::AgentScope) -> String {
        self.feed.scoped_whole(&self.snapshot, scope)
    }

    /// The v1 WebSocket frame for this snapshot: the first a client gets (`snapshot`) or a
    /// later one (`update`). Rendered once per tick for every v1 client.
    pub fn v1_frame(&self, first: bool) -> Utf8Bytes {
        let kind = if first { "snapshot" } else { "update" };
        self.v1[usize::from(!first)]
            .get_or_init(|| {
                Utf8Bytes::from(format!(
                    r#"{{"type":"{kind}","seq":{},"data":{}}}"#,
                    self.snapshot.seq, self.json
                ))
            })
            .clone()
    }
}
