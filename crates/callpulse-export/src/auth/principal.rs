//! Roles, who a request is, and what each role may read.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A role, in ascending order of what it reads (`metrics` stands apart: scrapes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Prometheus: `/metrics` only.
    Metrics,
    /// A wallboard screen: queues, teams, the center; no agent.
    Wallboard,
    /// An agent: the aggregates and their own figures.
    Agent,
    /// A team lead: the aggregates and their teams' agents.
    TeamLead,
    /// Every figure.
    Manager,
    /// Every figure, `/metrics` and the effective configuration.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Metrics,
        Role::Wallboard,
        Role::Agent,
        Role::TeamLead,
        Role::Manager,
        Role::Admin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Metrics => "metrics",
            Role::Wallboard => "wallboard",
            Role::Agent => "agent",
            Role::TeamLead => "team_lead",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `auth.mode = "off"`: nobody proved anything.
    Open,
    /// A static token.
    Token,
    /// A JWT from the OIDC issuer.
    Jwt,
}

/// Who made a request, as far as the server knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's name, or the JWT's `sub`.
    pub subject: Arc<str>,
    pub role: Role,
    /// A team lead's teams.
    pub teams: BTreeSet<String>,
    /// An agent's id.
    pub agent: Option<String>,
    pub via: Via,
    /// When the credential stops being valid (Unix seconds), if it does.
    pub expires: Option<u64>,
    /// A static token's hash: a session ends when the token is revoked.
    #[serde(skip)]
    pub(crate) token_sha256: Option<Arc<str>>,
}

impl Principal {
    /// Everyone, when authentication is off.
    pub fn open() -> Principal {
        Principal {
            subject: Arc::from("anonymous"),
            role: Role::Admin,
            teams: BTreeSet::new(),
            agent: None,
            via: Via::Open,
            expires: None,
            token_sha256: None,
        }
    }

    /// The key its request rate is limited by.
    pub(crate) fn rate_key(&self) -> Arc<str> {
        match self.via {
            Via::Open => Arc::from("open"),
            Via::Token => Arc::from(format!("token:{}", self.subject)),
            Via::Jwt => Arc::from(format!("jwt:{}", self.subject)),
        }
    }

    /// Which agents' figures it may read.
    pub fn agent_scope(&self) -> AgentScope {
        match self.role {
            Role::Metrics | Role::Wallboard => AgentScope::None,
            Role::Agent => AgentScope::One(self.agent.clone().unwrap_or_default()),
            Role::TeamLead => AgentScope::Teams(self.teams.clone()),
            Role::Manager | Role::Admin => AgentScope::All,
        }
    }

    /// Whether it may use an endpoint of kind `access`.
    pub fn may(&self, access: Access) -> bool {
        match access {
            Access::Open | Access::Whoami => true,
            Access::Metrics => matches!(self.role, Role::Metrics | Role::Admin),
            Access::Read => self.role != Role::Metrics,
            Access::Admin => self.role == Role::Admin,
        }
    }
}

/// Which agents a principal may read the figures of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentScope {
    None,
    /// One agent (itself).
    One(String),
    /// The agents of these teams.
    Teams(BTreeSet<String>),
    All,
}

impl AgentScope {
    /// Whether an agent of `team` named `agent` is in scope.
    pub fn covers(&self, team: &str, agent: &str) -> bool {
        match self {
            AgentScope::None => false,
            AgentScope::One(own) => own == agent,
            AgentScope::Teams(teams) => teams.contains(team),
            AgentScope::All => true,
        }
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: the page itself and health probes.
    Open,
    /// Any valid credential: `/api/v1/whoami`.
    Whoami,
    /// `/metrics`: the `metrics` or `admin` role.
    Metrics,
    /// The figures: any role but `metrics`, each within its scope.
    Read,
    /// The effective configuration: `admin`.
    Admin,
}

impl Access {
    /// What a refusal says is needed.
    pub(crate) const fn needs(self) -> &'static str {
        match self {
            Access::Open | Access::Whoami => "any credential",
            Access::Metrics => "role metrics or admin",
            Access::Read => "role wallboard, agent, team_lead, manager or admin",
            Access::Admin => "role admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_role(role: Role) -> Principal {
        Principal {
            role,
            ..Principal::open()
        }
    }

    #[test]
    fn each_role_reaches_exactly_its_endpoints() {
        let table = [
            (Role::Metrics, [true, true, true, false, false]),
            (Role::Wallboard, [true, true, false, true, false]),
            (Role::Agent, [true, true, false, true, false]),
            (Role::TeamLead, [true, true, false, true, false]),
            (Role::Manager, [true, true, false, true, false]),
            (Role::Admin, [true, true, true, true, true]),
        ];
        let kinds = [
            Access::Open,
            Access::Whoami,
            Access::Metrics,
            Access::Read,
            Access::Admin,
        ];
        for (role, expected) in table {
            let got = kinds.map(|k| with_role(role).may(k));
            assert_eq!(got, expected, "{role}");
        }
        assert_eq!(Role::parse("team_lead"), Some(Role::TeamLead));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn scopes_cover_their_agents_only() {
        let lead = Principal {
            role: Role::TeamLead,
            teams: ["north".to_owned()].into(),
            ..Principal::open()
        };
        assert!(lead.agent_scope().covers("north", "a1"));
        assert!(!lead.agent_scope().covers("south", "a2"));
        let agent = Principal {
            role: Role::Agent,
            agent: Some("a1".to_owned()),
            ..Principal::open()
        };
        assert!(agent.agent_scope().covers("north", "a1"));
        assert!(!agent.agent_scope().covers("north", "a2"));
        assert!(
            !with_role(Role::Wallboard)
                .agent_scope()
                .covers("north", "a1")
        );
        assert!(with_role(Role::Manager).agent_scope().covers("x", "y"));
    }
}
