//! What a v2 client asked for: sections, queues and teams; and the messages it may send.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use crate::auth::{AgentScope, Principal};

/// A part of the snapshot a client can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Center,
    Engine,
    Queues,
    Teams,
    /// Per-agent detail, keyed by team: only on request.
    Agents,
    /// Alert events of the subscribed queues.
    Alerts,
}

const SECTIONS: [Section; 6] = [
    Section::Center,
    Section::Engine,
    Section::Queues,
    Section::Teams,
    Section::Agents,
    Section::Alerts,
];

impl Section {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Section::Center => "center",
            Section::Engine => "engine",
            Section::Queues => "queues",
            Section::Teams => "teams",
            Section::Agents => "agents",
            Section::Alerts => "alerts",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    fn parse(name: &str) -> Result<Section, String> {
        SECTIONS
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "unknown section {name:?}; sections are {}",
                    SECTIONS.map(Section::as_str).join(", ")
                )
            })
    }
}

/// Most names a subscription may list per kind.
pub(crate) const MAX_NAMES: usize = 1_000;

/// A client's subscription. `None` name lists mean every queue (team).
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    sections: u8,
    queues: Option<BTreeSet<String>>,
    teams: Option<BTreeSet<String>>,
    /// The agents the client's role may see ([`Subscription::within`]).
    agents: AgentScope,
    /// A canonical text of the above: clients with equal keys get the same frames.
    key: Arc<str>,
}

impl Default for Subscription {
    /// Everything but per-agent detail.
    fn default() -> Self {
        Subscription::new(
            SECTIONS
                .into_iter()
                .filter(|s| *s != Section::Agents)
                .collect(),
            None,
            None,
        )
    }
}

impl Subscription {
    fn new(
        sections: Vec<Section>,
        queues: Option<BTreeSet<String>>,
        teams: Option<BTreeSet<String>>,
    ) -> Subscription {
        let bits = sections.iter().fold(0, |acc, s| acc | s.bit());
        let list = |names: &Option<BTreeSet<String>>| {
            names.as_ref().map_or_else(
                || "*".to_owned(),
                |n| serde_json::to_string(n).unwrap_or_default(),
            )
        };
        let key = format!("{bits}|{}|{}", list(&queues), list(&teams));
        Subscription {
            sections: bits,
            queues,
            teams,
            agents: AgentScope::All,
            key: Arc::from(key),
        }
    }

