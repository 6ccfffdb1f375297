//! The whole configuration, layered: shipped defaults, then a file, then the environment.
//!
//! `config/callpulse.toml` is embedded and *is* the default: a test checks that it parses to
//! `Config::default()` and that it mentions every key, so no key goes undocumented.

use std::collections::HashMap;
use std::path::Path;

use callpulse_core::{MetricsPolicy, PolicyError};
use callpulse_export::auth::AuthConfig;
use callpulse_export::{ExportConfig, ExportConfigError};
use callpulse_ingest::IngestConfig;
use callpulse_sim::SimConfig;
use callpulse_sources::SourcesConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The shipped, documented defaults.
pub const DEFAULT_TOML: &str = include_str!("../../../config/callpulse.toml");

/// Prefix of environment overrides: `CALLPULSE__INGEST__BROKERS=host:9092`.
pub const ENV_PREFIX: &str = "CALLPULSE__";

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("could not read config file {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A layer is not valid TOML or has an unknown key or a wrong type.
    #[error("invalid configuration in {layer}: {message}")]
    Invalid { layer: String, message: String },
    /// The metric policy is inconsistent.
    #[error("invalid metrics policy")]
    Policy(#[from] PolicyError),
    /// An `[export]` value is out of range.
    #[error("invalid configuration")]
    Export(#[from] ExportConfigError),
}

/// Every section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Kafka consumption.
    pub ingest: IngestConfig,
    /// HTTP server.
    pub export: ExportConfig,
    /// Who may read what.
    pub auth: AuthConfig,
    /// Metric definitions.
    pub metrics: MetricsPolicy,
    /// The simulator used by `demo` and `simulate`.
    pub simulator: SimConfig,
    /// How native records of contact-center systems are read (`replay --from`).
    pub sources: SourcesConfig,
    /// The intraday reforecast's profiles.
    pub forecast: ForecastConfig,
}

/// `[forecast]`: where the engine's reforecast profiles come from (docs/forecast.md).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// A profile file written by `callpulse forecast --profile-out`; empty: no reforecast
    /// (the staffing plan then shows the agents scheduled only).
    pub profile: String,
}

impl Config {
    /// Loads defaults, then `file` if given, then `CALLPULSE__SECTION__KEY` variables from
    /// `env` (values are read as TOML when they parse, else as strings).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the layer at fault.
    pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut table = parse(DEFAULT_TOML, "defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let layer = path.display().to_string();
            // Checked alone first: a typo or a wrong type is reported with this file's line
            // and column, not as a fault of the merged configuration.
            check_alone(toml::from_str::<Config>(&text), &layer)?;
            merge(&mut table, parse(&text, &layer)?);
        }
        let mut vars: Vec<(&String, &String)> = env
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (key, value) in vars {
            let path: Vec<String> = key[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_lowercase)
                .collect();
            let mut alone = toml::Table::new();
            set_path(&mut alone, &path, env_value(value));
            check_alone(
                toml::Value::Table(alone).try_into::<Config>(),
                &format!(
                    "environment variable {key} (section.key {})",
                    path.join(".")
                ),
            )?;
            set_path(&mut table, &path, env_value(value));
        }
        inherit_default_queue(&mut table);
        let mut config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    layer: "merged configuration".into(),
                    message: e.to_string(),
                })?;
        // The time model's one skew bound: what ingest accepts is what the windows tolerate.
        config.metrics.future_skew_secs =
            u32::try_from(config.ingest.max_future_secs).unwrap_or(u32::MAX);
        config.metrics.validate()?;
        config.export.validate()?;
        config.auth.validate()?;
        Ok(config)
    }
}

/// Each `[metrics.queues.NAME]` table starts from `[metrics.default_queue]` as configured
/// (not from the built-in defaults), so a queue that only names its team keeps the center's
/// thresholds and target.
fn inherit_default_queue(table: &mut toml::Table) {
    let Some(toml::Value::Table(metrics)) = table.get_mut("metrics") else {
        return;
    };
    let Some(toml::Value::Table(default)) = metrics.get("default_queue").cloned() else {
        return;
    };
    if let Some(toml::Value::Table(queues)) = metrics.get_mut("queues") {
        for (_, queue) in queues.iter_mut() {
            if let toml::Value::Table(own) = queue {
                let mut full = default.clone();
                merge(&mut full, own.clone());
                *own = full;
            }
        }
    }
}

