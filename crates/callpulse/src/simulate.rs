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
    if opts.create_topics {
        ensure_topics(&brokers, &topics.all(), opts.partitions)
            .await
            .context("while creating topics")?;
    }
    let sim_topics = SimTopics::new(
        &topics.calls,
        &topics.agents,
        &topics.tickets,
        &topics.surveys,
    );
    let producer = EventProducer::new(&brokers, &Default::default(), sim_topics)
        .context("while creating the producer")?;
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
            let mut sim = Simulator::new(
                sim_config,
                Ts(now.millis() - i64::from(opts.lookback_mins) * 60_000),
            );
            let mut events = sim.take(count);
            events.truncate(count);
            // However long the simulated span, it ends now: no event lies in the future
            // (which a live engine would reject).
            let shift = events
                .last()
                .map_or(0, |last| now.millis_since(last.ts).min(0));
            for env in &mut events {
                env.ts = env.ts.plus_millis(shift);
            }
            for env in &events {
                producer.send(env).context("while producing")?;
            }
            producer
                .flush(Duration::from_secs(120))
                .context("while flushing")?;
            info!(produced = count, failures = producer.failures(), %brokers, "bulk load produced");
        }
        None => {
            let sim = Simulator::new(sim_config, clock.now());
            info!(%brokers, "producing simulated events in real time; Ctrl-C to stop");
            let produced = run_realtime(sim, &producer, clock, shutdown)
                .await
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
