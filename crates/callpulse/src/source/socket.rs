//! What the live socket bridges share (FreeSWITCH's event socket, Asterisk's AMI): the
//! connection, reads that wake for shutdown, the reconnect loop with its backoff, and
//! producing a batch with Kafka's confirmation.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use callpulse_events::Envelope;
use callpulse_sim::EventProducer;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

/// How long a read waits before the shutdown token (and the clock) are looked at again.
pub(super) const READ_POLL: Duration = Duration::from_millis(200);
/// How long a connection attempt and a handshake may take.
pub(super) const HANDSHAKE: Duration = Duration::from_secs(10);

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    /// The server refused the credentials: said apart, since retrying changes nothing until
    /// the configuration does.
    #[error("credentials refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Connects to `addr` (`host:port`) with reads that time out every [`READ_POLL`].
pub(super) fn connect(addr: &str) -> anyhow::Result<TcpStream> {
    let resolved = addr
        .to_socket_addrs()
        .with_context(|| format!("while resolving {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let stream = TcpStream::connect_timeout(&resolved, HANDSHAKE)
        .with_context(|| format!("while connecting to {resolved}"))?;
    stream.set_read_timeout(Some(READ_POLL)).context("socket")?;
    Ok(stream)
}

/// Reads what is there: `Ok(None)` when the poll interval passed with nothing.
///
/// # Errors
/// The peer closed the connection, or the read failed.
pub(super) fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> anyhow::Result<Option<usize>> {
    match stream.read(buf) {
        Ok(0) => anyhow::bail!("closed by the server"),
        Ok(n) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context("while reading"),
    }
}

/// Runs `session` until it returns `Ok` (shutdown) or `shutdown` is cancelled, connecting
/// again after each failure: 200 ms, then twice as long each time up to `max`, back to
/// 200 ms after a session that produced something.
pub(super) fn reconnecting(
    what: &str,
    addr: &str,
    max: Duration,
    shutdown: &CancellationToken,
    produced: &mut u64,
    mut session: impl FnMut(&mut u64) -> Result<(), SessionError>,
) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let before = *produced;
        match session(produced) {
            Ok(()) => return,
            Err(SessionError::Refused(reply)) => {
                error!(what, addr, %reply, "the server refused the credentials; retrying");
            }
            Err(SessionError::Other(e)) => {
                warn!(what, addr, error = %format!("{e:#}"), retry_in_ms = backoff.as_millis() as u64, "session ended; reconnecting");
            }
        }
        if *produced > before {
            backoff = Duration::from_millis(200);
        }
        sleep_unless(shutdown, backoff);
        backoff = (backoff * 2).min(max);
    }
}

/// Produces the batch and waits for Kafka to confirm it.
///
/// # Errors
/// Kafka refused or did not confirm within a minute.
pub(super) fn send(
    producer: &EventProducer,
    batch: &mut Vec<Envelope>,
    produced: &mut u64,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    for env in batch.drain(..) {
        producer.send(&env)?;
        *produced += 1;
    }
    producer
        .flush(Duration::from_secs(60))
        .context("while waiting for Kafka to confirm")?;
    if producer.failures() > 0 {
        anyhow::bail!("{} events were not delivered", producer.failures());
    }
    Ok(())
}

/// Sleeps `total`, waking early on shutdown.
fn sleep_unless(shutdown: &CancellationToken, total: Duration) {
    let mut left = total;
    while !left.is_zero() && !shutdown.is_cancelled() {
        let step = left.min(Duration::from_millis(100));
        std::thread::sleep(step);
        left -= step;
    }
}
