//! `callpulse source asterisk-ami --ami HOST:PORT --brokers ...`: `app_queue`'s events read
//! live from Asterisk's Manager Interface, produced to Kafka as contract events.
//!
//! The client logs in (`Action: Login`, agent events only), maps each event as it arrives
//! and produces each read's batch with Kafka's confirmation. A QueueCallerLeave waits two
//! seconds for the AgentConnect that would make it an answer (`asterisk::ami`); the clock
//! read here settles those. When the connection drops it reconnects with a doubling backoff,
//! keeping the mapper's open calls and members. The manager keeps no history: events sent
//! while no client is connected are not seen (docs/sources.md).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context;
use callpulse_events::{Envelope, SharedClock};
use callpulse_sim::EventProducer;
use callpulse_sources::{AmiFramer, AmiMapper, AmiOptions};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::bridge_producer;
use super::socket::{self, HANDSHAKE, READ_POLL, SessionError};
use crate::Config;

/// What `source asterisk-ami` was asked to do.
#[derive(Debug, Clone)]
pub struct AmiBridge {
    /// The manager interface, `host:port` (Asterisk listens on 5038).
    pub ami: String,
    pub brokers: Option<String>,
    /// Longest wait between reconnection attempts.
    pub reconnect_max: Duration,
}

/// Runs the bridge until `shutdown`.
///
/// # Errors
/// No AMI secret configured, or Kafka cannot be reached at the start.
pub fn run_ami_bridge(
    config: &Config,
    bridge: &AmiBridge,
    clock: &SharedClock,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let asterisk = &config.sources.asterisk;
    anyhow::ensure!(
        !asterisk.ami_secret.is_empty(),
        "[sources.asterisk] ami_secret is empty: set CALLPULSE__SOURCES__ASTERISK__AMI_SECRET to the manager.conf secret of user {:?}",
        asterisk.ami_username
    );
    let producer = bridge_producer(config, bridge.brokers.as_deref())?;
    let mut mapper = AmiMapper::new(AmiOptions {
        agent_teams: asterisk.agent_teams.clone(),
    });
    let mut produced = 0u64;
    socket::reconnecting(
        "Asterisk manager interface",
        &bridge.ami,
        bridge.reconnect_max,
        shutdown,
        &mut produced,
        |produced| {
            session(
                bridge,
                config,
                &mut mapper,
                &producer,
                clock,
                produced,
                shutdown,
            )
        },
    );
    let stats = mapper.stats();
    info!(
        produced,
        events_in = stats.events_in,
        ignored = ?stats.ignored,
        other_exits = stats.other_exits,
        inferred_joins = stats.inferred_joins,
        refused = ?stats.malformed,
        still_open = mapper.open_calls(),
        failures = producer.failures(),
        "AMI bridge stopped"
    );
    Ok(())
}

/// One connection: banner, login, then events until the connection ends or `shutdown`.
fn session(
    bridge: &AmiBridge,
    config: &Config,
    mapper: &mut AmiMapper,
    producer: &EventProducer,
    clock: &SharedClock,
    produced: &mut u64,
    shutdown: &CancellationToken,
) -> Result<(), SessionError> {
    let asterisk = &config.sources.asterisk;
    let mut stream = socket::connect(&bridge.ami)?;
    let mut buf = vec![0u8; 64 * 1024];
    // The banner is one line ("Asterisk Call Manager/9.0.0"), not a message.
    let mut pending = Vec::new();
    let banner_end = loop {
        if let Some(i) = pending.iter().position(|b| *b == b'\n') {
            break i;
        }
        handshake_read(&mut stream, &mut buf, &mut pending)?;
    };
    let banner = String::from_utf8_lossy(&pending[..banner_end])
        .trim()
        .to_owned();
    if !banner.starts_with("Asterisk Call Manager") {
        return Err(anyhow::anyhow!("not an Asterisk manager interface: {banner:?}").into());
    }
    let mut framer = AmiFramer::new();
    framer.push(&pending[banner_end + 1..]);
    stream
        .write_all(
            format!(
                "Action: Login\r\nActionID: callpulse-login\r\nUsername: {}\r\nSecret: {}\r\nEvents: agent\r\n\r\n",
                asterisk.ami_username, asterisk.ami_secret
            )
            .as_bytes(),
        )
        .context("while logging in")?;
    loop {
        let Some(message) = framer.next_message() else {
            let mut more = Vec::new();
            handshake_read(&mut stream, &mut buf, &mut more)?;
            framer.push(&more);
            continue;
        };
        match message.get("Response").map(String::as_str) {
            Some("Success") => break,
            Some(_) => {
                let said = message.get("Message").cloned().unwrap_or_default();
                return Err(SessionError::Refused(said));
            }
            None => {}
        }
    }
    info!(ami = %bridge.ami, %banner, "logged in to the manager interface");
    let mut batch: Vec<Envelope> = Vec::new();
    loop {
        while let Some(message) = framer.next_message() {
            // Refusals are counted by the mapper; the next event is independent.
            let _ = mapper.message(&message, clock.now(), &mut batch);
        }
        mapper.tick(clock.now(), &mut batch);
        socket::send(producer, &mut batch, produced)?;
        if shutdown.is_cancelled() {
            let _ = stream.write_all(b"Action: Logoff\r\n\r\n");
            return Ok(());
        }
        if let Some(n) = socket::read_some(&mut stream, &mut buf)? {
            framer.push(&buf[..n]);
        }
    }
}

/// Reads during the handshake, which must complete within [`HANDSHAKE`].
fn handshake_read(
    stream: &mut TcpStream,
    buf: &mut [u8],
    into: &mut Vec<u8>,
) -> anyhow::Result<()> {
    let mut waited = Duration::ZERO;
    loop {
        if let Some(n) = socket::read_some(stream, buf).context("during the handshake")? {
            into.extend_from_slice(&buf[..n]);
            return Ok(());
        }
        waited += READ_POLL;
        anyhow::ensure!(waited < HANDSHAKE, "no reply within {HANDSHAKE:?}");
    }
}
