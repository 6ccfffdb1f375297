//! `callpulse demo`: the whole product in one process. librdkafka's in-process mock cluster
//! is the broker; the simulator produces into it over the Kafka protocol; the engine consumes
//! through exactly the consumer-group path `run` uses; the HTTP server serves the wallboard.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use callpulse_core::Ts;
use callpulse_events::SharedClock;
use callpulse_export::auth::AuthMode;
use callpulse_sim::{EventProducer, SimTopics, Simulator, run_realtime};
use rdkafka::mocking::MockCluster;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cli::DemoArgs;
use crate::{Config, run};

/// Demo knobs (from `callpulse demo`'s flags).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Partitions per topic in the in-process broker.
    pub partitions: i32,
    /// Overrides `simulator.seed`.
    pub seed: Option<u64>,
    /// Follow the time of day instead of a busy hour all day.
    pub real_day: bool,
    /// Minutes of history produced before going live.
    pub backfill_mins: u32,
}

impl From<&DemoArgs> for DemoOptions {
    fn from(args: &DemoArgs) -> Self {
        DemoOptions {
            partitions: args.partitions,
            seed: args.seed,
            real_day: args.real_day,
            backfill_mins: args.backfill_mins,
        }
    }
}

/// The demo's profile file, removed when the demo stops.
struct DemoProfile {
    path: std::path::PathBuf,
}

