//! The publisher: once per tick, decides the instant every figure is read at (the instance
//! watermark, `callpulse_core::watermark`), asks every worker to read its partitions at that
//! instant, merges their snapshots (and the retired totals) into one [`Snapshot`] with the
//! next sequence number, serializes it once, and makes it the latest for every reader.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use callpulse_core::{FcrTracker, MetricsPolicy, Snapshot, Ts, instance_watermark};
use callpulse_events::SharedClock;
use callpulse_export::{Latest, Published};
use callpulse_ingest::{IngestTelemetry, PartitionBoard, Tick};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// What the publisher needs besides its inputs and outputs.
#[derive(Debug)]
pub(crate) struct PublisherSetup {
    pub(crate) policy: Arc<MetricsPolicy>,
    pub(crate) telemetry: IngestTelemetry,
    pub(crate) clock: SharedClock,
    pub(crate) tick: Duration,
}

/// The merge of one tick: owns the instance's FCR tracker, and moves onto a blocking
/// thread for each tick (merging a thousand queues and rendering their JSON is milliseconds
/// of CPU, which an async runtime thread must not spend).
struct Merger {
    board: Arc<PartitionBoard>,
    policy: Arc<MetricsPolicy>,
    telemetry: IngestTelemetry,
    /// The instance's one FCR tracker: a customer's contacts reach every partition.
    fcr: FcrTracker,
}

impl Merger {
    fn merge(&mut self, tick: Tick, wall: Ts) -> Published {
        let read = self.board.read(tick.seq);
        let (facts, facts_dropped) = self.board.take_fcr_facts();
        self.fcr.apply_all(facts);
        // Every partition has reported its facts up to the watermark: windows that closed
        // before it settle as successes even when no new fact arrives (a quiet night).
        self.fcr.advance(tick.at);
        let mut snapshot =
            Snapshot::build(tick.seq, tick.at, &read.parts, &read.retired, &self.policy)
                .with_fcr(&self.fcr, &self.policy);
        (snapshot.engine.consumed, snapshot.engine.rejected) = self.telemetry.totals();
        snapshot.engine.wall_ms = wall.millis();
        snapshot.engine.stale_partitions = read.stale;
        let (contact, message) = self.board.last_heard();
        let age = |at: Option<Ts>| at.map(|at| wall.millis_since(at).max(0) as f64 / 1000.0);
        snapshot.engine.broker_contact_age_s = age(contact);
        snapshot.engine.last_message_age_s = age(message);
        snapshot.engine.counters.fcr_facts_dropped = facts_dropped;
        Published::new(snapshot)
    }

    /// Merges on a blocking thread and publishes; hands the merger back.
    async fn publish(mut self, latest: &Latest, tick: Tick, wall: Ts) -> anyhow::Result<Self> {
        let (merger, published) = tokio::task::spawn_blocking(move || {
            let published = self.merge(tick, wall);
            (self, published)
        })
        .await
        .context("the snapshot merge panicked")?;
        latest.publish(published);
        Ok(merger)
    }
}

pub(crate) async fn run(
    board: Arc<PartitionBoard>,
    latest: Arc<Latest>,
    setup: PublisherSetup,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let PublisherSetup {
        policy,
        telemetry,
        clock,
        tick,
    } = setup;
    let mut merger = Merger {
        board: Arc::clone(&board),
        fcr: FcrTracker::for_policy(&policy),
        policy,
        telemetry,
    };
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Tick::default();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = interval.tick() => {
                let wall = clock.now();
                last = Tick {
                    seq: last.seq + 1,
                    at: instance_watermark(wall, board.all_progress()),
                };
                board.request_tick(last);
                // A worker busy with a large batch answers late; past the tick period the
                // snapshot is published with its older view, counted as stale.
                if !board.wait_for_acks(last.seq, tick).await {
                    debug!(seq = last.seq, "not every worker read the tick in time");
                }
                merger = merger.publish(&latest, last, wall).await?;
            }
        }
    }
    // Ingest has drained by now and every worker published at the last tick's instant:
    // this last snapshot holds everything that was applied.
    let wall = clock.now();
    let final_tick = Tick {
        seq: last.seq + 1,
        at: if last.seq == 0 { wall } else { last.at },
    };
    merger.publish(&latest, final_tick, wall).await?;
    Ok(())
}
