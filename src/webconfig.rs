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
//! Basic authentication applies to every endpoint, the window API included
//! (which also wants its own bearer token). bcrypt is slow on purpose, so
//! verification runs on the blocking pool, never on the runtime thread that
//! serves scrapes, at most [`MAX_CONCURRENT_VERIFICATIONS`] at a time; an
//! unknown user is checked against a dummy hash of the same cost so that
//! timing does not tell which users exist. Successful checks are cached,
//! keyed by the SHA-256 of the credentials (not a 64-bit hash that could
//! collide on purpose).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::limits::{read_bounded, read_bounded_bytes, MAX_PEM_FILE_BYTES, MAX_WEB_CONFIG_BYTES};

/// bcrypt verifications running at once; the rest wait up to
/// [`VERIFY_QUEUE_WAIT`] and are then refused with 503. Two keeps a flood of
/// wrong passwords from taking every core away from the scrape path.
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 2;
/// How long an uncached attempt waits for a verification slot.
pub const VERIFY_QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Distinct successful credentials remembered; the cache is emptied when full.
const MAX_CACHED_CREDENTIALS: usize = 1024;
/// The web config is a handful of keys; deeper YAML is refused unparsed.
const MAX_YAML_DEPTH: usize = 16;

/// The result of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Allowed,
    Denied,
    /// Too many verifications in flight: try again later (503).
    Busy,
}

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
    /// Verified against when the user does not exist, so that an unknown
    /// user costs as much as a wrong password.
    dummy_hash: String,
    verified: Mutex<HashSet<[u8; 32]>>,
    slots: Arc<tokio::sync::Semaphore>,
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

fn read_pem_certs(p: &Path, file: &str) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let err = |m: String| WebConfigError::Invalid {
        file: file.into(),
        message: m,
    };
    let data = read_bounded_bytes(p, MAX_PEM_FILE_BYTES)
        .map_err(|e| err(format!("tls_server_config: {e}")))?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&data).collect();
    let certs = certs.map_err(|e| err(format!("tls_server_config: {}: {e}", p.display())))?;
    if certs.is_empty() {
        return Err(err(format!(
            "tls_server_config: no certificate in {}",
            p.display()
        )));
    }
    Ok(certs)
}

