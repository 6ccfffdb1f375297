//! `callpulse source asterisk-queue-log FILE --brokers ...`: a PBX's own log produced to
//! Kafka as contract events, once or following the file as Asterisk appends to it.
//!
//! Resuming: after each batch Kafka confirmed, `--state` gets the position read up to
//! (the file's device and inode, and the byte offset of the last complete line) together
//! with the mapper's state at that line (its open calls and agents), the way stream
//! processors keep state with its input offsets. On restart the mapper continues from that
//! state at that offset, so a call that entered the queue several rotations ago still ends
//! as one call. If the file was rotated while the bridge was down, the position names the
//! rotated file (`FILE.1`): its rest is produced first, then `FILE` from its start. Event
//! ids come from the lines, so a batch produced again after a crash between send and save
//! is counted once by the engine.
//!
//! Rotation while following: when `FILE` names another inode, the old handle is read to
//! its end and the new file from its start; a file that shrank (copytruncate) is read
//! from its start again.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use callpulse_events::Envelope;
use callpulse_sim::EventProducer;
use callpulse_sources::{QueueLogMapper, QueueLogOptions, QueueLogState};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::Config;

mod ami;
mod freeswitch;
mod socket;

pub use ami::{AmiBridge, run_ami_bridge};
pub use freeswitch::{FreeswitchBridge, run_freeswitch_bridge};

/// What `source asterisk-queue-log` was asked to do.
#[derive(Debug, Clone)]
pub struct QueueLogBridge {
    pub file: PathBuf,
    pub follow: bool,
    pub brokers: Option<String>,
    pub state: Option<PathBuf>,
    pub poll: Duration,
}

/// Where reading stopped: a file (by identity, not name), an offset in it, and the
/// mapper's state after the line that ends there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    dev: u64,
    inode: u64,
    offset: u64,
    #[serde(default)]
    mapper: QueueLogState,
}

/// An open file being read line by line.
struct Tail {
    reader: BufReader<File>,
    dev: u64,
    inode: u64,
    /// Bytes of complete lines consumed.
    offset: u64,
    /// A line still being written (no newline yet).
    partial: Vec<u8>,
}

impl Tail {
    fn open(path: &Path) -> std::io::Result<Tail> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        Ok(Tail {
            reader: BufReader::new(file),
            dev: meta.dev(),
            inode: meta.ino(),
            offset: 0,
            partial: Vec::new(),
        })
    }

    fn position(&self, mapper: &QueueLogMapper) -> Position {
        Position {
            dev: self.dev,
            inode: self.inode,
            offset: self.offset,
            mapper: mapper.state(),
        }
    }

    fn is(&self, pos: &Position) -> bool {
        self.dev == pos.dev && self.inode == pos.inode
    }

    /// The next complete line, or `None` at the end of what is written so far.
    fn next_line(&mut self) -> std::io::Result<Option<String>> {
        let n = self.reader.read_until(b'\n', &mut self.partial)?;
        if n == 0 || self.partial.last() != Some(&b'\n') {
            return Ok(None);
        }
        self.offset += self.partial.len() as u64;
        let line = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        Ok(Some(line))
    }

    /// Continues at `offset`, a line boundary this file had; `false` (and from the start)
    /// if the file is now shorter than that.
    fn seek_to(&mut self, offset: u64) -> std::io::Result<bool> {
        if self.reader.get_ref().metadata()?.len() < offset {
            return Ok(false);
        }
        self.reader.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        Ok(true)
    }

    /// Whether `path` now names another file than this one, or this one shrank.
    fn replaced(&self, path: &Path) -> Option<&'static str> {
        let meta = std::fs::metadata(path).ok()?;
        if meta.dev() != self.dev || meta.ino() != self.inode {
            Some("rotated")
        } else if meta.len() < self.offset {
            Some("truncated")
        } else {
            None
        }
    }
}

/// Runs the bridge until the file is read (or, following, until `shutdown`).
///
/// # Errors
/// The file cannot be read, the state cannot be written, or Kafka refuses.
pub fn run_queue_log_bridge(
    config: &Config,
    bridge: &QueueLogBridge,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let producer = bridge_producer(config, bridge.brokers.as_deref())?;
    let options = QueueLogOptions {
        zone: config.metrics.calendar().zone(),
        agent_teams: config.sources.asterisk.agent_teams.clone(),
    };
    let saved = match &bridge.state {
        Some(path) => load(path)?,
        None => {
            warn!(
                "no --state: every start reads {} from its beginning (the engine drops the events it has already counted, within ingest's dedupe capacity)",
                bridge.file.display()
            );
            None
        }
    };
    let mut mapper = match &saved {
        Some(pos) => QueueLogMapper::with_state(options, pos.mapper.clone()),
        None => QueueLogMapper::new(options),
    };
    let mut tail = Tail::open(&bridge.file)
        .with_context(|| format!("while opening {}", bridge.file.display()))?;
    let mut sender = Sender {
        producer: &producer,
        state: bridge.state.as_deref(),
        batch: Vec::new(),
        produced: 0,
    };
    if let Some(pos) = saved {
        let rotated = rotated_name(&bridge.file);
        if tail.is(&pos) {
            if tail.seek_to(pos.offset)? {
                info!(offset = pos.offset, file = %bridge.file.display(), "resuming");
            } else {
                warn!(file = %bridge.file.display(), "the file is shorter than the saved position (truncated): reading it from the start");
            }
        } else if let Ok(mut old) = Tail::open(&rotated)
            && old.is(&pos)
            && old.seek_to(pos.offset)?
        {
            // Rotated while down: the old file's rest first.
            info!(offset = pos.offset, file = %rotated.display(), "resuming in the rotated file");
            sender.drain(&mut old, &mut mapper)?;
        } else {
            warn!(
                file = %bridge.file.display(),
                "the saved position is in neither this file nor its rotated predecessor: reading it from the start"
            );
        }
    }
    loop {
        sender.drain(&mut tail, &mut mapper)?;
        if !bridge.follow || shutdown.is_cancelled() {
            break;
        }
        std::thread::sleep(bridge.poll);
        if let Some(why) = tail.replaced(&bridge.file) {
            // Whatever was written to the old file before the switch comes first.
            sender.drain(&mut tail, &mut mapper)?;
            match Tail::open(&bridge.file) {
                Ok(new) => {
                    info!(file = %bridge.file.display(), why, "reading the new file from its start");
                    tail = new;
                }
                // Between the rename and the new file's creation: try at the next poll.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).context("while reopening the log"),
            }
        }
    }
    info!(
        produced = sender.produced,
        failures = producer.failures(),
        "queue_log bridge stopped"
    );
    log_summary(&mapper);
    Ok(())
}

