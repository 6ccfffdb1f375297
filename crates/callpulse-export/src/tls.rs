//! HTTPS: the certificate and key from PEM files, reloaded when either changes (a renewed
//! certificate is served to new connections without a restart; open ones keep theirs).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ExportTelemetry;
use crate::auth::file_stamp;

/// `[export.tls]`: serve HTTPS (and `wss://`) instead of plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). Empty, with `key_file` empty: plain HTTP.
    pub cert_file: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// How often the two files are checked for changes (s).
    pub reload_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert_file: String::new(),
            key_file: String::new(),
            reload_secs: 60,
        }
    }
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty() || !self.key_file.is_empty()
    }
}

/// Why the certificate could not be loaded.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    Cert { path: String, message: String },
    #[error("TLS key {path}: {message}")]
    Key { path: String, message: String },
    #[error("TLS certificate and key do not go together: {0}")]
    Mismatch(String),
}

/// The certificate in force, and where it comes from.
#[derive(Debug)]
pub struct Tls {
    current: ArcSwap<ServerConfig>,
    cert: PathBuf,
    key: PathBuf,
    period: Duration,
}

impl Tls {
    /// Loads the certificate and key.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, or a key that does not match the certificate.
    pub fn load(config: &TlsConfig) -> Result<Arc<Tls>, TlsError> {
        let cert = PathBuf::from(&config.cert_file);
        let key = PathBuf::from(&config.key_file);
        let server = build(&cert, &key)?;
        Ok(Arc::new(Tls {
            current: ArcSwap::from_pointee(server),
            cert,
            key,
            period: Duration::from_secs(config.reload_secs.max(1)),
        }))
    }

    /// An acceptor with the certificate in force now.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Reloads the certificate whenever either file changes, until `shutdown`. A pair that
    /// does not load (a half-written renewal) is logged and the previous one stays.
    pub async fn run(self: Arc<Self>, telemetry: ExportTelemetry, shutdown: CancellationToken) {
        let stamp = |tls: &Tls| (file_stamp(&tls.cert), file_stamp(&tls.key));
        let mut seen = stamp(&self);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.period) => {}
            }
            let now = stamp(&self);
            if now == seen {
                continue;
            }
            seen = now;
            match build(&self.cert, &self.key) {
                Ok(server) => {
                    self.current.store(Arc::new(server));
                    telemetry.tls_reloads.with_label_values(&["ok"]).inc();
                    info!(cert = %self.cert.display(), "TLS certificate reloaded");
                }
                Err(error) => {
                    telemetry.tls_reloads.with_label_values(&["failed"]).inc();
                    warn!(%error, "TLS certificate not reloaded; the previous one stays in use");
                }
            }
        }
    }
}

fn build(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let cert_err = |message: String| TlsError::Cert {
        path: cert.display().to_string(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no CERTIFICATE block".to_owned()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        message: e.to_string(),
    })?;
    // The provider named, not the process default: a dependency enabling rustls's other
    // backend must not make the default ambiguous (a panic at the first handshake).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(server)
}
