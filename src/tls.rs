//! TLS to PostgreSQL through rustls, with libpq's `sslmode` semantics.
//!
//! | sslmode | encrypted | chain checked | host name checked |
//! |---|---|---|---|
//! | disable | no | | |
//! | allow, prefer | if the server offers it | no | no |
//! | require | yes | only when `sslrootcert` is given (as libpq does) | no |
//! | verify-ca | yes | yes | no |
//! | verify-full | yes | yes | yes |
//!
//! Roots come from `sslrootcert` (a PEM file) when given, else from
//! `~/.postgresql/root.crt` when that exists (and then, as in libpq, even
//! `require` checks the chain). `verify-ca` and `verify-full` with neither
//! fail as libpq does; `sslrootcert=system` asks for the system store plus
//! the Mozilla roots, which is what managed services such as Supabase, Neon
//! and RDS chain up to. `sslcert`/`sslkey` present a client certificate
//! (by default `~/.postgresql/postgresql.crt` and `.key` when they exist).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::conninfo::{ConnInfo, SslMode};
use crate::limits::{read_bounded_bytes, MAX_PEM_FILE_BYTES};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("sslrootcert {path}: {reason}")]
    RootCert { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Setup(String),
    #[error("root certificate file {0} does not exist: provide the file (sslrootcert), use the system's roots with sslrootcert=system, or choose an sslmode that does not verify the server certificate")]
    NoRootCert(String),
    #[error("client certificate {what} {path}: {reason}")]
    ClientCert {
        what: &'static str,
        path: String,
        reason: String,
    },
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// libpq's default root certificate file, `~/.postgresql/root.crt`.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".postgresql").join("root.crt"))
}

/// Builds the connector for one target from its `sslmode`, `sslrootcert`,
/// `sslcert` and `sslkey`.
pub fn connector(ci: &ConnInfo) -> Result<MakeRustlsConnect, TlsError> {
    let mode = ci.sslmode.unwrap_or_default();
    let system = ci
        .sslrootcert
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "system");
    let rootcert: Option<PathBuf> = match &ci.sslrootcert {
        Some(p) if !system => Some(p.clone()),
        Some(_) => None,
        None => default_root_cert().filter(|p| p.exists()),
    };
    let verifying = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    if verifying && rootcert.is_none() && !system {
        let shown = default_root_cert()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.postgresql/root.crt".into());
        return Err(TlsError::NoRootCert(shown));
    }
    let verify = match mode {
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => Verify::Nothing,
        SslMode::Require if rootcert.is_none() => Verify::Nothing,
        SslMode::Require | SslMode::VerifyCa => Verify::Chain,
        SslMode::VerifyFull => Verify::ChainAndName,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let with_roots = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider()))),
        Verify::Chain | Verify::ChainAndName => {
            let roots = Arc::new(load_roots(rootcert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| TlsError::Setup(e.to_string()))?;
            if verify == Verify::ChainAndName {
                builder.with_webpki_verifier(webpki)
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
            }
        }
    };
    let config = match client_cert(ci)? {
        Some((certs, key)) => {
            with_roots
                .with_client_auth_cert(certs, key)
                .map_err(|e| TlsError::ClientCert {
                    what: "and key",
                    path: ci
                        .sslcert
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display()
                        .to_string(),
                    reason: e.to_string(),
                })?
        }
        None => with_roots.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

type ClientIdentity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// `sslcert` and `sslkey` (both or neither), else libpq's default files.
fn client_cert(ci: &ConnInfo) -> Result<Option<ClientIdentity>, TlsError> {
    // libpq's defaults: ~/.postgresql/postgresql.crt and .key, when the
    // certificate exists.
    let home = |f: &str| default_root_cert().map(|r| r.with_file_name(f));
    let default_cert = home("postgresql.crt").filter(|p| p.exists());
    let sslcert = ci.sslcert.clone().or(default_cert.clone());
    let sslkey = match (&ci.sslkey, &ci.sslcert, &default_cert) {
        (Some(k), _, _) => Some(k.clone()),
        (None, None, Some(_)) => home("postgresql.key"),
        _ => None,
    };
    let (cert, key) = match (&sslcert, &sslkey) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(c), None) | (None, Some(c)) => {
            return Err(TlsError::ClientCert {
                what: "file",
                path: c.display().to_string(),
                reason: "sslcert and sslkey go together: set both".into(),
            })
        }
    };
    let err = |what, p: &Path, reason: String| TlsError::ClientCert {
        what,
        path: p.display().to_string(),
        reason,
    };
    let pem = read_bounded_bytes(cert, MAX_PEM_FILE_BYTES)
        .map_err(|e| err("file", cert, e.to_string()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err("file", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err("file", cert, "no PEM certificate in the file".into()));
    }
    let pem =
        read_bounded_bytes(key, MAX_PEM_FILE_BYTES).map_err(|e| err("key", key, e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| err("key", key, format!("no private key in the file ({e})")))?;
    Ok(Some((certs, key)))
}

#[derive(PartialEq, Clone, Copy)]
enum Verify {
    Nothing,
    Chain,
    ChainAndName,
}

fn load_roots(path: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match path {
        Some(p) => {
            let err = |reason: String| TlsError::RootCert {
                path: p.display().to_string(),
                reason,
            };
            let pem = read_bounded_bytes(p, MAX_PEM_FILE_BYTES).map_err(|e| err(e.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| err(e.to_string()))?;
                roots.add(cert).map_err(|e| err(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(err("no PEM certificate in the file".into()));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the name may differ.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without a root certificate: encrypted, not authenticated, exactly
/// as libpq behaves. Handshake signatures are still checked.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