/// A bridge's producer: to `--brokers`, else `ingest.brokers`, with `[ingest.librdkafka]`'s
/// security settings, checked reachable before the first record is read.
fn bridge_producer(config: &Config, brokers: Option<&str>) -> anyhow::Result<EventProducer> {
    let brokers = brokers.unwrap_or(&config.ingest.brokers);
    crate::simulate::connected_producer(config, brokers)
}

/// What a mapper made of a log: one structured line, for the bridge and for replay.
pub(crate) fn log_summary(mapper: &QueueLogMapper) {
    let stats = mapper.stats();
    info!(
        lines = stats.lines,
        events = stats.events,
        refused = ?stats.malformed,
        ignored = ?stats.ignored,
        unknown_verbs = ?stats.unknown,
        lost_on_restart = stats.lost_on_restart,
        inferred_entries = stats.inferred_entries,
        still_open = mapper.open_calls(),
        "queue_log read"
    );
}

struct Sender<'a> {
    producer: &'a EventProducer,
    state: Option<&'a Path>,
    batch: Vec<Envelope>,
    produced: u64,
}

impl Sender<'_> {
    /// Produces every complete line `tail` has now, then saves its position once Kafka
    /// has confirmed them.
    fn drain(&mut self, tail: &mut Tail, mapper: &mut QueueLogMapper) -> anyhow::Result<()> {
        let start = tail.offset;
        while let Some(line) = tail.next_line()? {
            if let Err(error) = mapper.map(&line, &mut self.batch) {
                warn!(offset = tail.offset, reason = error.reason(), %error, "queue_log line not used");
            }
            for env in self.batch.drain(..) {
                self.producer.send(&env)?;
                self.produced += 1;
            }
        }
        if tail.offset == start {
            return Ok(());
        }
        self.producer
            .flush(Duration::from_secs(60))
            .context("while waiting for Kafka to confirm")?;
        if self.producer.failures() > 0 {
            anyhow::bail!(
                "{} events were not delivered; the position stays at the last confirmed batch",
                self.producer.failures()
            );
        }
        if let Some(path) = self.state {
            save(path, &tail.position(mapper))?;
        }
        Ok(())
    }
}

/// logrotate's first generation of `file`.
fn rotated_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

fn load(path: &Path) -> anyhow::Result<Option<Position>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a position this bridge wrote", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("while reading {}", path.display())),
    }
}

/// Written beside and renamed over, so a crash leaves the old position or the new one.
fn save(path: &Path, pos: &Position) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, serde_json::to_vec(pos)?)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("while saving the position to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_reads_complete_lines_only_and_counts_their_bytes() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("queue_log");
        std::fs::write(&path, "a|b\npartial").expect("write");
        let mut tail = Tail::open(&path).expect("open");
        assert_eq!(tail.next_line().expect("read").as_deref(), Some("a|b\n"));
        assert_eq!(tail.next_line().expect("read"), None);
        assert_eq!(tail.offset, 4);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b" line\n"))
            .expect("append");
        assert_eq!(
            tail.next_line().expect("read").as_deref(),
            Some("partial line\n")
        );
        assert_eq!(tail.offset, 17);
        assert_eq!(tail.replaced(&path), None);
        std::fs::write(&path, "x\n").expect("truncate");
        assert_eq!(tail.replaced(&path), Some("truncated"));
        assert!(
            !tail.seek_to(17).expect("seek"),
            "past the end of the shorter file"
        );
        assert!(tail.seek_to(2).expect("seek"));
        assert_eq!(tail.next_line().expect("read"), None, "offset 2 is the end");
        let pos = tail.position(&QueueLogMapper::new(QueueLogOptions::default()));
        save(&dir.path().join("pos"), &pos).expect("save");
        assert_eq!(load(&dir.path().join("pos")).expect("load"), Some(pos));
        assert_eq!(load(&dir.path().join("none")).expect("load"), None);
        assert_eq!(rotated_name(&path), dir.path().join("queue_log.1"));
    }
}