    /// This subscription held to what `principal` may see. Asking for agents outside its
    /// scope is refused with a message naming the scope; a team lead who asks for agents
    /// without naming teams gets their own teams' agents.
    ///
    /// # Errors
    /// What in the subscription the role may not see.
    pub(crate) fn within(mut self, principal: &Principal) -> Result<Subscription, String> {
        let scope = principal.agent_scope();
        if !self.wants(Section::Agents) || scope == AgentScope::All {
            return Ok(self);
        }
        match &scope {
            AgentScope::None => {
                return Err(format!(
                    "role {} does not see agents: subscribe without the agents section",
                    principal.role
                ));
            }
            AgentScope::Teams(own) => {
                if let Some(asked) = &self.teams
                    && let Some(other) = asked.iter().find(|t| !own.contains(*t))
                {
                    return Err(format!(
                        "role {} sees the agents of {} only, not of {other:?}",
                        principal.role,
                        own.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            AgentScope::One(_) | AgentScope::All => {}
        }
        let suffix = match &scope {
            AgentScope::Teams(own) => {
                format!("|teams:{}", serde_json::to_string(own).unwrap_or_default())
            }
            AgentScope::One(agent) => format!(
                "|agent:{}",
                serde_json::to_string(agent).unwrap_or_default()
            ),
            AgentScope::None | AgentScope::All => String::new(),
        };
        self.key = Arc::from(format!("{}{suffix}", self.key));
        self.agents = scope;
        Ok(self)
    }

    /// The agents this subscription may show.
    pub(crate) fn agent_scope(&self) -> &AgentScope {
        &self.agents
    }

    /// A subscription from lists of names; `None` keeps the default. Unknown sections and
    /// over-long lists are refused with a message for the client.
    pub(crate) fn parse(
        sections: Option<Vec<String>>,
        queues: Option<Vec<String>>,
        teams: Option<Vec<String>>,
    ) -> Result<Subscription, String> {
        let sections = match sections {
            None => return Subscription::default().with_names(queues, teams),
            Some(names) => names
                .iter()
                .map(|n| Section::parse(n))
                .collect::<Result<Vec<_>, _>>()?,
        };
        Subscription::new(sections, None, None).with_names(queues, teams)
    }

    fn with_names(
        self,
        queues: Option<Vec<String>>,
        teams: Option<Vec<String>>,
    ) -> Result<Subscription, String> {
        let set = |kind: &str, names: Option<Vec<String>>| match names {
            Some(names) if names.len() > MAX_NAMES => Err(format!(
                "{} {kind} listed; at most {MAX_NAMES}",
                names.len()
            )),
            other => Ok(other.map(|n| n.into_iter().collect::<BTreeSet<_>>())),
        };
        let sections = SECTIONS.into_iter().filter(|s| self.wants(*s)).collect();
        Ok(Subscription::new(
            sections,
            set("queues", queues)?,
            set("teams", teams)?,
        ))
    }

    /// From the `/ws` query: comma-separated `sections`, `queues` and `teams`.
    pub(crate) fn from_query(
        sections: Option<&str>,
        queues: Option<&str>,
        teams: Option<&str>,
    ) -> Result<Subscription, String> {
        let split = |s: Option<&str>| {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        };
        Subscription::parse(split(sections), split(queues), split(teams))
    }

    pub(crate) fn wants(&self, section: Section) -> bool {
        self.sections & section.bit() != 0
    }

    pub(crate) fn covers_queue(&self, queue: &str) -> bool {
        self.queues.as_ref().is_none_or(|q| q.contains(queue))
    }

    /// Whether `name` in `section` is in the subscription (teams filter teams and agents).
    pub(crate) fn covers(&self, section: Section, name: &str) -> bool {
        match section {
            Section::Queues | Section::Alerts => self.covers_queue(name),
            Section::Teams => self.teams.as_ref().is_none_or(|t| t.contains(name)),
            Section::Agents => {
                self.teams.as_ref().is_none_or(|t| t.contains(name))
                    && match &self.agents {
                        AgentScope::None => false,
                        AgentScope::Teams(own) => own.contains(name),
                        AgentScope::One(_) | AgentScope::All => true,
                    }
            }
            Section::Center | Section::Engine => true,
        }
    }

    pub(crate) fn key(&self) -> &Arc<str> {
        &self.key
    }
}

/// What a v2 client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    /// Replaces the subscription; a whole snapshot of it follows.
    Subscribe {
        sections: Option<Vec<String>>,
        queues: Option<Vec<String>>,
        teams: Option<Vec<String>>,
    },
    /// Asks for a whole snapshot (a client that lost track).
    Resync,
    /// Answered by a `pong` carrying the same `id`.
    Ping { id: Option<serde_json::Value> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_leave_agents_out_and_keys_are_canonical() {
        let all = Subscription::default();
        assert!(all.wants(Section::Queues) && all.wants(Section::Alerts));
        assert!(!all.wants(Section::Agents));
        assert!(all.covers(Section::Teams, "anything"));
        let a = Subscription::from_query(Some("queues,agents"), Some("b,a"), None).expect("ok");
        let b = Subscription::parse(
            Some(vec!["agents".into(), "queues".into()]),
            Some(vec!["a".into(), "b".into(), "a".into()]),
            None,
        )
        .expect("ok");
        assert_eq!(a.key(), b.key());
        assert!(a.covers_queue("a") && !a.covers_queue("c"));
        assert!(!a.wants(Section::Center));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let error = Subscription::from_query(Some("queus"), None, None).expect_err("typo");
        assert!(
            error.contains("queus") && error.contains("queues"),
            "{error}"
        );
        let many: Vec<String> = (0..=MAX_NAMES).map(|i| i.to_string()).collect();
        let error = Subscription::parse(None, Some(many), None).expect_err("too many");
        assert!(error.contains("at most"), "{error}");
        let message: Result<ClientMessage, _> =
            serde_json::from_str(r#"{"type":"subscribe","queue":["a"]}"#);
        assert!(message.is_err(), "unknown fields are refused");
    }
}
