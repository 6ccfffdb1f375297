//! The publisher: once per tick, decides the instant every figure is read at (the instance
//! watermark, `callpulse_core::watermark`), asks every worker to read its partitions at that
//! instant, merges their snapshots (and the retired totals) into one [`Snapshot`] with the
//! next sequence number, serializes it once, and makes it the latest for every reader.
//!
//! With the shared view on (`ingest.shared`), it also publishes the instance's partitions to
//! the snapshot topic and merges the other instances' partitions with its own, by the same
//! merge: the API, the feed and the wallboard show the whole center, `/metrics` only what
//! this instance owns.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use callpulse_core::{
    EngineView, MetricsPolicy, Retired, Snapshot, SourceView, Ts, forecast::ProfileSet,
    instance_watermark,
};
use callpulse_events::SharedClock;
use callpulse_export::{LabelCap, Latest, Published};
use callpulse_ingest::{
    BoardRead, IngestTelemetry, Key, PartitionBoard, RemoteBody, SharedView, Tick,
};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// What the publisher needs besides its inputs and outputs.
#[derive(Debug)]
pub(crate) struct PublisherSetup {
    pub(crate) policy: Arc<MetricsPolicy>,
    /// The reforecast's profiles (`[forecast] profile`), if any.
    pub(crate) profiles: Option<Arc<ProfileSet>>,
    pub(crate) telemetry: IngestTelemetry,
    pub(crate) clock: SharedClock,
    pub(crate) tick: Duration,
    /// The shared view, and every how many ticks the instance's partitions are published.
    pub(crate) shared: Option<Arc<SharedView>>,
    pub(crate) share_every_ticks: u64,
    /// Which unconfigured queues and teams get series on `/metrics`.
    pub(crate) labels: LabelCap,
}

/// The merge of one tick, moved onto a blocking thread for each tick (merging a thousand queues and rendering their JSON is milliseconds
/// of CPU, which an async runtime thread must not spend).
struct Merger {
    board: Arc<PartitionBoard>,
    policy: Arc<MetricsPolicy>,
    profiles: Option<Arc<ProfileSet>>,
    telemetry: IngestTelemetry,
    shared: Option<Arc<SharedView>>,
    share_every_ticks: u64,
    labels: LabelCap,
    /// The newest event time this instance ever applied: kept when its partitions go (a
    /// broker outage revokes them), so the last-event gauge, which the stalled-events alert
    /// watches, never disappears.
    last_event: Option<Ts>,
}

/// A partition merged into a snapshot, as `engine.sources` lists it.
/// `age_s` is `None` for this instance's own (read at this tick), else the part's age.
fn source(
    key: &Key,
    kind: &'static str,
    owner: &str,
    read_at: Ts,
    age_s: Option<f64>,
) -> SourceView {
    SourceView {
        topic: Arc::clone(&key.0),
        partition: key.1,
        kind,
        owner: owner.to_owned(),
        here: age_s.is_none(),
        read_at_ms: read_at.millis(),
        age_s: age_s.unwrap_or(0.0),
    }
}

/// This instance's own partitions, read at this tick.
fn own_sources(read: &BoardRead, instance: &str) -> Vec<SourceView> {
    let events = read
        .part_keys
        .iter()
        .zip(&read.parts)
        .map(|(key, p)| source(key, "events", instance, p.at, None));
    let fcr = read
        .fcr_keys
        .iter()
        .zip(&read.fcr)
        .map(|(key, p)| source(key, "fcr", instance, p.at, None));
    let mut all: Vec<SourceView> = events.chain(fcr).collect();
    all.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    all
}

