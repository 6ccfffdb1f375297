//! The publisher: once per tick, merges every partition snapshot (and the retired totals)
//! into one [`Snapshot`] with the next sequence number, serializes it once, and makes it the
//! latest for every reader.

use std::sync::Arc;
use std::time::Duration;

use callpulse_core::{FcrTracker, MetricsPolicy, Snapshot};
use callpulse_export::Published;
use callpulse_ingest::{IngestTelemetry, PartitionBoard};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::runtime::wall_now;

pub(crate) async fn run(
    board: Arc<PartitionBoard>,
    latest: watch::Sender<Arc<Published>>,
    policy: Arc<MetricsPolicy>,
    telemetry: IngestTelemetry,
    tick: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut seq = 0u64;
    // The instance's one FCR tracker: a customer's contacts reach every partition.
    let mut fcr = FcrTracker::for_policy(&policy);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut publish = |seq: u64| {
        let (parts, retired) = board.read();
        fcr.apply_all(board.take_fcr_facts());
        let mut snapshot =
            Snapshot::build(seq, wall_now(), &parts, &retired, &policy).with_fcr(&fcr, &policy);
        (snapshot.engine.consumed, snapshot.engine.rejected) = telemetry.totals();
        latest.send_replace(Arc::new(Published::new(snapshot)));
    };
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = interval.tick() => {
                seq += 1;
                publish(seq);
            }
        }
    }
    // Ingest has drained by now: this last snapshot holds everything that was applied.
    publish(seq + 1);
    Ok(())
}
