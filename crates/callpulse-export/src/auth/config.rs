//! The `[auth]` configuration section: who may read what (docs/security.md).

use serde::{Deserialize, Serialize};

use super::Role;
use crate::ExportConfigError;

/// Whether credentials are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Every request but `/`, `/healthz` and `/readyz` needs a credential.
    Required,
    /// Anyone who reaches the port reads everything. Only when the configuration says so.
    Off,
}

/// `[auth]`: bearer tokens, OIDC, limits and CORS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// Static tokens, by the SHA-256 of the token (never the token itself).
    pub tokens: Vec<TokenEntry>,
    /// A TOML file of further `[[tokens]]`, re-read when it changes (empty: none).
    pub tokens_file: String,
    /// How often the tokens file (and the OIDC key set) is checked for changes (s).
    pub reload_secs: u64,
    pub oidc: OidcConfig,
    /// Requests per second each credential may make on average, and the burst above it.
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// Most connections one client address may hold open at once.
    pub max_connections_per_client: usize,
    /// Browser origins allowed to call the API and `/ws` from another site (CORS), e.g.
    /// `https://wallboard.example.com`. Empty: same origin only.
    pub cors_origins: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Required,
            tokens: Vec::new(),
            tokens_file: String::new(),
            reload_secs: 10,
            oidc: OidcConfig::default(),
            rate_per_sec: 20,
            rate_burst: 100,
            max_connections_per_client: 64,
            cors_origins: Vec::new(),
        }
    }
}

/// One static token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (audit logs name it; unique).
    pub name: String,
    /// Hex SHA-256 of the token (`callpulse token new` prints both).
    pub sha256: String,
    pub role: Role,
    /// For `team_lead`: the teams whose agents it sees.
    #[serde(default)]
    pub teams: Vec<String>,
    /// For `agent`: the agent it is.
    #[serde(default)]
    pub agent: String,
}

/// `[auth.oidc]`: JWTs signed by an identity provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The issuer (`iss`), e.g. `https://login.example.com/realms/center`. Empty: OIDC off.
    pub issuer: String,
    /// The audience (`aud`) tokens must name: the client id callpulse is registered as.
    pub audience: String,
    /// Where the signing keys are. Empty: from the issuer's discovery document.
    pub jwks_url: String,
    /// Claims (dotted paths into the token) holding the role, the teams of a team lead
    /// and the agent id of an agent. A role claim may be a string or a list: the
    /// highest-ranked role named in it counts.
    pub role_claim: String,
    pub teams_claim: String,
    pub agent_claim: String,
    /// Clock skew tolerated on `exp` and `nbf` (s).
    pub leeway_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            audience: String::new(),
            jwks_url: String::new(),
            role_claim: "callpulse_role".to_owned(),
            teams_claim: "callpulse_teams".to_owned(),
            agent_claim: "callpulse_agent".to_owned(),
            leeway_secs: 60,
        }
    }
}

impl OidcConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

fn fail(key: &'static str, value: &dyn ToString, expected: &'static str) -> ExportConfigError {
    ExportConfigError {
        key,
        value: value.to_string(),
        expected,
    }
}

impl AuthConfig {
    /// Whether any credential (a static token, a tokens file, an identity provider) is
    /// configured.
    pub fn has_credentials(&self) -> bool {
        !self.tokens.is_empty() || !self.tokens_file.is_empty() || self.oidc.enabled()
    }

    /// Checks each value on its own (whether any credential exists is checked at start, by
    /// [`super::Auth::new`]: `demo` runs the same defaults open).
    ///
    /// # Errors
    /// The first value out of range, with the key and what is expected.
    pub fn validate(&self) -> Result<(), ExportConfigError> {
        if self.reload_secs == 0 {
            return Err(fail("auth.reload_secs", &0, "must be at least 1"));
        }
        if self.rate_per_sec == 0 {
            return Err(fail("auth.rate_per_sec", &0, "must be at least 1"));
        }
        if self.rate_burst == 0 {
            return Err(fail("auth.rate_burst", &0, "must be at least 1"));
        }
        if self.max_connections_per_client == 0 {
            return Err(fail(
                "auth.max_connections_per_client",
                &0,
                "must be at least 1",
            ));
        }
        for origin in &self.cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.trim_end_matches('/').matches('/').count() != 2
            {
                return Err(fail(
                    "auth.cors_origins",
                    origin,
                    "an origin is scheme://host[:port], without a path",
                ));
            }
        }
        for entry in &self.tokens {
            entry
                .validate()
                .map_err(|expected| fail("auth.tokens", &entry.name, expected))?;
        }
        let oidc = &self.oidc;
        if oidc.enabled() {
            if !(oidc.issuer.starts_with("https://") || oidc.issuer.starts_with("http://")) {
                return Err(fail(
                    "auth.oidc.issuer",
                    &oidc.issuer,
                    "must be an http(s) URL",
                ));
            }
            if oidc.audience.is_empty() {
                return Err(fail(
                    "auth.oidc.audience",
                    &"\"\"",
                    "must name the client id tokens are issued for (a token for another application must not open this one)",
                ));
            }
            if oidc.role_claim.is_empty() {
                return Err(fail("auth.oidc.role_claim", &"\"\"", "must name a claim"));
            }
        }
        Ok(())
    }
}

impl TokenEntry {
    /// What is wrong with this entry, if anything.
    ///
    /// # Errors
    /// A description of the fault.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.name.is_empty() {
            return Err("every token needs a name");
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sha256 must be 64 hex digits: the SHA-256 of the token, not the token");
        }
        match self.role {
            Role::TeamLead if self.teams.is_empty() => Err("a team_lead token must name its teams"),
            Role::Agent if self.agent.is_empty() => Err("an agent token must name its agent"),
            _ => Ok(()),
        }
    }
}
