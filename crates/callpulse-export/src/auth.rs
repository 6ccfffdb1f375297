//! Who may read what: bearer tokens and OIDC JWTs, roles and scopes, request-rate and
//! per-client connection limits, and the audit log. The threat model is in
//! `docs/security.md`.
//!
//! - `config.rs`: the `[auth]` section.
//! - `principal.rs`: roles, the principal a credential proves, and what each role reads.
//! - `tokens.rs`: static tokens, kept as SHA-256 hashes, re-read when their file changes.
//! - `oidc.rs`: JWTs checked against the issuer's published keys.
//! - `guard.rs`: the HTTP middleware that authenticates, limits, authorizes and audits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use callpulse_events::{ManualClock, SharedClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

mod config;
pub(crate) mod guard;
mod oidc;
mod principal;
mod tokens;

pub use config::{AuthConfig, AuthMode, OidcConfig, TokenEntry};
pub use principal::{Access, AgentScope, Principal, Role, Via};
pub use tokens::hash_token;

use oidc::Oidc;
use tokens::TokenStore;

/// Why authentication could not be set up.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error(
        "[auth] mode = \"required\" but no credential is configured: add [[auth.tokens]] (`callpulse token new` makes one), auth.tokens_file or [auth.oidc], or set auth.mode = \"off\" to serve every figure to anyone who reaches the port"
    )]
    NoCredentials,
    #[error("tokens file {path}: {message}")]
    TokensFile { path: String, message: String },
    #[error("duplicate {0}")]
    Duplicate(String),
    #[error("OIDC: {0}")]
    Oidc(String),
}

/// Why a request was refused. Messages never echo the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credential.
    Missing,
    /// Not a token this server knows, nor a well-formed JWT.
    Malformed,
    /// A static token that is not (or no longer) configured.
    UnknownToken,
    Expired,
    /// A JWT that fails a check (signature, issuer, audience, algorithm).
    Invalid(&'static str),
    /// Valid, but names no role callpulse knows.
    NoRole,
    /// A role that needs a scope (team_lead: teams, agent: agent) without it.
    NoScope(&'static str, &'static str),
    /// Valid, but the role does not reach this endpoint or subscription.
    Forbidden(String),
    RateLimited(Duration),
}

impl Refusal {
    /// The `reason` label of `callpulse_http_requests_refused_total`.
    pub const fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Malformed | Refusal::UnknownToken | Refusal::Invalid(_) => "invalid",
            Refusal::Expired => "expired",
            Refusal::NoRole | Refusal::NoScope(..) | Refusal::Forbidden(_) => "forbidden",
            Refusal::RateLimited(_) => "rate_limited",
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Refusal::Missing => {
                "a credential is required: send Authorization: Bearer <token>".to_owned()
            }
            Refusal::Malformed => {
                "the bearer token is neither a known token nor a well-formed JWT".to_owned()
            }
            Refusal::UnknownToken => "unknown or revoked token".to_owned(),
            Refusal::Expired => "the token has expired".to_owned(),
            Refusal::Invalid(why) => format!("invalid token: {why}"),
            Refusal::NoRole => format!(
                "the token names no callpulse role ({})",
                Role::ALL.map(Role::as_str).join(", ")
            ),
            Refusal::NoScope(role, claim) => format!("role {role} needs its {claim} in the token"),
            Refusal::Forbidden(message) => message.clone(),
            Refusal::RateLimited(wait) => {
                format!("too many requests: retry in {} ms", wait.as_millis())
            }
        }
    }

    /// 401: no valid credential; 403: a valid one that does not reach this; 429.
    pub const fn status(&self) -> u16 {
        match self {
            Refusal::Missing
            | Refusal::Malformed
            | Refusal::UnknownToken
            | Refusal::Expired
            | Refusal::Invalid(_) => 401,
            Refusal::NoRole | Refusal::NoScope(..) | Refusal::Forbidden(_) => 403,
            Refusal::RateLimited(_) => 429,
        }
    }
}

/// How often the OIDC key set is fetched again, besides when a token names an unknown key.
const JWKS_REFRESH: Duration = Duration::from_secs(300);

