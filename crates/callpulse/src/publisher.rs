//! The publisher: once per tick, decides the instant every figure is read at (the instance
//! watermark, `callpulse_core::watermark`), asks every worker to read its partitions at that
//! instant, merges their snapshots (and the retired totals) into one [`Snapshot`] with the
//! next sequence number, serializes it once, and makes it the latest for every reader.

use std::sync::Arc;
use std::time::Duration;

use callpulse_core::{FcrTracker, MetricsPolicy, Snapshot, Ts, instance_watermark};
use callpulse_events::SharedClock;
use callpulse_export::Published;
use callpulse_ingest::{IngestTelemetry, PartitionBoard, Tick};
use tokio::sync::watch;
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

pub(crate) async fn run(
    board: Arc<PartitionBoard>,
    latest: watch::Sender<Arc<Published>>,
    setup: PublisherSetup,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let PublisherSetup {
        policy,
        telemetry,
        clock,
        tick,
    } = setup;
    // The instance's one FCR tracker: a customer's contacts reach every partition.
    let mut fcr = FcrTracker::for_policy(&policy);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut publish = |tick: Tick, wall: Ts| {
        let read = board.read(tick.seq);
        fcr.apply_all(board.take_fcr_facts());
        let mut snapshot = Snapshot::build(tick.seq, tick.at, &read.parts, &read.retired, &policy)
            .with_fcr(&fcr, &policy);
        (snapshot.engine.consumed, snapshot.engine.rejected) = telemetry.totals();
        snapshot.engine.wall_ms = wall.millis();
        snapshot.engine.stale_partitions = read.stale;
        latest.send_replace(Arc::new(Published::new(snapshot)));
    };
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
                publish(last, wall);
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
    publish(final_tick, wall);
    Ok(())
}