/// A layer's own deserialization error, named after the layer.
fn check_alone(alone: Result<Config, toml::de::Error>, layer: &str) -> Result<(), ConfigError> {
    alone.map(drop).map_err(|e| ConfigError::Invalid {
        layer: layer.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
}

fn parse(text: &str, layer: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Invalid {
            layer: layer.to_owned(),
            message: e.to_string(),
        })
}

/// Deep merge: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(ours)), toml::Value::Table(theirs)) => merge(ours, theirs),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

/// `42` -> integer, `true` -> bool, `[5, 15]` -> array, anything else -> string.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_is_the_default() {
        let loaded = Config::load(None, &HashMap::new()).expect("defaults load");
        assert_eq!(loaded, Config::default());
    }

    /// Every key of the serialized default appears in the shipped file, so every key is
    /// documented there (the file's comments are the reference).
    #[test]
    fn shipped_file_mentions_every_key() {
        let default = toml::Value::try_from(Config::default()).expect("serializable");
        let shipped: toml::Table = DEFAULT_TOML.parse().expect("valid toml");
        fn walk(value: &toml::Value, shipped: Option<&toml::Value>, path: &str) {
            if let toml::Value::Table(table) = value {
                for (key, inner) in table {
                    let here = format!("{path}.{key}");
                    let theirs = shipped.and_then(|s| s.get(key));
                    assert!(
                        theirs.is_some(),
                        "config/callpulse.toml does not mention {here}"
                    );
                    walk(inner, theirs, &here);
                }
            }
        }
        walk(&default, Some(&toml::Value::Table(shipped)), "");
    }

    /// A typo or a wrong type names the file, its line and the key; an environment
    /// variable names itself; a value out of range names its section and key.
    #[test]
    fn errors_say_where() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("site.toml");
        std::fs::write(
            &path,
            "[export]\nlisten = \"0.0.0.0:7710\"\nws_max_clint = 5\n",
        )
        .expect("write");
        let error = Config::load(Some(&path), &HashMap::new()).expect_err("typo");
        let text = error.to_string();
        assert!(text.contains("site.toml"), "{text}");
        assert!(
            text.contains("line 3") && text.contains("ws_max_clint"),
            "{text}"
        );
        let env = HashMap::from([(
            "CALLPULSE__EXPORT__WS_MAX_CLIENTS".to_owned(),
            "many".to_owned(),
        )]);
        let text = Config::load(None, &env)
            .expect_err("not a number")
            .to_string();
        assert!(text.contains("CALLPULSE__EXPORT__WS_MAX_CLIENTS"), "{text}");
        std::fs::write(&path, "[metrics.queues.vip]\nsl_target = 80\n").expect("write");
        let error = Config::load(Some(&path), &HashMap::new()).expect_err("80");
        let text = format!("{:#}", anyhow::Error::from(error));
        assert!(
            text.contains("[metrics.queues.vip] sl_target = 80"),
            "{text}"
        );
    }

    #[test]
    fn file_and_env_override_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[ingest]\nbrokers = \"file:9092\"\nworkers = 3\n[metrics.default_queue]\nsl_target = 0.9\n[metrics.queues.vip]\nsl_thresholds_secs = [10, 30]\n").expect("write");
        let env: HashMap<String, String> = [
            ("CALLPULSE__INGEST__BROKERS", "env:9092"),
            ("CALLPULSE__METRICS__WINDOWS_MINS", "[5, 15, 60]"),
            (
                "CALLPULSE__INGEST__LIBRDKAFKA__SECURITY.PROTOCOL",
                "SASL_SSL",
            ),
            ("CALLPULSE__INGEST__LIBRDKAFKA__SESSION.TIMEOUT.MS", "6000"),
            (
                "CALLPULSE__INGEST__LIBRDKAFKA__ENABLE.SSL.CERTIFICATE.VERIFICATION",
                "false",
            ),
            ("OTHER", "ignored"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let c = Config::load(Some(&path), &env).expect("loads");
        assert_eq!(c.ingest.brokers, "env:9092");
        assert_eq!(c.ingest.workers, 3);
        assert_eq!(c.metrics.windows_mins, [5, 15, 60]);
        assert_eq!(c.metrics.queue("vip").sl_thresholds_secs, [10, 30]);
        assert_eq!(
            c.metrics.queue("vip").short_abandon_secs,
            5,
            "unset keys keep defaults"
        );
        assert_eq!(
            c.metrics.queue("vip").sl_target,
            0.9,
            "a queue inherits the configured default_queue, not the built-in one"
        );
        assert_eq!(c.ingest.librdkafka["security.protocol"], "SASL_SSL");
        assert_eq!(
            c.ingest.librdkafka["session.timeout.ms"], "6000",
            "numbers become strings"
        );
        assert_eq!(
            c.ingest.librdkafka["enable.ssl.certificate.verification"],
            "false"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let env: HashMap<String, String> =
            [("CALLPULSE__INGEST__NO_SUCH_KEY".to_owned(), "1".to_owned())].into();
        let err = Config::load(None, &env).expect_err("unknown key");
        assert!(err.to_string().contains("no_such_key"), "{err}");
        let env: HashMap<String, String> =
            [("CALLPULSE__METRICS__BUCKET_SECS".to_owned(), "7".to_owned())].into();
        assert!(matches!(
            Config::load(None, &env),
            Err(ConfigError::Policy(_))
        ));
    }
}