/// The authenticator every request goes through.
pub struct Auth {
    config: AuthConfig,
    tokens: ArcSwap<TokenStore>,
    tokens_file: Option<PathBuf>,
    oidc: Option<Oidc>,
    limiter: DefaultKeyedRateLimiter<Arc<str>>,
    /// Connections open per client address.
    connections: Mutex<HashMap<IpAddr, usize>>,
    /// The process's one wall clock: JWT lifetimes are checked against it.
    clock: SharedClock,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("mode", &self.config.mode)
            .field("tokens", &self.tokens.load().len())
            .field("oidc", &self.oidc)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// The authenticator for `config`.
    ///
    /// # Errors
    /// Authentication is required but no credential is configured; the tokens file cannot
    /// be read or holds an invalid entry.
    pub fn new(config: &AuthConfig, clock: SharedClock) -> Result<Arc<Auth>, AuthError> {
        let tokens_file =
            (!config.tokens_file.is_empty()).then(|| PathBuf::from(&config.tokens_file));
        let tokens = TokenStore::load(&config.tokens, tokens_file.as_deref())?;
        if config.mode == AuthMode::Required && !config.has_credentials() {
            return Err(AuthError::NoCredentials);
        }
        let oidc = config
            .oidc
            .enabled()
            .then(|| Oidc::new(config.oidc.clone()))
            .transpose()?;
        let rate = NonZeroU32::new(config.rate_per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_burst).unwrap_or(NonZeroU32::MIN);
        Ok(Arc::new(Auth {
            config: config.clone(),
            tokens: ArcSwap::from_pointee(tokens),
            tokens_file,
            oidc,
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            connections: Mutex::new(HashMap::new()),
            clock,
        }))
    }

    /// No authentication: every request reads everything (tests, and `demo`). Nothing
    /// open expires, so its clock is never read: it stands still.
    pub fn off() -> Arc<Auth> {
        let config = AuthConfig {
            mode: AuthMode::Off,
            ..AuthConfig::default()
        };
        Auth::new(&config, Arc::new(ManualClock::default()))
            .unwrap_or_else(|_| unreachable!("an open configuration cannot fail"))
    }

    pub fn mode(&self) -> AuthMode {
        self.config.mode
    }

    pub(crate) fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Fetches the OIDC keys once, then keeps the tokens file and the keys current until
    /// `shutdown`. An identity provider that cannot be reached at start is logged, not
    /// fatal: static tokens still work, and the keys are fetched again when a token needs
    /// them.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if let Some(oidc) = &self.oidc {
            match oidc.refresh().await {
                Ok(keys) => info!(keys, issuer = self.config.oidc.issuer, "OIDC ready"),
                Err(error) => {
                    warn!(%error, "OIDC keys could not be fetched at start; retrying when a token needs them");
                }
            }
        }
        let period = Duration::from_secs(self.config.reload_secs);
        let mut stamp = self.tokens_file.as_deref().and_then(file_stamp);
        let mut last_jwks = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(period) => {}
            }
            if let Some(path) = self.tokens_file.as_deref() {
                let now = file_stamp(path);
                if now != stamp {
                    stamp = now;
                    self.reload_tokens(path);
                }
            }
            if let Some(oidc) = &self.oidc
                && last_jwks.elapsed() >= JWKS_REFRESH
            {
                last_jwks = tokio::time::Instant::now();
                if let Err(error) = oidc.refresh().await {
                    warn!(%error, "could not refresh the OIDC keys; the previous ones stay in use");
                }
            }
            self.limiter.retain_recent();
        }
    }

    /// Re-reads the tokens file; a file that does not load leaves the tokens as they were.
    fn reload_tokens(&self, path: &Path) {
        match TokenStore::load(&self.config.tokens, Some(path)) {
            Ok(store) => {
                info!(path = %path.display(), tokens = store.len(), "tokens file reloaded");
                self.tokens.store(Arc::new(store));
            }
            Err(error) => warn!(%error, "tokens file not reloaded; the tokens in force stay"),
        }
    }

    /// Who `credential` (a bearer token or JWT) proves.
    ///
    /// # Errors
    /// Why it proves nobody.
    pub async fn authenticate(&self, credential: Option<&str>) -> Result<Principal, Refusal> {
        if self.config.mode == AuthMode::Off {
            return Ok(Principal::open());
        }
        let credential = credential
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or(Refusal::Missing)?;
        if let Some((hash, entry)) = self.tokens.load().find(credential) {
            return Ok(Principal {
                subject: Arc::from(entry.name.as_str()),
                role: entry.role,
                teams: entry.teams.iter().cloned().collect(),
                agent: (!entry.agent.is_empty()).then(|| entry.agent.clone()),
                via: Via::Token,
                expires: None,
                token_sha256: Some(hash),
            });
        }
        match &self.oidc {
            Some(oidc) if credential.split('.').count() == 3 => {
                oidc.verify(credential, self.now_secs()).await
            }
            Some(_) => Err(Refusal::Malformed),
            None => Err(Refusal::UnknownToken),
        }
    }

    /// Whether a principal's credential still holds: a WebSocket session ends when its JWT
    /// expires or its token is revoked.
    pub fn still_valid(&self, principal: &Principal) -> bool {
        let now = self.now_secs();
        let unexpired = principal
            .expires
            .is_none_or(|exp| now <= exp.saturating_add(self.config.oidc.leeway_secs));
        let unrevoked = principal
            .token_sha256
            .as_deref()
            .is_none_or(|hash| self.tokens.load().holds(hash));
        unexpired && unrevoked
    }

    /// Seconds since the Unix epoch, as JWT claims count them.
    fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now().millis() / 1000).unwrap_or(0)
    }

    /// Takes one request from the principal's rate allowance.
    ///
    /// # Errors
    /// [`Refusal::RateLimited`] with how long to wait.
    pub fn check_rate(&self, principal: &Principal) -> Result<(), Refusal> {
        if principal.via == Via::Open {
            return Ok(());
        }
        self.limiter
            .check_key(&principal.rate_key())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Refusal::RateLimited(wait)
            })
    }

    /// A slot for one more connection from `peer`, or `None` past
    /// `auth.max_connections_per_client`.
    pub(crate) fn connect(self: &Arc<Self>, peer: IpAddr) -> Option<ClientSlot> {
        let mut open = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(peer).or_insert(0);
        if *count >= self.config.max_connections_per_client {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            auth: Arc::clone(self),
            peer,
        })
    }
}

