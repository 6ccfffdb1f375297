//! `callpulse token`: mint a bearer token and the `[[auth.tokens]]` entry that admits it.
//! The token is shown once; the configuration keeps only its SHA-256.

use std::io::Read;

use anyhow::Context;
use base64::Engine as _;
use callpulse_export::auth::{Role, TokenEntry, hash_token};
use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::cli::{TokenArgs, TokenCommand, TokenNewArgs};

/// Prefix of minted tokens: recognisable in a secret scanner, never a JWT (no dots).
const PREFIX: &str = "cpt_";

/// Runs `callpulse token ...`, writing to `out`.
///
/// # Errors
/// An invalid name, role or scope; no randomness from the OS; an unreadable stdin.
pub fn token(args: &TokenArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    match &args.command {
        TokenCommand::New(new) => {
            let (token, entry) = mint(new)?;
            let snippet = toml::to_string(&TokensSnippet {
                tokens: vec![entry],
            })
            .context("while rendering the entry")?;
            if let Some(path) = &new.token_out {
                write_secret(path, &token)?;
                writeln!(
                    out,
                    "# Token {:?} written to {}.\n{snippet}",
                    new.name,
                    path.display()
                )?;
                return Ok(());
            }
            writeln!(
                out,
                "# The token (shown once; give it to its holder, e.g. as `Authorization: Bearer <token>`):\n\
                 # {token}\n\
                 # Add this to the [auth] tokens file (or as [[auth.tokens]] in the configuration):\n\
                 {snippet}"
            )?;
            Ok(())
        }
        TokenCommand::Hash => {
            let mut token = String::new();
            std::io::stdin()
                .read_to_string(&mut token)
                .context("while reading the token from stdin")?;
            let token = token.trim();
            anyhow::ensure!(!token.is_empty(), "no token on stdin");
            writeln!(out, "{}", hash_token(token))?;
            Ok(())
        }
    }
}

/// Writes `token` to a new file only its owner can read; an existing file is not replaced.
fn write_secret(path: &std::path::Path, token: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("while creating {} (it must not exist)", path.display()))?;
    std::io::Write::write_all(&mut file, token.as_bytes())
        .with_context(|| format!("while writing {}", path.display()))
}

#[derive(serde::Serialize)]
struct TokensSnippet {
    tokens: Vec<TokenEntry>,
}

/// A fresh random token (256 bits from the OS) and the entry that admits it.
fn mint(args: &TokenNewArgs) -> anyhow::Result<(String, TokenEntry)> {
    let role = Role::parse(&args.role).with_context(|| {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role {:?}: one of {}", args.role, roles.join(", "))
    })?;
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .context("while reading randomness from the operating system")?;
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let entry = TokenEntry {
        name: args.name.clone(),
        sha256: hash_token(&token),
        role,
        teams: args.teams.clone(),
        agent: args.agent.clone().unwrap_or_default(),
    };
    entry
        .validate()
        .map_err(|why| anyhow::anyhow!("token {:?}: {why}", args.name))?;
    Ok((token, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(role: &str, teams: &[&str], agent: Option<&str>) -> TokenNewArgs {
        TokenNewArgs {
            name: "t".into(),
            role: role.into(),
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            agent: agent.map(str::to_owned),
            token_out: None,
        }
    }

    #[test]
    fn minted_token_matches_its_entry_and_differs_each_time() {
        let (a, entry) = mint(&args("team_lead", &["north"], None)).expect("mints");
        let (b, _) = mint(&args("team_lead", &["north"], None)).expect("mints");
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && !a.contains('.'));
        assert_eq!(entry.sha256, hash_token(&a));
        assert_eq!(entry.role, Role::TeamLead);
        assert_eq!(entry.teams, vec!["north".to_owned()]);
    }

    #[test]
    fn scope_and_role_are_checked() {
        assert!(mint(&args("team_lead", &[], None)).is_err());
        assert!(mint(&args("agent", &[], None)).is_err());
        assert!(mint(&args("agent", &[], Some("a-7"))).is_ok());
        let err = mint(&args("boss", &[], None)).expect_err("unknown role");
        assert!(format!("{err:#}").contains("team_lead"), "{err:#}");
    }

    #[test]
    fn token_out_writes_an_owner_only_file_and_prints_the_entry_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("scrape.token");
        let mut new = args("metrics", &[], None);
        new.token_out = Some(path.clone());
        let cli = TokenArgs {
            command: TokenCommand::New(new),
        };
        let mut out = Vec::new();
        token(&cli, &mut out).expect("runs");
        let written = std::fs::read_to_string(&path).expect("token file");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(!text.contains(&written), "the token is not printed");
        assert!(text.contains(&hash_token(&written)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(token(&cli, &mut Vec::new()).is_err(), "never overwrites");
    }

    #[test]
    fn the_snippet_is_a_tokens_file() {
        let mut out = Vec::new();
        let cli = TokenArgs {
            command: TokenCommand::New(args("wallboard", &[], None)),
        };
        token(&cli, &mut out).expect("runs");
        let text = String::from_utf8(out).expect("utf-8");
        let parsed: toml::Table = toml::from_str(&text).expect("the output parses as TOML");
        let tokens = parsed["tokens"].as_array().expect("tokens");
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0]["role"].as_str(), Some("wallboard"));
        let token = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("# "))
            .expect("the token line");
        assert_eq!(
            tokens[0]["sha256"].as_str(),
            Some(hash_token(token).as_str())
        );
    }
}
