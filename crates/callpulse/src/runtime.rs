//! `callpulse run`: ingest, the publisher and the HTTP server under one shutdown token.
//!
//! Shutdown order: the root token is cancelled (signal, or a task that failed) -> ingest
//! stops intake, drains its workers, commits offsets and leaves the group -> the publisher
//! publishes a last snapshot -> the HTTP server closes WebSocket clients and finishes the
//! requests in flight -> every task is awaited under a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use callpulse_core::Snapshot;
use callpulse_events::SharedClock;
use callpulse_export::auth::{Auth, AuthMode};
use callpulse_export::{
    ExportState, ExportTelemetry, LabelCap, Latest, Published, SnapshotCollector, Tls, serve,
};
use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::Config;
use crate::publisher::{self, PublisherSetup};

/// How long tasks get to finish after the HTTP server was told to stop.
const STOP_DEADLINE: Duration = Duration::from_secs(15);

/// Cancels `token` on Ctrl-C or SIGTERM.
pub async fn shutdown_signal(token: CancellationToken) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("ctrl-c received, shutting down"),
        () = term => info!("SIGTERM received, shutting down"),
        () = token.cancelled() => {}
    }
    token.cancel();
}

/// Spawns a named task; if it fails, everything shuts down (nothing runs half-dead).
fn spawn_named<F>(
    name: &'static str,
    tracker: &TaskTracker,
    root: &CancellationToken,
    fut: F,
) -> JoinHandle<anyhow::Result<()>>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let root = root.clone();
    tracker.spawn(async move {
        let result = fut.await;
        match &result {
            Ok(()) => info!(task = name, "task finished"),
            Err(err) => {
                error!(
                    task = name,
                    error = format!("{err:#}"),
                    "task failed; shutting down"
                );
                root.cancel();
            }
        }
        result
    })
}

/// Runs the engine: consumes per `config.ingest`, serves HTTP on `listener`, until
/// `shutdown` is cancelled. `clock` is the process's one wall clock.
///
/// # Errors
/// A start-up failure, or the first task failure, with context.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: SharedClock,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Credentials and certificates first: a server that cannot guard its figures does not
    // start at all.
    let auth =
        Auth::new(&config.auth, Arc::clone(&clock)).context("while setting up authentication")?;
    if auth.mode() == AuthMode::Off {
        warn!(
            "auth.mode = \"off\": every figure, every agent's included, is served to anyone who reaches {}",
            config.export.listen
        );
    }
    let tls = if config.export.tls.enabled() {
        Some(Tls::load(&config.export.tls).context("while loading the TLS certificate")?)
    } else {
        None
    };
    let policy = Arc::new(config.metrics.clone());
    let profiles = crate::forecast::load_profiles(&config)?;
    let registry = Registry::new();
    let ingest = callpulse_ingest::start(
        &config.ingest,
        Arc::clone(&policy),
        &registry,
        Arc::clone(&clock),
        shutdown.clone(),
    )
    .context("while starting kafka ingest")?;
    let latest = Latest::new(Published::new(Snapshot::empty(&policy, clock.now())));
    registry
        .register(Box::new(
            SnapshotCollector::new(Arc::clone(&latest))
                .context("while building the metrics collector")?,
        ))
        .context("while registering the metrics collector")?;
    // The standard process_* series (CPU, resident memory, open files, threads, start
    // time), which dashboards and alerts of any Rust or Go service already know.
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .context("while registering the process collector")?;
    let telemetry =
        ExportTelemetry::register(&registry).context("while registering export telemetry")?;
    let telemetry_for_tls = telemetry.clone();
    let addr = listener
        .local_addr()
        .context("while reading the listen address")?;
    // The server outlives ingest on shutdown so the last snapshot can still be read.
    let http_stop = CancellationToken::new();
    let state = ExportState::new(
        config.export.clone(),
        Arc::clone(&latest),
        registry,
        telemetry,
        ingest.ready_flag(),
        http_stop.clone(),
    )
    .with_auth(Arc::clone(&auth))
    .with_tls(tls.clone())
    .with_settings(settings(&config));
    let tls_on = state.tls.is_some();
    let tracker = TaskTracker::new();
    // Stopped only after ingest has drained, so its last snapshot reflects everything applied.
    let publish_stop = CancellationToken::new();
    let tick = Duration::from_millis(config.ingest.tick_ms.max(10));
    let publisher = spawn_named(
        "publisher",
        &tracker,
        &shutdown,
        publisher::run(
            Arc::clone(&ingest.board),
            latest,
            PublisherSetup {
                labels: LabelCap::new(config.export.max_unconfigured_labels, Arc::clone(&policy)),
                policy,
                profiles,
                telemetry: ingest.telemetry.clone(),
                clock,
                tick,
                shared: ingest.shared.clone(),
                share_every_ticks: (config.ingest.shared.interval_ms
                    / tick.as_millis().max(1) as u64)
                    .max(1),
            },
            publish_stop.clone(),
        ),
    );
    tracker.spawn(auth.run(http_stop.clone()));
    if let Some(tls) = tls {
        tracker.spawn(tls.run(telemetry_for_tls, http_stop.clone()));
    }
    let http = spawn_named("http", &tracker, &shutdown, async move {
        serve(listener, state).await.context("while serving http")
    });
    info!(%addr, scheme = if tls_on { "https" } else { "http" }, "http server listening");
    let ingest_result = ingest.join().await;
    shutdown.cancel();
    publish_stop.cancel();
    let publisher_result = publisher
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("publisher panicked: {e}")));
    http_stop.cancel();
    tracker.close();
    if tokio::time::timeout(STOP_DEADLINE, tracker.wait())
        .await
        .is_err()
    {
        warn!("tasks did not stop within the deadline");
    }
    let http_result = match tokio::time::timeout(Duration::from_millis(10), http).await {
        Ok(joined) => joined.unwrap_or_else(|e| Err(anyhow::anyhow!("http task panicked: {e}"))),
        Err(_) => Ok(()),
    };
    ingest_result.context("while consuming from kafka")?;
    publisher_result?;
    http_result?;
    info!("callpulse stopped cleanly");
    Ok(())
}

/// The effective configuration for `/api/v1/config`: token hashes and librdkafka secrets
/// (passwords, keys, secrets) left out.
fn settings(config: &Config) -> serde_json::Value {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(tokens) = value
        .pointer_mut("/auth/tokens")
        .and_then(|t| t.as_array_mut())
    {
        for token in tokens {
            if let Some(hash) = token.get_mut("sha256") {
                *hash = serde_json::Value::from("(hidden)");
            }
        }
    }
    if let Some(props) = value
        .pointer_mut("/ingest/librdkafka")
        .and_then(|p| p.as_object_mut())
    {
        for (key, prop) in props.iter_mut() {
            if ["password", "secret", "key", "jaas"]
                .iter()
                .any(|s| key.contains(s))
            {
                *prop = serde_json::Value::from("(hidden)");
            }
        }
    }
    value
}