/// One open connection of a client address; released on drop.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    auth: Arc<Auth>,
    peer: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self
            .auth
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

/// A file's modification time and length: what "changed" means for reloads.
pub(crate) fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tokens: Vec<TokenEntry>) -> AuthConfig {
        AuthConfig {
            tokens,
            rate_per_sec: 1,
            rate_burst: 2,
            max_connections_per_client: 2,
            ..AuthConfig::default()
        }
    }

    fn clock() -> SharedClock {
        Arc::new(ManualClock::new(callpulse_events::Ts(1_800_000_000_000)))
    }

    fn token(name: &str, secret: &str, role: Role) -> TokenEntry {
        TokenEntry {
            name: name.to_owned(),
            sha256: hash_token(secret),
            role,
            teams: Vec::new(),
            agent: String::new(),
        }
    }

    #[test]
    fn required_without_credentials_refuses_to_start() {
        let error = Auth::new(&AuthConfig::default(), clock()).expect_err("no credentials");
        assert!(error.to_string().contains("auth.mode = \"off\""), "{error}");
        assert_eq!(Auth::off().mode(), AuthMode::Off);
    }

    #[tokio::test]
    async fn tokens_authenticate_and_are_rate_limited_per_token() {
        let auth = Auth::new(
            &config(vec![
                token("tv", "t1", Role::Wallboard),
                token("boss", "t2", Role::Manager),
            ]),
            clock(),
        )
        .expect("auth");
        assert_eq!(auth.authenticate(None).await, Err(Refusal::Missing));
        assert_eq!(auth.authenticate(Some("  ")).await, Err(Refusal::Missing));
        assert_eq!(
            auth.authenticate(Some("nope")).await,
            Err(Refusal::UnknownToken)
        );
        let tv = auth.authenticate(Some("t1")).await.expect("tv");
        assert_eq!(
            (tv.role, &*tv.subject, tv.via),
            (Role::Wallboard, "tv", Via::Token)
        );
        assert!(auth.still_valid(&tv));
        // A burst of 2, then refused; another token has its own allowance.
        assert!(auth.check_rate(&tv).is_ok() && auth.check_rate(&tv).is_ok());
        let refused = auth.check_rate(&tv).expect_err("third in a second");
        assert_eq!(refused.status(), 429);
        let boss = auth.authenticate(Some("t2")).await.expect("boss");
        assert!(auth.check_rate(&boss).is_ok());
    }

    #[test]
    fn connections_are_capped_per_client_address() {
        let auth = Auth::off();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let cap = auth.config.max_connections_per_client;
        let held: Vec<_> = (0..cap)
            .map(|_| auth.connect(a).expect("under the cap"))
            .collect();
        assert!(auth.connect(a).is_none());
        assert!(auth.connect(b).is_some());
        drop(held);
        assert!(auth.connect(a).is_some());
    }

    #[tokio::test]
    async fn a_revoked_token_ends_its_sessions_and_a_bad_file_keeps_the_old_tokens() {
        let dir = std::env::temp_dir().join(format!("callpulse-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("tokens.toml");
        let line = |name: &str, secret: &str| {
            format!(
                "[[tokens]]\nname = \"{name}\"\nsha256 = \"{}\"\nrole = \"manager\"\n",
                hash_token(secret)
            )
        };
        std::fs::write(&path, line("a", "ta") + &line("b", "tb")).expect("write");
        let auth = Auth::new(
            &AuthConfig {
                tokens_file: path.display().to_string(),
                ..AuthConfig::default()
            },
            clock(),
        )
        .expect("auth");
        let a = auth.authenticate(Some("ta")).await.expect("a");
        std::fs::write(&path, line("b", "tb")).expect("write");
        auth.reload_tokens(&path);
        assert!(!auth.still_valid(&a), "revoked");
        assert_eq!(
            auth.authenticate(Some("ta")).await,
            Err(Refusal::UnknownToken)
        );
        std::fs::write(&path, "not toml [").expect("write");
        auth.reload_tokens(&path);
        assert!(auth.authenticate(Some("tb")).await.is_ok(), "kept");
        std::fs::remove_dir_all(&dir).ok();
    }
}
