//! `--web.config.file`: TLS and basic authentication for the HTTP side, in
//! the Prometheus exporter-toolkit format, so operators reuse the files they
//! already have for node_exporter and friends:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional (NoClientCert by default)
//!   client_ca_file: ca.crt                          # with the above
//! basic_auth_users:
//!   prometheus: $2y$10$...                          # bcrypt hash
//! ```
//!
//! Basic authentication applies to every endpoint but the window API, which
//! has its own bearer token. Successful checks are cached for the process's
//! life (bcrypt is slow on purpose), keyed by a hash of the credentials.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    /// Accepted for compatibility with exporter-toolkit files; HTTP/2 is not served.
    http_server_config: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

/// The checked web configuration.
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<u64>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebConfig(tls: {}, users: {})",
            self.tls.is_some(),
            self.users.len()
        )
    }
}

fn read_pem_certs(
    p: &Path,
    file: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, WebConfigError> {
    let err = |m: String| WebConfigError::Invalid {
        file: file.into(),
        message: m,
    };
    let data = std::fs::read(p).map_err(|e| {
        err(format!(
            "tls_server_config: cannot read {}: {e}",
            p.display()
        ))
    })?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut data.as_slice()).collect();
    let certs = certs.map_err(|e| err(format!("tls_server_config: {}: {e}", p.display())))?;
    if certs.is_empty() {
        return Err(err(format!(
            "tls_server_config: no certificate in {}",
            p.display()
        )));
    }
    Ok(certs)
}

impl WebConfig {
    #[allow(clippy::too_many_lines)] // owned by the HTTP hardening work; to split there
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let file = path.display().to_string();
        let err = |m: String| WebConfigError::Invalid {
            file: file.clone(),
            message: m,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let raw: RawWebConfig = if text.trim().is_empty() {
            RawWebConfig {
                tls_server_config: None,
                basic_auth_users: BTreeMap::new(),
                http_server_config: None,
            }
        } else {
            serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).map_err(
                |e| {
                    let p = e.path().to_string();
                    let inner = e.into_inner();
                    let line = crate::yamlpos::locate_line(&text, &p)
                        .or(inner.location().map(|l| l.line()));
                    let mut m = inner.to_string();
                    if let Some(i) = m.find(" at line ") {
                        m.truncate(i);
                    }
                    WebConfigError::Invalid {
                        file: format!(
                            "{file}{}",
                            line.map(|l| format!(":{l}")).unwrap_or_default()
                        ),
                        message: format!("{p}: {m}"),
                    }
                },
            )?
        };
        for (user, hash) in &raw.basic_auth_users {
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(err(format!("basic_auth_users.{user}: not a bcrypt hash")));
            }
        }
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => {
                let certs = read_pem_certs(&t.cert_file, &file)?;
                let key_data = std::fs::read(&t.key_file).map_err(|e| {
                    err(format!(
                        "tls_server_config.key_file: cannot read {}: {e}",
                        t.key_file.display()
                    ))
                })?;
                let key = rustls_pemfile::private_key(&mut key_data.as_slice())
                    .map_err(|e| err(format!("tls_server_config.key_file: {e}")))?
                    .ok_or_else(|| {
                        err("tls_server_config.key_file: no private key in the file".into())
                    })?;
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| err(e.to_string()))?;
                let builder = match t.client_auth_type.as_deref().unwrap_or("NoClientCert") {
                    "NoClientCert" => builder.with_no_client_auth(),
                    "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
                        let ca = t
                            .client_ca_file
                            .as_ref()
                            .ok_or_else(|| err("tls_server_config.client_ca_file is required with client certificates".into()))?;
                        let mut roots = rustls::RootCertStore::empty();
                        for c in read_pem_certs(ca, &file)? {
                            roots.add(c).map_err(|e| err(format!("tls_server_config.client_ca_file: {e}")))?;
                        }
                        let mut v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                        if t.client_auth_type.as_deref() == Some("VerifyClientCertIfGiven") {
                            v = v.allow_unauthenticated();
                        }
                        builder.with_client_cert_verifier(v.build().map_err(|e| err(e.to_string()))?)
                    }
                    other => return Err(err(format!("tls_server_config.client_auth_type: {other:?} is not supported (NoClientCert, RequireAndVerifyClientCert, VerifyClientCertIfGiven)"))),
                };
                let _ = (
                    t.min_version,
                    t.max_version,
                    t.cipher_suites,
                    t.prefer_server_cipher_suites,
                    t.curve_preferences,
                );
                let mut cfg = builder
                    .with_single_cert(certs, key)
                    .map_err(|e| err(format!("tls_server_config: {e}")))?;
                cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(Arc::new(cfg))
            }
        };
        let _ = raw.http_server_config;
        Ok(WebConfig {
            tls,
            users: raw.basic_auth_users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    pub fn auth_required(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization: Basic ...` header value.
    pub fn check_basic(&self, header: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(b64) = header.and_then(|h| h.strip_prefix("Basic ")) else {
            return false;
        };
        let Some(decoded) = base64_decode(b64.trim()) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = decoded.split_once(':') else {
            return false;
        };
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            user.hash(&mut h);
            pass.hash(&mut h);
            hash.hash(&mut h);
            h.finish()
        };
        if self.verified.lock().expect("auth cache").contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(pass, hash).unwrap_or(false);
        if ok {
            self.verified.lock().expect("auth cache").insert(key);
        }
        ok
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(base64_decode("YWxpY2U6c2VjcmV0").unwrap(), b"alice:secret");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("!!!").is_none());
    }

    #[test]
    fn basic_auth_checks_bcrypt_and_rejects_the_rest() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let w = WebConfig {
            tls: None,
            users: [("alice".to_string(), hash)].into(),
            verified: Mutex::new(HashSet::new()),
        };
        assert!(w.check_basic(Some("Basic YWxpY2U6czNjcmV0"))); // alice:s3cret
        assert!(w.check_basic(Some("Basic YWxpY2U6czNjcmV0")), "cached");
        assert!(!w.check_basic(Some("Basic YWxpY2U6d3Jvbmc="))); // alice:wrong
        assert!(!w.check_basic(Some("Bearer x")));
        assert!(!w.check_basic(None));
    }
}
