//! The native sources replay reads (`--from`): each source's mapper behind one interface.

use std::collections::BTreeMap;

use callpulse_core::MetricsPolicy;
use callpulse_events::Envelope;
use callpulse_sources::{
    CallcenterMapper, ConnectMapper, FreeswitchOptions, GenesysMapper, QueueLogMapper,
    QueueLogOptions, SeeLabMapper,
};
use tracing::info;

use super::Source;
use crate::Config;

/// A native source's mapper, kept across files: a history split over rotated files
/// continues its calls from one file into the next.
pub(super) enum Mapper {
    QueueLog(Box<QueueLogMapper>),
    Connect(Box<ConnectMapper>),
    Freeswitch(Box<CallcenterMapper>),
    Genesys(Box<GenesysMapper>),
    SeeLab(Box<SeeLabMapper>),
}

impl Mapper {
    /// The mapper for `source`; `None` for callpulse's own events.
    pub(super) fn for_source(
        source: Source,
        config: &Config,
        policy: &MetricsPolicy,
    ) -> Option<Self> {
        match source {
            Source::Callpulse => None,
            Source::AsteriskQueueLog => Some(Mapper::QueueLog(Box::new(QueueLogMapper::new(
                QueueLogOptions {
                    zone: policy.calendar().zone(),
                    agent_teams: config.sources.asterisk.agent_teams.clone(),
                },
            )))),
            Source::AmazonConnect => Some(Mapper::Connect(Box::default())),
            Source::Freeswitch => Some(Mapper::Freeswitch(Box::new(CallcenterMapper::new(
                FreeswitchOptions {
                    agent_teams: config.sources.freeswitch.agent_teams.clone(),
                },
            )))),
            Source::GenesysCloud => Some(Mapper::Genesys(Box::default())),
            Source::Seelab => Some(Mapper::SeeLab(Box::new(SeeLabMapper::new(
                policy.calendar().zone(),
            )))),
        }
    }

    /// Maps one line; on an error its reason and message (already counted by the mapper).
    pub(super) fn map(
        &mut self,
        line: &str,
        out: &mut Vec<Envelope>,
    ) -> Result<(), (&'static str, String)> {
        match self {
            Mapper::QueueLog(m) => m.map(line, out).map_err(|e| (e.reason(), e.to_string())),
            Mapper::Connect(m) => m.map(line, out).map_err(|e| (e.reason(), e.to_string())),
            // A capture is a byte stream framed by Content-Length: the lines put back
            // together. Each event's refusal is counted inside; a broken frame ends here.
            Mapper::Freeswitch(m) => m
                .push(format!("{line}\n").as_bytes(), out)
                .map_err(|e| ("bad_frame", e.to_string())),
            Mapper::Genesys(m) => m.map(line, out).map_err(|e| (e.reason(), e.to_string())),
            // Held until the file ends: its records are not in time order.
            Mapper::SeeLab(m) => m.map(line).map_err(|e| (e.reason(), e.to_string())),
        }
    }

    /// At the end of each file: events a source holds until then.
    pub(super) fn end_of_file(&mut self, out: &mut Vec<Envelope>) {
        if let Mapper::SeeLab(m) = self {
            m.flush(out);
        }
    }

    /// Lines refused so far, by reason.
    pub(super) fn refused(&self) -> &BTreeMap<&'static str, u64> {
        match self {
            Mapper::QueueLog(m) => &m.stats().malformed,
            Mapper::Connect(m) => &m.stats().malformed,
            Mapper::Freeswitch(m) => &m.stats().malformed,
            Mapper::Genesys(m) => &m.stats().malformed,
            Mapper::SeeLab(m) => &m.stats().malformed,
        }
    }

    /// One log line of what the mapper made of the input.
    pub(super) fn log_summary(&self) {
        match self {
            Mapper::QueueLog(m) => crate::source::log_summary(m),
            Mapper::Connect(m) => {
                let s = m.stats();
                info!(
                    contact_records = s.contact_records,
                    agent_events = s.agent_events,
                    events = s.events,
                    not_queued = s.not_queued,
                    resent = s.resent,
                    revised = s.revised,
                    transferred = s.transferred,
                    heartbeats = s.heartbeats,
                    refused = ?s.malformed,
                    "Amazon Connect records read"
                );
            }
            Mapper::Freeswitch(m) => {
                let s = m.stats();
                info!(
                    events_in = s.events_in,
                    events = s.events,
                    ignored = ?s.ignored,
                    other_frames = s.other_frames,
                    resumed = s.resumed,
                    refused = ?s.malformed,
                    still_open = m.open_members(),
                    "FreeSWITCH events read"
                );
            }
            Mapper::Genesys(m) => {
                let s = m.stats();
                info!(
                    conversations = s.conversations,
                    legs = s.legs,
                    events = s.events,
                    repeated = s.repeated,
                    not_queued = s.not_queued,
                    refused = ?s.malformed,
                    "Genesys Cloud conversations read"
                );
            }
            Mapper::SeeLab(m) => {
                let s = m.stats();
                info!(
                    records = s.records,
                    offered = s.offered,
                    straight_to_agent = s.straight_to_agent,
                    no_service = s.no_service,
                    events = s.events,
                    refused = ?s.malformed,
                    "SEE Lab call records read"
                );
            }
        }
    }
}