/// serde_yaml_ng has no nesting limit of its own; a deeply nested document
/// is refused before parsing (the main config has the same guard).
fn check_depth(text: &str) -> Result<(), String> {
    let (mut depth, mut max) = (0usize, 0usize);
    for line in text.lines() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        max = max.max(indent / 2);
        for c in line.chars() {
            match c {
                '[' | '{' => {
                    depth += 1;
                    max = max.max(depth + indent / 2);
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if max > MAX_YAML_DEPTH {
            return Err(format!(
                "nesting deeper than {MAX_YAML_DEPTH} levels: not a web config file?"
            ));
        }
    }
    Ok(())
}

impl WebConfig {
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let file = path.display().to_string();
        let err = |m: String| WebConfigError::Invalid {
            file: file.clone(),
            message: m,
        };
        let text = read_bounded(path, MAX_WEB_CONFIG_BYTES).map_err(|e| err(e.to_string()))?;
        check_depth(&text).map_err(err)?;
        let raw = parse_raw(&text, &file)?;
        for (user, hash) in &raw.basic_auth_users {
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(err(format!("basic_auth_users.{user}: not a bcrypt hash")));
            }
        }
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => Some(tls_config(t, &file)?),
        };
        let _ = raw.http_server_config;
        Ok(WebConfig::new(tls, raw.basic_auth_users))
    }

    fn new(tls: Option<Arc<rustls::ServerConfig>>, users: BTreeMap<String, String>) -> WebConfig {
        // The dummy costs what the most expensive real hash costs.
        let cost = users
            .values()
            .filter_map(|h| h.get(4..6)?.parse::<u32>().ok())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let dummy_hash = if users.is_empty() {
            String::new()
        } else {
            bcrypt::hash("pgmig dummy password", cost.clamp(4, 31)).unwrap_or_default()
        };
        WebConfig {
            tls,
            users,
            dummy_hash,
            verified: Mutex::new(HashSet::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
        }
    }

    pub fn auth_required(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization: Basic ...` header value. Cached successes
    /// answer at once; anything else waits for a verification slot and runs
    /// bcrypt on the blocking pool.
    pub async fn check_basic(&self, header: Option<&str>) -> AuthOutcome {
        if self.users.is_empty() {
            return AuthOutcome::Allowed;
        }
        let Some((user, pass)) = header.and_then(parse_basic) else {
            return AuthOutcome::Denied;
        };
        let key = cache_key(&user, &pass);
        if self.verified.lock().expect("auth cache").contains(&key) {
            return AuthOutcome::Allowed;
        }
        let permit =
            match tokio::time::timeout(VERIFY_QUEUE_WAIT, self.slots.clone().acquire_owned()).await
            {
                Ok(Ok(p)) => p,
                _ => return AuthOutcome::Busy,
            };
        let known = self.users.get(&user);
        let hash = known.unwrap_or(&self.dummy_hash).clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            bcrypt::verify(pass, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !(verified && known.is_some()) {
            return AuthOutcome::Denied;
        }
        let mut cache = self.verified.lock().expect("auth cache");
        if cache.len() >= MAX_CACHED_CREDENTIALS {
            cache.clear();
        }
        cache.insert(key);
        AuthOutcome::Allowed
    }
}

/// The user and password of a Basic credential. The scheme name is
/// case-insensitive (RFC 9110, section 11.1).
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

fn cache_key(user: &str, pass: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    ctx.update(&(user.len() as u64).to_be_bytes());
    ctx.update(user.as_bytes());
    ctx.update(pass.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Constant-time equality of two secrets: no early return on the first
/// difference nor on a length mismatch (the length of the expected secret
/// is not hidden, its content is).
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    let len_ok = (given.len() as u64).ct_eq(&(expected.len() as u64));
    // Compare against a same-length buffer either way, so the work done does
    // not depend on where or whether the lengths differ.
    let mut padded = vec![0u8; expected.len()];
    let n = given.len().min(expected.len());
    padded[..n].copy_from_slice(&given[..n]);
    bool::from(len_ok & padded.as_slice().ct_eq(expected))
}

/// The file's YAML as read (an empty file is no TLS and no users); a parse
/// error names file, line and key.
fn parse_raw(text: &str, file: &str) -> Result<RawWebConfig, WebConfigError> {
    if text.trim().is_empty() {
        Ok(RawWebConfig {
            tls_server_config: None,
            basic_auth_users: BTreeMap::new(),
            http_server_config: None,
        })
    } else {
        serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(|e| {
            let p = e.path().to_string();
            let inner = e.into_inner();
            let line = crate::yamlpos::locate_line(text, &p).or(inner.location().map(|l| l.line()));
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
        })
    }
}

/// The TLS server config of `tls_server_config`: certificates, key, client
/// certificates. The toolkit's version, cipher and curve keys are read but
/// not applied: rustls's safe defaults stand.
fn tls_config(t: RawTls, file: &str) -> Result<Arc<rustls::ServerConfig>, WebConfigError> {
    let err = |m: String| WebConfigError::Invalid {
        file: file.to_string(),
        message: m,
    };
    let certs = read_pem_certs(&t.cert_file, file)?;
    let key_data = read_bounded_bytes(&t.key_file, MAX_PEM_FILE_BYTES)
        .map_err(|e| err(format!("tls_server_config.key_file: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&key_data).map_err(|e| {
        err(format!(
            "tls_server_config.key_file: no private key in the file ({e})"
        ))
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
                for c in read_pem_certs(ca, file)? {
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
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(users: &[(&str, &str)]) -> WebConfig {
        let users = users
            .iter()
            .map(|(u, p)| (u.to_string(), bcrypt::hash(p, 4).unwrap()))
            .collect();
        WebConfig::new(None, users)
    }

    #[tokio::test]
    async fn basic_auth_checks_bcrypt_and_rejects_the_rest() {
        let w = config(&[("alice", "s3cret")]);
        let ok = AuthOutcome::Allowed;
        assert_eq!(w.check_basic(Some("Basic YWxpY2U6czNjcmV0")).await, ok); // alice:s3cret
        assert_eq!(
            w.check_basic(Some("Basic YWxpY2U6czNjcmV0")).await,
            ok,
            "cached"
        );
        // RFC 9110: the scheme is case-insensitive.
        assert_eq!(w.check_basic(Some("basic YWxpY2U6czNjcmV0")).await, ok);
        assert_eq!(w.check_basic(Some("BASIC YWxpY2U6czNjcmV0")).await, ok);
        let denied = AuthOutcome::Denied;
        assert_eq!(w.check_basic(Some("Basic YWxpY2U6d3Jvbmc=")).await, denied); // alice:wrong
        assert_eq!(w.check_basic(Some("Basic Ym9iOnMzY3JldA==")).await, denied); // bob:s3cret
        assert_eq!(w.check_basic(Some("Basic !!!")).await, denied);
        assert_eq!(w.check_basic(Some("Bearer x")).await, denied);
        assert_eq!(w.check_basic(None).await, denied);
    }

    #[test]
    fn dummy_hash_has_the_cost_of_the_real_ones() {
        let w = WebConfig::new(
            None,
            [("a".to_string(), bcrypt::hash("x", 6).unwrap())].into(),
        );
        assert!(w.dummy_hash.starts_with("$2b$06$"), "{}", w.dummy_hash);
    }

    #[test]
    fn cache_keys_are_unambiguous() {
        assert_ne!(cache_key("ab", "c"), cache_key("a", "bc"));
        assert_eq!(cache_key("a", "b"), cache_key("a", "b"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(secrets_equal(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!secrets_equal(b"0123456789abcdeX", b"0123456789abcdef"));
        assert!(!secrets_equal(b"0123456789abcdef0", b"0123456789abcdef"));
        assert!(!secrets_equal(b"0123", b"0123456789abcdef"));
        assert!(!secrets_equal(b"", b"0123456789abcdef"));
    }

    #[test]
    fn deep_yaml_is_refused() {
        let deep = format!("basic_auth_users: {}{}", "[".repeat(40), "]".repeat(40));
        assert!(check_depth(&deep).unwrap_err().contains("nesting"));
        assert!(check_depth("tls_server_config:\n  cert_file: a\n").is_ok());
    }
}
