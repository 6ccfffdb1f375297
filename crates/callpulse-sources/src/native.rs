//! The native formats a Kafka topic may carry for the engine to read directly (bridged from
//! Kinesis, an event bus, an export job): records each complete in itself, so any partition
//! of the topic can be mapped on its own.

use callpulse_events::Envelope;
use serde::{Deserialize, Serialize};

use crate::{ConnectMapper, GenesysMapper};

/// What a native topic's messages are (`[ingest.topics] native`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NativeFormat {
    /// Amazon Connect contact records and agent events.
    AmazonConnect,
    /// Genesys Cloud conversation details.
    GenesysCloud,
}

/// One partition's mapper: what it remembers (contacts seen, events produced) spans that
/// partition's messages.
#[derive(Debug)]
pub enum NativeMapper {
    AmazonConnect(Box<ConnectMapper>),
    GenesysCloud(Box<GenesysMapper>),
}

impl NativeMapper {
    pub fn new(format: NativeFormat) -> Self {
        match format {
            NativeFormat::AmazonConnect => NativeMapper::AmazonConnect(Box::default()),
            NativeFormat::GenesysCloud => NativeMapper::GenesysCloud(Box::default()),
        }
    }

    /// Maps one message's text.
    ///
    /// # Errors
    /// The record cannot be used: its reason (a short stable name) and what is wrong.
    pub fn map(
        &mut self,
        record: &str,
        out: &mut Vec<Envelope>,
    ) -> Result<(), (&'static str, String)> {
        match self {
            NativeMapper::AmazonConnect(m) => {
                m.map(record, out).map_err(|e| (e.reason(), e.to_string()))
            }
            NativeMapper::GenesysCloud(m) => {
                m.map(record, out).map_err(|e| (e.reason(), e.to_string()))
            }
        }
    }
}
