//! JWTs from an OIDC identity provider: the signing keys (JWKS) fetched from the issuer and
//! kept current, each token checked for signature, issuer, audience and lifetime, and its
//! claims mapped to a role and a scope.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

use super::{AuthError, OidcConfig, Principal, Refusal, Role, Via};

/// A token naming a key we do not have makes us fetch the key set again, at most this often:
/// a stream of made-up key ids must not turn callpulse into a load on the identity provider.
const MIN_REFETCH: Duration = Duration::from_secs(30);

/// How long a request to the identity provider may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// One verification key.
struct Key {
    key: DecodingKey,
    family: AlgorithmFamily,
    /// The algorithm the key is for, when the key set says.
    alg: Option<Algorithm>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
    /// Keys without a `kid` (a provider with a single key may omit it).
    unnamed: Vec<Arc<Key>>,
}

/// The OIDC verifier.
pub(crate) struct Oidc {
    config: OidcConfig,
    client: reqwest::Client,
    keys: ArcSwap<Keys>,
    /// Held while fetching, with when the last fetch ended: one fetch at a time.
    fetched: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer)
            .field("keys", &self.keys.load().by_kid.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl Oidc {
    pub(crate) fn new(config: OidcConfig) -> Result<Oidc, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| AuthError::Oidc(format!("could not build the HTTP client: {e}")))?;
        Ok(Oidc {
            config,
            client,
            keys: ArcSwap::from_pointee(Keys::default()),
            fetched: Mutex::new(None),
        })
    }

    /// Fetches the key set now (at start, and every reload period).
    ///
    /// # Errors
    /// The discovery document or key set could not be fetched or read.
    pub(crate) async fn refresh(&self) -> Result<usize, AuthError> {
        let mut fetched = self.fetched.lock().await;
        let result = self.fetch().await;
        *fetched = Some(Instant::now());
        let keys = result?;
        let count = keys.by_kid.len() + keys.unnamed.len();
        self.keys.store(Arc::new(keys));
        Ok(count)
    }

    async fn fetch(&self) -> Result<Keys, AuthError> {
        let url = if self.config.jwks_url.is_empty() {
            let discovery = format!(
                "{}/.well-known/openid-configuration",
                self.config.issuer.trim_end_matches('/')
            );
            self.get::<Discovery>(&discovery).await?.jwks_uri
        } else {
            self.config.jwks_url.clone()
        };
        let set: JwkSet = self.get(&url).await?;
        let mut keys = Keys::default();
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let family = match jwk.algorithm {
                AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
                AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
                AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
                // A shared secret published in a key set would let anyone sign: never.
                AlgorithmParameters::OctetKey(_) => continue,
            };
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            let key = match DecodingKey::from_jwk(jwk) {
                Ok(key) => Arc::new(Key { key, family, alg }),
                Err(error) => {
                    warn!(kid = ?jwk.common.key_id, %error, "skipping a key the identity provider published");
                    continue;
                }
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.by_kid.insert(kid.clone(), key);
                }
                None => keys.unnamed.push(key),
            }
        }
        info!(
            url,
            keys = keys.by_kid.len() + keys.unnamed.len(),
            "fetched the identity provider's signing keys"
        );
        Ok(keys)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, AuthError> {
        let fail = |e: reqwest::Error| AuthError::Oidc(format!("GET {url}: {e}"));
        self.client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fail)?
            .json::<T>()
            .await
            .map_err(fail)
    }

    /// The key for `kid`, fetching the key set again if it is unknown (rate limited).
    async fn key(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        let find = |keys: &Keys| match kid {
            Some(kid) => keys.by_kid.get(kid).cloned(),
            None if keys.by_kid.len() + keys.unnamed.len() == 1 => keys
                .unnamed
                .first()
                .or_else(|| keys.by_kid.values().next())
                .cloned(),
            None => None,
        };
        if let Some(key) = find(&self.keys.load()) {
            return Some(key);
        }
        // Key rotation: the provider may have published a new key since the last fetch.
        let mut fetched = self.fetched.lock().await;
        if let Some(key) = find(&self.keys.load()) {
            return Some(key);
        }
        if fetched.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
            return None;
        }
        match self.fetch().await {
            Ok(keys) => self.keys.store(Arc::new(keys)),
            Err(error) => warn!(%error, "could not refresh the identity provider's keys"),
        }
        *fetched = Some(Instant::now());
        find(&self.keys.load())
    }

    /// Checks `token` at `now` (seconds since the epoch, from the process's clock) and maps
    /// its claims.
    pub(crate) async fn verify(&self, token: &str, now: u64) -> Result<Principal, Refusal> {
        let header = decode_header(token).map_err(|_| Refusal::Malformed)?;
        if header.alg.family() == AlgorithmFamily::Hmac {
            return Err(Refusal::Invalid("symmetric (HS*) tokens are not accepted"));
        }
        let key = self
            .key(header.kid.as_deref())
            .await
            .ok_or(Refusal::Invalid(
                "signed by a key the issuer does not publish",
            ))?;
        if key.family != header.alg.family() || key.alg.is_some_and(|a| a != header.alg) {
            return Err(Refusal::Invalid(
                "the token's algorithm does not match its key",
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Lifetimes are checked below against the injected clock, not the library's own
        // reading of the system time: one clock for the process (docs/time.md).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = decode::<Value>(token, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => Refusal::Invalid("bad signature"),
                ErrorKind::InvalidIssuer => Refusal::Invalid("wrong issuer"),
                ErrorKind::InvalidAudience => Refusal::Invalid("wrong audience"),
                ErrorKind::MissingRequiredClaim(_) => {
                    Refusal::Invalid("a required claim (exp, iss, aud, sub) is missing")
                }
                _ => Refusal::Malformed,
            }
        })?;
        let leeway = self.config.leeway_secs;
        let exp = data
            .claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(Refusal::Invalid("exp is not a number of seconds"))?;
        if now > exp.saturating_add(leeway) {
            return Err(Refusal::Expired);
        }
        if let Some(nbf) = data.claims.get("nbf").and_then(Value::as_u64)
            && now.saturating_add(leeway) < nbf
        {
            return Err(Refusal::Invalid("not valid yet (nbf)"));
        }
        self.principal(&data.claims)
    }

    fn principal(&self, claims: &Value) -> Result<Principal, Refusal> {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let role = strings(claim(claims, &self.config.role_claim))
            .iter()
            .filter_map(|name| Role::parse(name))
            .max()
            .ok_or(Refusal::NoRole)?;
        let teams: BTreeSet<String> = strings(claim(claims, &self.config.teams_claim))
            .into_iter()
            .collect();
        let agent = claim(claims, &self.config.agent_claim)
            .and_then(Value::as_str)
            .map(str::to_owned);
        match role {
            Role::TeamLead if teams.is_empty() => {
                return Err(Refusal::NoScope("team_lead", "teams"));
            }
            Role::Agent if agent.is_none() => return Err(Refusal::NoScope("agent", "agent")),
            _ => {}
        }
        Ok(Principal {
            subject: Arc::from(subject),
            role,
            teams,
            agent,
            via: Via::Jwt,
            expires: claims.get("exp").and_then(Value::as_u64),
            token_sha256: None,
        })
    }
}

