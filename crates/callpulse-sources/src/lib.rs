//! What contact-center systems already write, mapped to callpulse's event contract
//! (docs/events.md), so that an operator points callpulse at their PBX's own records.
//!
//! Each source is a module with a stateful mapper: native records in, contract
//! [`Envelope`](callpulse_events::Envelope)s out, plus counts of what it skipped and why.
//! The mappers do no I/O and read no clock: the binary feeds them lines from files (replay)
//! and hands their output to the same core as Kafka events. docs/sources.md has, per source,
//! how each native field maps, what is inferred and what is unknown.

pub mod amazon_connect;
pub mod asterisk;
mod config;
pub mod freeswitch;
pub mod genesys_cloud;
mod native;
pub mod seelab;

pub use amazon_connect::{ConnectError, ConnectMapper, ConnectStats};
pub use config::{AsteriskConfig, FreeswitchConfig, SourcesConfig};
pub use freeswitch::{CallcenterMapper, FreeswitchError, FreeswitchOptions, FreeswitchStats};
pub use genesys_cloud::{GenesysError, GenesysMapper, GenesysStats};
pub use native::{NativeFormat, NativeMapper};
pub use seelab::{SeeLabError, SeeLabMapper, SeeLabStats};

pub use asterisk::ami::{AmiError, AmiFramer, AmiMapper, AmiOptions, AmiStats};
pub use asterisk::queue_log::{
    QueueLogError, QueueLogMapper, QueueLogOptions, QueueLogState, QueueLogStats,
};

/// A contract event with its id and time: what every mapper produces.
pub(crate) fn envelope(
    event_id: String,
    ts: callpulse_events::Ts,
    event: callpulse_events::Event,
) -> callpulse_events::Envelope {
    callpulse_events::Envelope {
        event_id,
        ts,
        event,
    }
}
