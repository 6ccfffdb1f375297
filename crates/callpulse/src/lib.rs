//! callpulse: the binary's library half. Wiring only; the engine lives in the other crates.
//!
//! - `cli.rs`: the command line (`run`, `demo`, `simulate`).
//! - `clock.rs`: [`SystemClock`], the process's one wall clock, injected everywhere.
//! - `config.rs`: [`Config`], layered from the shipped defaults, a file and the environment.
//! - `runtime.rs`: [`run`]: ingest + publisher + HTTP server under one shutdown token.
//! - `publisher.rs`: merges partition snapshots into the one published snapshot each tick.
//! - `demo.rs`: [`demo`]: the whole product in one process on librdkafka's mock cluster.
//! - `simulate.rs`: producing simulated events to a real cluster.
//! - `replay.rs`: NDJSON history through the core: final snapshot or interval report.
//! - `source.rs`: a PBX's own log produced to Kafka as contract events (`callpulse source`).
//! - `logging.rs`: `tracing` set-up (text or JSON, `RUST_LOG`).

pub mod cli;
pub mod clock;
pub mod config;
mod demo;
pub mod forecast;
pub mod logging;
mod publisher;
pub mod replay;
mod runtime;
mod simulate;
mod source;
mod token;

pub use clock::SystemClock;
pub use config::{Config, ConfigError};
pub use demo::{DemoOptions, demo};
pub use runtime::{run, shutdown_signal};
pub use simulate::{SimulateOptions, simulate};

use std::collections::HashMap;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

/// Runs the parsed command line to completion.
///
/// # Errors
/// Whatever stopped the command, with context.
pub fn main_with(cli: cli::Cli) -> anyhow::Result<()> {
    if let cli::Command::Token(args) = &cli.command {
        // Needs no configuration: minting a token must work before there is one.
        return token::token(args, &mut std::io::stdout().lock());
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut config =
        Config::load(cli.config.as_deref(), &env).context("while loading the configuration")?;
    if let cli::Command::Replay(args) = &cli.command {
        // Synchronous and single-threaded: no runtime needed.
        return replay::replay(
            &config,
            &replay::ReplayOptions::from(args),
            SystemClock::shared(),
        )
        .map(|_| ());
    }
    if let cli::Command::Forecast(args) = &cli.command {
        return forecast::forecast(
            &config,
            &args.options()?,
            SystemClock::shared(),
            &mut std::io::stdout().lock(),
        )
        .map(|_| ());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("callpulse")
        .build()
        .context("while starting the async runtime")?;
    let clock = SystemClock::shared();
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(shutdown_signal(shutdown.clone()));
        match cli.command {
            cli::Command::Run(args) => {
                if let Some(brokers) = args.brokers {
                    config.ingest.brokers = brokers;
                }
                if let Some(listen) = args.listen {
                    config.export.listen = listen;
                }
                let listener = bind(&config.export.listen).await?;
                run(config, listener, clock, shutdown).await
            }
            cli::Command::Demo(args) => {
                let listen = args
                    .listen
                    .clone()
                    .unwrap_or_else(|| config.export.listen.clone());
                let listener = bind(&listen).await?;
                demo(config, listener, clock, shutdown, DemoOptions::from(&args)).await
            }
            cli::Command::Simulate(args) => {
                simulate(&config, SimulateOptions::from(&args), clock, shutdown).await
            }
            cli::Command::Source(cli::SourceCommand::AsteriskQueueLog(args)) => {
                let bridge = source::QueueLogBridge {
                    file: args.file,
                    follow: args.follow,
                    brokers: args.brokers,
                    state: args.state,
                    poll: std::time::Duration::from_millis(args.poll_ms),
                };
                // Blocking file reads and Kafka flushes: off the async runtime's threads.
                tokio::task::spawn_blocking(move || {
                    source::run_queue_log_bridge(&config, &bridge, &shutdown)
                })
                .await
                .context("the source thread panicked")?
            }
            cli::Command::Source(cli::SourceCommand::Freeswitch(args)) => {
                let bridge = source::FreeswitchBridge {
                    esl: args.esl,
                    brokers: args.brokers,
                    reconnect_max: std::time::Duration::from_millis(args.reconnect_max_ms),
                };
                // Blocking socket reads and Kafka flushes: off the async runtime's threads.
                tokio::task::spawn_blocking(move || {
                    source::run_freeswitch_bridge(&config, &bridge, &shutdown)
                })
                .await
                .context("the source thread panicked")?
            }
            cli::Command::Source(cli::SourceCommand::AsteriskAmi(args)) => {
                let bridge = source::AmiBridge {
                    ami: args.ami,
                    brokers: args.brokers,
                    reconnect_max: std::time::Duration::from_millis(args.reconnect_max_ms),
                };
                tokio::task::spawn_blocking(move || {
                    source::run_ami_bridge(&config, &bridge, &clock, &shutdown)
                })
                .await
                .context("the source thread panicked")?
            }
            cli::Command::Replay(_) | cli::Command::Token(_) | cli::Command::Forecast(_) => {
                unreachable!("replay, forecast and token returned above")
            }
        }
    })
}

async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "{addr} is already in use by another process: choose another address with \
             --listen HOST:PORT (or export.listen, CALLPULSE__EXPORT__LISTEN)"
        )),
        Err(e) => Err(e).with_context(|| format!("while binding the HTTP listener to {addr}")),
    }
}
