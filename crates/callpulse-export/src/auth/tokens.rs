//! Static bearer tokens, kept as SHA-256 hashes: the configuration, the tokens file and
//! memory never hold a token itself.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AuthError, TokenEntry};

/// The hex SHA-256 of `token`: what `[[auth.tokens]]` stores.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

/// The tokens in force, by hash.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    by_hash: HashMap<Arc<str>, Arc<TokenEntry>>,
}

/// A tokens file: `[[tokens]]` tables like `[[auth.tokens]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

impl TokenStore {
    /// The configured tokens plus those of `file` (when given).
    ///
    /// # Errors
    /// The file cannot be read or parsed, an entry is invalid, or two entries share a name
    /// or a hash.
    pub(crate) fn load(
        configured: &[TokenEntry],
        file: Option<&Path>,
    ) -> Result<TokenStore, AuthError> {
        let mut entries: Vec<TokenEntry> = configured.to_vec();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| AuthError::TokensFile {
                path: path.display().to_string(),
                message: source.to_string(),
            })?;
            let parsed: TokensFile = toml::from_str(&text).map_err(|e| AuthError::TokensFile {
                path: path.display().to_string(),
                message: e.to_string().trim_end().to_owned(),
            })?;
            for entry in &parsed.tokens {
                entry.validate().map_err(|expected| AuthError::TokensFile {
                    path: path.display().to_string(),
                    message: format!("token {:?}: {expected}", entry.name),
                })?;
            }
            entries.extend(parsed.tokens);
        }
        let mut by_hash = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for mut entry in entries {
            entry.sha256.make_ascii_lowercase();
            if !names.insert(entry.name.clone()) {
                return Err(AuthError::Duplicate(format!("token name {:?}", entry.name)));
            }
            let hash: Arc<str> = Arc::from(entry.sha256.as_str());
            if by_hash.insert(hash, Arc::new(entry)).is_some() {
                return Err(AuthError::Duplicate(
                    "token hash (two names, one token)".to_owned(),
                ));
            }
        }
        Ok(TokenStore { by_hash })
    }

    /// The entry for a presented token.
    pub(crate) fn find(&self, token: &str) -> Option<(Arc<str>, Arc<TokenEntry>)> {
        let hash = hash_token(token);
        self.by_hash
            .get_key_value(hash.as_str())
            .map(|(k, v)| (Arc::clone(k), Arc::clone(v)))
    }

    /// Whether a token hash is still in force.
    pub(crate) fn holds(&self, sha256: &str) -> bool {
        self.by_hash.contains_key(sha256)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn entry(name: &str, token: &str, role: Role) -> TokenEntry {
        TokenEntry {
            name: name.to_owned(),
            sha256: hash_token(token),
            role,
            teams: vec!["north".to_owned()],
            agent: String::new(),
        }
    }

    #[test]
    fn the_known_sha256_and_lookups_by_token() {
        // Known answer: `printf abc | sha256sum`.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let store =
            TokenStore::load(&[entry("tv", "s3cret", Role::Wallboard)], None).expect("load");
        let (hash, found) = store.find("s3cret").expect("found");
        assert_eq!(found.name, "tv");
        assert!(store.holds(&hash));
        assert!(store.find("s3cret ").is_none());
        assert!(store.find("").is_none());
    }

    #[test]
    fn files_add_tokens_and_faults_name_the_file() {
        let dir = std::env::temp_dir().join(format!("callpulse-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("tokens.toml");
        let text = format!(
            "[[tokens]]\nname = \"lead\"\nsha256 = \"{}\"\nrole = \"team_lead\"\nteams = [\"north\"]\n",
            hash_token("t2")
        );
        std::fs::write(&path, text).expect("write");
        let store =
            TokenStore::load(&[entry("tv", "t1", Role::Wallboard)], Some(&path)).expect("load");
        assert_eq!(store.len(), 2);
        assert_eq!(store.find("t2").expect("lead").1.role, Role::TeamLead);
        std::fs::write(
            &path,
            "[[tokens]]\nname = \"x\"\nsha256 = \"abc\"\nrole = \"admin\"\n",
        )
        .expect("write");
        let error = TokenStore::load(&[], Some(&path)).expect_err("short hash");
        assert!(
            error.to_string().contains("tokens.toml") && error.to_string().contains("64 hex"),
            "{error}"
        );
        let duplicate = TokenStore::load(
            &[entry("a", "t", Role::Admin), entry("b", "t", Role::Admin)],
            None,
        );
        assert!(duplicate.is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
