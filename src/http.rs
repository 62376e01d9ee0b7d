//! The HTTP side (hyper 1.x): `/metrics` (or the configured path) in the
//! Prometheus text format, OpenMetrics when the Accept header asks for it,
//! gzip when accepted; `/healthz`; `/readyz` (200 once every target has been
//! polled once); and a landing page at `/` with links and target status.
//!
//! Nothing here touches the database: a scrape renders the latest snapshots.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::exposition::{encode_chunks, Family, Format, Rendered};
use crate::state::State;

/// A response body sent as the chunks it was made of: /metrics hands over
/// the snapshots' own bytes instead of copying megabytes into one buffer per
/// scrape. Its exact length is known, so responses carry Content-Length.
pub struct Chunks(pub std::collections::VecDeque<Bytes>);

impl Chunks {
    pub fn one(b: Bytes) -> Chunks {
        Chunks(std::collections::VecDeque::from([b]))
    }
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

pub struct Server {
    pub state: Arc<State>,
    pub telemetry_path: String,
    /// Bearer token of the window API; the API answers 404 without one.
    pub window_token: Option<String>,
    /// TLS and basic auth, from --web.config.file.
    pub web: Option<Arc<crate::webconfig::WebConfig>>,
}

/// Probe paths answered without basic auth: the kubelet's probes and the
/// image's HEALTHCHECK carry no credentials, and "ok" or "not ready" tells a
/// stranger nothing the open port does not (docs/security.md).
pub const UNAUTHENTICATED_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Server {
    /// Renders /metrics: every snapshot plus the self-metrics registry and
    /// the process metrics, as the chunks of the response body.
    pub fn render(&self, format: Format) -> Vec<Bytes> {
        let snaps = self.state.snapshots();
        let own: Vec<Rendered> = self
            .state
            .metrics
            .registry
            .gather()
            .iter()
            .filter_map(Family::from_proto)
            .chain(crate::process::families())
            .collect();
        encode_chunks(
            snaps.iter().flat_map(|s| s.iter()).chain(own.iter()),
            format,
        )
    }

    fn landing(&self) -> String {
        let mut rows = String::new();
        for (name, st) in self.state.targets.iter().zip(self.state.statuses()) {
            let status = if !st.polled_once {
                "starting"
            } else if st.up {
                "up"
            } else {
                "down"
            };
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(name),
                status,
                html_escape(st.server_version.as_deref().unwrap_or("")),
                html_escape(st.last_error.as_deref().unwrap_or("")),
            ));
        }
        format!(
            "<!DOCTYPE html>\n<html><head><title>pg_migration_exporter</title></head><body>\n\
             <h1>pg_migration_exporter {}</h1>\n\
             <p>Watches PostgreSQL through schema migrations.</p>\n\
             <ul><li><a href=\"{path}\">{path}</a></li><li><a href=\"/healthz\">/healthz</a></li>\
             <li><a href=\"/readyz\">/readyz</a></li></ul>\n\
             <table border=\"1\"><tr><th>target</th><th>status</th><th>server version</th><th>last error</th></tr>\n{rows}</table>\n\
             </body></html>\n",
            env!("CARGO_PKG_VERSION"),
            path = html_escape(&self.telemetry_path),
        )
    }

    /// `POST /api/v1/window/{open,close}?target=NAME` with `Authorization: Bearer <token>`.
    fn window_api(&self, req: &Request<Incoming>, action: &str) -> Response<Chunks> {
        let Some(token) = &self.window_token else {
            return text(
                StatusCode::NOT_FOUND,
                "the window API is off: set window.api_token_file\n",
            );
        };
        if req.method() != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
        }
        let given = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
            return r;
        }
        let wanted = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("target="))
            .map(|t| t.replace("%20", " ").replace('+', " "));
        let targets = &self.state.targets;
        let ti = match wanted {
            Some(t) => targets.iter().position(|x| *x == t),
            None if targets.len() == 1 => Some(0),
            None => None,
        };
        let Some(ti) = ti else {
            return text(
                StatusCode::BAD_REQUEST,
                "name an existing target: ?target=NAME\n",
            );
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        match action {
            "open" => self.state.windows.open_explicit(ti, now),
            _ => self.state.windows.close_explicit(ti),
        }
        tracing::info!(target = %targets[ti], action, "migration window changed through the API");
        text(
            StatusCode::OK,
            if action == "open" {
                "window open\n"
            } else {
                "window closed\n"
            },
        )
    }

    pub fn handle(&self, req: &Request<Incoming>) -> Response<Chunks> {
        let path = req.uri().path();
        if let Some(action) = path.strip_prefix("/api/v1/window/") {
            if action == "open" || action == "close" {
                return self.window_api(req, action);
            }
        }
        let open = UNAUTHENTICATED_PATHS.contains(&path) && path != self.telemetry_path;
        if let Some(web) = self.web.as_ref().filter(|_| !open) {
            let auth = req
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if !web.check_basic(auth) {
                let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
                r.headers_mut().insert(
                    hyper::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"pg_migration_exporter\""),
                );
                return r;
            }
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        }
        if path == self.telemetry_path {
            let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let format = Format::from_accept(accept);
            let body = self.render(format);
            let gzip = req
                .headers()
                .get(ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(accepts_gzip);
            let mut resp = if gzip {
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.iter().map(Bytes::len).sum::<usize>() / 8),
                    flate2::Compression::fast(),
                );
                for chunk in &body {
                    let _ = enc.write_all(chunk);
                }
                let bytes = enc.finish().unwrap_or_default();
                let mut r = Response::new(Chunks::one(Bytes::from(bytes)));
                r.headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            } else {
                Response::new(Chunks(body.into()))
            };
            resp.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            resp.headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
            return resp;
        }
        match path {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => {
                if self.state.ready() {
                    text(StatusCode::OK, "ready\n")
                } else {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "not ready: some targets have not been polled yet\n",
                    )
                }
            }
            "/" => {
                let mut r = Response::new(Chunks::one(Bytes::from(self.landing())));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                r
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

fn accepts_gzip(v: &str) -> bool {
    v.split(',').any(|part| {
        let mut it = part.trim().split(';');
        let coding = it.next().unwrap_or("").trim();
        let q_zero = it.any(|p| {
            let p = p.trim();
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        coding.eq_ignore_ascii_case("gzip") && !q_zero
    })
}

fn text(status: StatusCode, body: &'static str) -> Response<Chunks> {
    let mut r = Response::new(Chunks::one(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Binds the listener; returns it with the address actually bound (port 0 picks one).
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let addr = if let Some(port) = addr.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else {
        addr.to_string()
    };
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves until the process ends (over TLS when the web config has it).
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    let tls = server
        .web
        .as_ref()
        .and_then(|w| w.tls.clone())
        .map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let server = server.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(server.handle(&req)) }
            });
            let builder = {
                let mut b = hyper::server::conn::http1::Builder::new();
                b.timer(TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(10));
                b
            };
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => builder.serve_connection(TokioIo::new(s), svc).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                None => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "HTTP connection error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation_honours_q_zero() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.8"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }
}
