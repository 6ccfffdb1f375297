//! `callpulse simulate`: simulated events into a real Kafka cluster, in real time or as a
//! fast bulk load.

use std::time::Duration;

use anyhow::Context;
use callpulse_core::Ts;
use callpulse_events::SharedClock;
use callpulse_sim::{EventProducer, SimTopics, Simulator, ensure_topics, run_realtime};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::Config;
use crate::cli::SimulateArgs;

/// What to produce, where.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub brokers: Option<String>,
    pub scale: Option<f64>,
    pub seed: Option<u64>,
    /// Bulk mode: this many events, as fast as possible.
    pub count: Option<usize>,
    pub lookback_mins: u32,
    pub create_topics: bool,
    pub partitions: i32,
}

impl From<&SimulateArgs> for SimulateOptions {
    fn from(a: &SimulateArgs) -> Self {
        SimulateOptions {
            brokers: a.brokers.clone(),
            scale: a.scale,
            seed: a.seed,
            count: a.count,
            lookback_mins: a.lookback_mins,
            create_topics: a.create_topics,
            partitions: a.partitions,
        }
    }
}

/// Produces simulated events per `opts`; returns when done (bulk) or when `shutdown` is
/// cancelled (real time).
///
/// # Errors
/// A producer or topic-creation failure, with context.
pub async fn simulate(
    config: &Config,
    opts: SimulateOptions,
    clock: SharedClock,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let brokers = opts
        .brokers
        .clone()
        .unwrap_or_else(|| config.ingest.brokers.clone());
    let topics = &config.ingest.topics;
    // The cluster's security settings (ingest.librdkafka: SASL, SSL) reach it here too.
    let connection = config.ingest.connection_properties();
    if opts.create_topics {
        ensure_topics(&brokers, &connection, &topics.all(), opts.partitions)
            .await
            .context("while creating topics")?;
    }
    let producer = {
        let (config, brokers) = (config.clone(), brokers.clone());
        tokio::task::spawn_blocking(move || connected_producer(&config, &brokers))
            .await
            .context("the connection check panicked")??
    };
    let mut sim_config = config.simulator.clone();
    if let Some(scale) = opts.scale {
        sim_config.scale = scale;
    }
    if let Some(seed) = opts.seed {
        sim_config.seed = seed;
    }
    match opts.count {
        Some(count) => {
            let now = clock.now();
            let start = Ts(now.millis() - i64::from(opts.lookback_mins) * 60_000);
            // Producing blocks (a full local queue waits, flush waits for delivery): off the
            // async runtime's threads.
            let failures = tokio::task::spawn_blocking(move || {
                bulk_load(&sim_config, start, now, count, &producer)?;
                Ok::<u64, anyhow::Error>(producer.failures())
            })
            .await
            .context("the bulk load thread panicked")??;
            info!(produced = count, failures, %brokers, "bulk load produced");
        }
        None => {
            let sim = Simulator::new(sim_config, clock.now());
            info!(%brokers, "producing simulated events in real time; Ctrl-C to stop");
            let producer = std::sync::Arc::new(producer);
            let driver = std::sync::Arc::clone(&producer);
            let produced =
                tokio::task::spawn_blocking(move || run_realtime(sim, &driver, &clock, &shutdown))
                    .await
                    .context("the simulator thread panicked")?
                    .context("while producing")?;
            info!(
                produced,
                failures = producer.failures(),
                "simulator stopped"
            );
        }
    }
    Ok(())
}

/// Produces `count` simulated events starting at `start`, shifted so the last one lies at
/// `now` at the latest (a live engine rejects events from the future), without holding them:
/// a first run finds the last event's time, a second (the same seed gives the same events)
/// produces them a simulated minute at a time.
fn bulk_load(
    sim_config: &callpulse_sim::SimConfig,
    start: Ts,
    now: Ts,
    count: usize,
    producer: &EventProducer,
) -> anyhow::Result<()> {
    let mut last = start;
    Simulator::new(sim_config.clone(), start)
        .stream(count, |env| {
            last = env.ts;
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    let shift = now.millis_since(last).min(0);
    Simulator::new(sim_config.clone(), start).stream(count, |mut env| {
        env.ts = env.ts.plus_millis(shift);
        producer.send(&env).context("while producing")
    })?;
    producer
        .flush(Duration::from_secs(120))
        .context("while flushing")
}

/// A producer of contract events on the configured topics, with the cluster's security
/// settings (ingest.librdkafka), once the cluster has answered: a wrong address or refused
/// credentials fail here in seconds rather than at the end of a long flush. Blocks while
/// it asks.
///
/// # Errors
/// The producer cannot be made, or the cluster does not answer.
pub(crate) fn connected_producer(config: &Config, brokers: &str) -> anyhow::Result<EventProducer> {
    let topics = &config.ingest.topics;
    let producer = EventProducer::new(
        brokers,
        &config.ingest.connection_properties(),
        SimTopics::new(
            &topics.calls,
            &topics.agents,
            &topics.tickets,
            &topics.surveys,
        ),
    )
    .context("while creating the producer")?;
    producer
        .check_reachable(Duration::from_secs(15))
        .with_context(|| format!("while connecting to {brokers}"))?;
    Ok(producer)
}
