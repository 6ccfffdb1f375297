//! `callpulse source freeswitch --esl HOST:PORT --brokers ...`: FreeSWITCH's
//! `mod_callcenter` events, read live from its event socket (inbound mode, as `fs_cli`
//! connects), produced to Kafka as contract events.
//!
//! The client authenticates (`auth`), subscribes to `CUSTOM callcenter::info` in plain
//! format, and produces what the mapper makes of each event, waiting for Kafka to confirm
//! each read's batch. When the socket closes or fails, it reconnects with a backoff doubling
//! up to `--reconnect-max-ms`, keeping the mapper (its open members and agents): a member
//! that queued before the break still ends as one call. The event socket keeps no history,
//! so events sent while no client is connected are not seen; the engine still counts an
//! outcome whose queueing it missed (as an orphan, `docs/time.md`).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context;
use callpulse_events::Envelope;
use callpulse_sim::EventProducer;
use callpulse_sources::freeswitch::esl::{Frame, Framer};
use callpulse_sources::{CallcenterMapper, FreeswitchOptions};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::bridge_producer;
use super::socket::{self, HANDSHAKE, READ_POLL, SessionError};
use crate::Config;

/// What `source freeswitch` was asked to do.
#[derive(Debug, Clone)]
pub struct FreeswitchBridge {
    /// The event socket, `host:port` (FreeSWITCH listens on 8021).
    pub esl: String,
    pub brokers: Option<String>,
    /// Longest wait between reconnection attempts.
    pub reconnect_max: Duration,
}

/// Runs the bridge until `shutdown`.
///
/// # Errors
/// Kafka cannot be reached at the start.
pub fn run_freeswitch_bridge(
    config: &Config,
    bridge: &FreeswitchBridge,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let producer = bridge_producer(config, bridge.brokers.as_deref())?;
    let mut mapper = CallcenterMapper::new(FreeswitchOptions {
        agent_teams: config.sources.freeswitch.agent_teams.clone(),
    });
    let password = &config.sources.freeswitch.password;
    let mut produced = 0u64;
    socket::reconnecting(
        "FreeSWITCH event socket",
        &bridge.esl,
        bridge.reconnect_max,
        shutdown,
        &mut produced,
        |produced| session(bridge, password, &mut mapper, &producer, produced, shutdown),
    );
    let stats = mapper.stats();
    info!(
        produced,
        events_in = stats.events_in,
        ignored = ?stats.ignored,
        other_frames = stats.other_frames,
        resumed = stats.resumed,
        refused = ?stats.malformed,
        still_open = mapper.open_members(),
        failures = producer.failures(),
        "FreeSWITCH bridge stopped"
    );
    Ok(())
}

/// One connection: handshake, then events until the socket ends or `shutdown`.
fn session(
    bridge: &FreeswitchBridge,
    password: &str,
    mapper: &mut CallcenterMapper,
    producer: &EventProducer,
    produced: &mut u64,
    shutdown: &CancellationToken,
) -> Result<(), SessionError> {
    let mut stream = socket::connect(&bridge.esl)?;
    let mut framer = Framer::new();
    let greeting = next_frame(&mut stream, &mut framer)?;
    if greeting.content_type() != Some("auth/request") {
        return Err(
            anyhow::anyhow!("expected auth/request, got {:?}", greeting.content_type()).into(),
        );
    }
    stream
        .write_all(format!("auth {password}\n\n").as_bytes())
        .context("while sending auth")?;
    let reply = next_frame(&mut stream, &mut framer)?;
    let text = reply.header("Reply-Text").unwrap_or_default();
    if !text.starts_with("+OK") {
        return Err(SessionError::Refused(text.to_owned()));
    }
    stream
        .write_all(b"event plain CUSTOM callcenter::info\n\n")
        .context("while subscribing")?;
    let reply = next_frame(&mut stream, &mut framer)?;
    let text = reply.header("Reply-Text").unwrap_or_default();
    if !text.starts_with("+OK") {
        return Err(anyhow::anyhow!("subscription refused: {text}").into());
    }
    info!(esl = %bridge.esl, "subscribed to callcenter::info");
    let mut batch: Vec<Envelope> = Vec::new();
    // Whatever came in behind the subscription's reply is the first events.
    mapper
        .push(&framer.into_rest(), &mut batch)
        .context("event stream")?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        socket::send(producer, &mut batch, produced)?;
        if shutdown.is_cancelled() {
            return Ok(());
        }
        if let Some(n) = socket::read_some(&mut stream, &mut buf)? {
            mapper.push(&buf[..n], &mut batch).context("event stream")?;
        }
    }
}

/// The next frame of the handshake, within [`HANDSHAKE`].
fn next_frame(stream: &mut TcpStream, framer: &mut Framer) -> anyhow::Result<Frame> {
    let mut buf = [0u8; 4096];
    let mut waited = Duration::ZERO;
    loop {
        if let Some(frame) = framer.next_frame()? {
            return Ok(frame);
        }
        match socket::read_some(stream, &mut buf).context("during the handshake")? {
            Some(n) => framer.push(&buf[..n]),
            None => {
                waited += READ_POLL;
                if waited >= HANDSHAKE {
                    anyhow::bail!("no handshake reply within {HANDSHAKE:?}");
                }
            }
        }
    }
}