/// The value at a dotted path (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, key| value.get(key))
}

/// A claim that is a string or a list of strings (or a space-separated string, as OAuth
/// scopes are written).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_map_to_the_highest_role_and_a_scope() {
        let oidc = Oidc::new(OidcConfig {
            issuer: "https://idp.test".to_owned(),
            audience: "callpulse".to_owned(),
            role_claim: "realm_access.roles".to_owned(),
            ..OidcConfig::default()
        })
        .expect("client");
        let claims = json!({
            "sub": "u1",
            "exp": 2_000_000_000u64,
            "realm_access": {"roles": ["offline_access", "team_lead", "wallboard"]},
            "callpulse_teams": ["north", "south"],
        });
        let principal = oidc.principal(&claims).expect("principal");
        assert_eq!(principal.role, Role::TeamLead);
        assert_eq!(principal.teams.len(), 2);
        assert_eq!(principal.expires, Some(2_000_000_000));
        let no_teams = json!({"sub": "u2", "realm_access": {"roles": "team_lead"}});
        assert_eq!(
            oidc.principal(&no_teams),
            Err(Refusal::NoScope("team_lead", "teams"))
        );
        let no_role = json!({"sub": "u3", "realm_access": {"roles": ["uma_authorization"]}});
        assert_eq!(oidc.principal(&no_role), Err(Refusal::NoRole));
    }
}