impl DemoProfile {
    /// Writes each simulated queue's expected day, every weekday alike: offered calls per
    /// interval from its peak rate and the daily shape (flat when the demo runs a busy hour
    /// all day), AHT and patience from its means. `profile_days` reads 0: no day was
    /// averaged.
    fn write(config: &Config, today: chrono::NaiveDate) -> anyhow::Result<DemoProfile> {
        use callpulse_core::forecast::{Method, PROFILE_VERSION, Profile, ProfileSet};
        let interval_secs = config.metrics.interval_mins * 60;
        let per_day = (86_400 / interval_secs) as usize;
        let sim = &config.simulator;
        let queues = sim
            .queues
            .iter()
            .map(|q| {
                let offered = (0..per_day)
                    .map(|slot| {
                        let hour = (slot as u32 * interval_secs / 3600) % 24;
                        let shape = if sim.flat_day {
                            1.0
                        } else {
                            callpulse_sim::daily_shape(hour)
                        };
                        q.peak_calls_per_min * sim.scale * shape * f64::from(interval_secs) / 60.0
                    })
                    .collect();
                let aht = q.mean_talk_secs + q.hold_share * q.mean_hold_secs + q.mean_acw_secs;
                let profile = Profile {
                    offered,
                    aht_s: vec![Some(aht); per_day],
                    patience_s: Some(q.mean_patience_secs),
                    days: 0,
                };
                (
                    q.name.clone(),
                    std::array::from_fn(|_| Some(profile.clone())),
                )
            })
            .collect();
        let profiles = ProfileSet {
            version: PROFILE_VERSION,
            timezone: config.metrics.timezone.clone(),
            interval_secs,
            learned_to: today,
            method: Method::default(),
            queues,
        };
        let path = std::env::temp_dir().join(format!(
            "callpulse-demo-profile-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, serde_json::to_vec(&profiles)?)
            .with_context(|| format!("while writing the demo's profile {}", path.display()))?;
        Ok(DemoProfile { path })
    }
}

impl Drop for DemoProfile {
    fn drop(&mut self) {
        // Best effort: a leftover file in the temp directory harms nothing.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Runs the demo until `shutdown` is cancelled. Prints the URLs on stdout.
///
/// # Errors
/// A start-up failure of the broker, producer or engine.
pub async fn demo(
    mut config: Config,
    listener: TcpListener,
    clock: SharedClock,
    shutdown: CancellationToken,
    opts: DemoOptions,
) -> anyhow::Result<()> {
    let mock = MockCluster::new(1).context("while starting the in-process kafka broker")?;
    let topics = config.ingest.topics.clone();
    for topic in topics.all() {
        mock.create_topic(topic, opts.partitions.max(1), 1)
            .with_context(|| format!("while creating topic {topic}"))?;
    }
    // The mock broker has no admin API, so the engine could not create the compacted
    // checkpoint, snapshot, FCR repartition and dead-letter topics itself.
    let checkpoints = &config.ingest.checkpoints;
    if checkpoints.enabled {
        mock.create_topic(&checkpoints.topic, checkpoints.partitions.max(1), 1)
            .with_context(|| format!("while creating topic {}", checkpoints.topic))?;
    }
    if config.ingest.shared.enabled {
        let topic = config.ingest.shared_topic();
        mock.create_topic(&topic, 1, 1)
            .with_context(|| format!("while creating topic {topic}"))?;
    }
    let fcr_topic = config.ingest.fcr_topic();
    mock.create_topic(&fcr_topic, config.ingest.fcr.partitions.max(1), 1)
        .with_context(|| format!("while creating topic {fcr_topic}"))?;
    let dead_letters = &config.ingest.dead_letters;
    if dead_letters.enabled {
        mock.create_topic(&dead_letters.topic, dead_letters.partitions.max(1), 1)
            .with_context(|| format!("while creating topic {}", dead_letters.topic))?;
    }
    let brokers = mock.bootstrap_servers();
    config.ingest.brokers = brokers.clone();
    // The demo is for a laptop: with no credential configured it serves open, and says so
    // (`run` refuses to start that way unless `auth.mode = "off"`).
    if config.auth.mode == AuthMode::Required && !config.auth.has_credentials() {
        warn!(
            "demo: no credential configured in [auth], so the demo serves without authentication"
        );
        config.auth.mode = AuthMode::Off;
    }
    if let Some(seed) = opts.seed {
        config.simulator.seed = seed;
    }
    config.simulator.flat_day = !opts.real_day;
    // Staffing compares each queue with the team the simulator staffs it with.
    for model in &config.simulator.queues {
        let queue = config
            .metrics
            .queues
            .entry(model.name.clone())
            .or_insert_with(|| config.metrics.default_queue.clone());
        queue.team.get_or_insert_with(|| model.team.clone());
    }
    // The org chart (docs/org.md), unless the configuration draws its own: the demo's
    // service teams in one group, its sales teams in another.
    if config.metrics.groups.is_empty() {
        for (group, teams) in [
            ("service", ["billing-team", "tech-team"]),
            ("sales", ["sales-team", "vip-team"]),
        ] {
            let teams: Vec<String> = teams
                .into_iter()
                .filter(|t| config.simulator.queues.iter().any(|q| q.team == *t))
                .map(str::to_owned)
                .collect();
            if !teams.is_empty() {
                config.metrics.groups.insert(
                    group.to_owned(),
                    callpulse_core::policy::GroupPolicy {
                        teams,
                        queues: Vec::new(),
                    },
                );
            }
        }
    }
    // The reforecast needs each queue's typical day; the demo has no history, so the
    // simulator's own model stands in for one (what a long-term forecast would give).
    let _profile = if config.forecast.profile.is_empty() {
        let today = clock
            .now()
            .to_datetime()
            .map_or_else(chrono::NaiveDate::default, |t| t.date_naive());
        let file = DemoProfile::write(&config, today)?;
        config.forecast.profile = file.path.display().to_string();
        Some(file)
    } else {
        None
    };
    let sim_topics = SimTopics::new(
        &topics.calls,
        &topics.agents,
        &topics.tickets,
        &topics.surveys,
    );
    let producer = EventProducer::new(&brokers, &BTreeMap::new(), sim_topics)
        .context("while creating the simulator's producer")?;
    let now = clock.now();
    let mut sim = Simulator::new(
        config.simulator.clone(),
        Ts(now.millis() - i64::from(opts.backfill_mins) * 60_000),
    );
    // Producing blocks when the local queue is full: on a blocking thread, not the runtime's.
    let backfill_mins = opts.backfill_mins;
    let (sim, producer) = tokio::task::spawn_blocking(move || {
        let backfill = sim.advance_to(now);
        for env in &backfill {
            producer.send(env).context("while producing the backfill")?;
        }
        info!(
            events = backfill.len(),
            minutes = backfill_mins,
            "backfill produced"
        );
        Ok::<_, anyhow::Error>((sim, producer))
    })
    .await
    .context("the backfill thread panicked")??;
    let addr = listener
        .local_addr()
        .context("while reading the listen address")?;
    banner(&addr.to_string(), &brokers, opts.partitions);
    let engine = async {
        let result = run(config, listener, Arc::clone(&clock), shutdown.clone()).await;
        shutdown.cancel();
        result
    };
    let (sim_clock, sim_stop) = (Arc::clone(&clock), shutdown.clone());
    let simulator =
        tokio::task::spawn_blocking(move || run_realtime(sim, &producer, &sim_clock, &sim_stop));
    let (engine, produced) = tokio::join!(engine, simulator);
    engine?;
    let produced = produced
        .context("the simulator thread panicked")?
        .context("while producing simulated events")?;
    info!(produced, "demo stopped");
    drop(mock);
    Ok(())
}

#[allow(clippy::print_stdout)] // the demo's one job on stdout: tell the user where to look
fn banner(addr: &str, brokers: &str, partitions: i32) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "callpulse demo is running (in-process Kafka broker {brokers}, {partitions} partitions per topic)\n\
         \x20 wallboard: http://{addr}/\n\
         \x20 metrics:   http://{addr}/metrics\n\
         \x20 websocket: ws://{addr}/ws\n\
         \x20 snapshot:  http://{addr}/api/v1/snapshot\n\
         Press Ctrl-C to stop."
    );
    let _ = out.flush();
}