impl Merger {
    fn merge(&mut self, tick: Tick, wall: Ts) -> Published {
        let read = self.board.read(tick.seq);
        let mut own = Snapshot::build(tick.seq, tick.at, &read.parts, &read.retired, &self.policy)
            .with_fcr(&read.fcr, &read.retired_fcr)
            .with_plan(self.profiles.as_deref(), &self.policy);
        self.instance_fields(&mut own.engine, &read, wall);
        self.last_event = self.last_event.max(own.engine.last_event_ms.map(Ts));
        own.engine.last_event_ms = self.last_event.map(Ts::millis);
        own.engine.last_event_ts = self.last_event.map(Ts::to_rfc3339);
        let Some(shared) = self.shared.clone() else {
            return self.published(own, None);
        };
        own.engine.instance = shared.instance().to_owned();
        own.engine.sources = own_sources(&read, shared.instance());
        if tick.seq.is_multiple_of(self.share_every_ticks.max(1)) {
            for (key, part) in read.part_keys.iter().zip(&read.parts) {
                shared.publish(key, &RemoteBody::Events(Arc::clone(part)), wall);
            }
            for (key, part) in read.fcr_keys.iter().zip(&read.fcr) {
                shared.publish(key, &RemoteBody::Fcr(Arc::clone(part)), wall);
            }
        }
        let here: HashSet<Key> = read
            .part_keys
            .iter()
            .chain(&read.fcr_keys)
            .cloned()
            .collect();
        let remote = shared.remote(&here, wall);
        if remote.is_empty() {
            return self.published(own, None);
        }
        let (mut parts, mut fcr) = (read.parts.clone(), read.fcr.clone());
        let mut sources = own.engine.sources.clone();
        let mut oldest: Option<f64> = None;
        for (key, part) in &remote {
            let age = wall.millis_since(Ts(part.wall_ms)).max(0) as f64 / 1000.0;
            oldest = Some(oldest.map_or(age, |o: f64| o.max(age)));
            let (kind, at) = match &part.body {
                RemoteBody::Events(p) => {
                    parts.push(Arc::clone(p));
                    ("events", p.at)
                }
                RemoteBody::Fcr(p) => {
                    fcr.push(Arc::clone(p));
                    ("fcr", p.at)
                }
            };
            sources.push(source(key, kind, &part.instance, at, Some(age)));
        }
        // The parts carry their whole history (restored included): a partition this
        // instance gave away is in its new owner's part, so no retired totals are added.
        let mut center =
            Snapshot::build(tick.seq, tick.at, &parts, &Retired::default(), &self.policy)
                .with_fcr(&fcr, &BTreeMap::new())
                .with_plan(self.profiles.as_deref(), &self.policy);
        self.instance_fields(&mut center.engine, &read, wall);
        center.engine.partitions = own.engine.partitions;
        center.engine.instance = own.engine.instance.clone();
        center.engine.remote_partitions = remote.len();
        center.engine.oldest_remote_age_s = oldest;
        center.engine.sources = sources;
        // `/metrics` reads `own`: it says how much of the view is other instances', and how
        // fresh, without exporting their figures.
        own.engine.remote_partitions = remote.len();
        own.engine.oldest_remote_age_s = oldest;
        self.published(center, Some(own))
    }

    /// `snapshot` for the API and the feed, and what `/metrics` exports: `own` (or
    /// `snapshot` itself) without the queues and teams whose series are withheld, copied
    /// only when some are.
    fn published(&mut self, mut snapshot: Snapshot, own: Option<Snapshot>) -> Published {
        self.labels.update(own.as_ref().unwrap_or(&snapshot));
        let mut own = match own {
            Some(own) => own,
            None if !self.labels.withholds() => return Published::new(snapshot),
            None => snapshot.clone(),
        };
        self.labels.withhold(&mut own);
        // A status is a judgement, not a sum: every instance exports the whole center's, so
        // `max by (queue)` across instances is the center's and a queue split over
        // partitions is never judged on a part of its calls.
        // Both lists are sorted by name: one merge pass.
        let mut whole = snapshot.queues.iter().peekable();
        for queue in &mut own.queues {
            while whole.next_if(|w| w.queue < queue.queue).is_some() {}
            if let Some(w) = whole.peek().filter(|w| w.queue == queue.queue) {
                queue.status = w.status.clone();
            }
        }
        snapshot.engine.queues_withheld = own.engine.queues_withheld;
        snapshot.engine.teams_withheld = own.engine.teams_withheld;
        Published::with_own(snapshot, Some(own))
    }

    /// What only this instance knows: its consumer's totals and ages, its tick's lateness.
    fn instance_fields(&self, engine: &mut EngineView, read: &BoardRead, wall: Ts) {
        (engine.consumed, engine.rejected) = self.telemetry.totals();
        engine.wall_ms = wall.millis();
        engine.stale_partitions = read.stale;
        let (contact, message) = self.board.last_heard();
        let age = |at: Option<Ts>| at.map(|at| wall.millis_since(at).max(0) as f64 / 1000.0);
        engine.broker_contact_age_s = age(contact);
        engine.last_message_age_s = age(message);
        engine.counters.fcr_facts_dropped = self.board.facts_dropped_total();
    }

    /// Merges on a blocking thread and publishes; hands the merger back.
    async fn publish(mut self, latest: &Latest, tick: Tick, wall: Ts) -> anyhow::Result<Self> {
        let prev = latest.load();
        let (merger, published) = tokio::task::spawn_blocking(move || {
            let mut published = self.merge(tick, wall);
            published.follow(&prev);
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
        profiles,
        telemetry,
        clock,
        tick,
        shared,
        share_every_ticks,
        labels,
    } = setup;
    let mut merger = Merger {
        board: Arc::clone(&board),
        policy,
        profiles,
        telemetry,
        shared,
        share_every_ticks,
        labels,
        last_event: None,
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
