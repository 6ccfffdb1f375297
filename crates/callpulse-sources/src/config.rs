//! `[sources]`: how native records are read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every source's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    /// Asterisk's `queue_log`.
    pub asterisk: AsteriskConfig,
    /// FreeSWITCH `mod_callcenter`.
    pub freeswitch: FreeswitchConfig,
}

/// `[sources.asterisk]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsteriskConfig {
    /// Each agent's team, by the agent field the log writes (`SIP/1001`, `Local/1001@agents`,
    /// a member name): `queue_log` names no team. An agent not listed is in the team named
    /// like the first queue it is seen in.
    pub agent_teams: BTreeMap<String, String>,
    /// The manager.conf user `callpulse source asterisk-ami` logs in as (it needs
    /// `read = agent`).
    pub ami_username: String,
    /// That user's secret. `CALLPULSE__SOURCES__ASTERISK__AMI_SECRET` keeps it out of the
    /// file.
    pub ami_secret: String,
}

impl Default for AsteriskConfig {
    fn default() -> Self {
        AsteriskConfig {
            agent_teams: BTreeMap::new(),
            ami_username: "callpulse".to_owned(),
            ami_secret: String::new(),
        }
    }
}

/// `[sources.freeswitch]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FreeswitchConfig {
    /// Each agent's team, by mod_callcenter's agent name (`1001@default`): the module names
    /// none. An agent not listed is in the team named like the first queue it answers.
    pub agent_teams: BTreeMap<String, String>,
    /// The event socket's password (`event_socket.conf.xml`, `password`; FreeSWITCH ships
    /// `ClueCon`). `CALLPULSE__SOURCES__FREESWITCH__PASSWORD` keeps it out of the file.
    pub password: String,
}

impl Default for FreeswitchConfig {
    fn default() -> Self {
        FreeswitchConfig {
            agent_teams: BTreeMap::new(),
            password: "ClueCon".to_owned(),
        }
    }
}
