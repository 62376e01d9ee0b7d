//! The HTTP side (hyper 1.x): `/metrics` (or the configured path) in the
//! Prometheus text format, OpenMetrics when the Accept header asks for it,
//! gzip when accepted; `/healthz`; `/readyz` (200 once every target has been
//! polled once); and a landing page at `/` with links and target status.
//!
//! Nothing here touches the database: a scrape renders the latest snapshots.
//!
//! Limits: at most `--web.max-connections` connections are served at once
//! (the excess gets a 503 and is closed at once), a connection that sends
//! no complete request head within [`IDLE_TIMEOUT`] is closed, basic auth
//! (when configured) guards every endpoint including the window API, and
//! large gzip bodies are compressed off the runtime thread.

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
use tokio::sync::Semaphore;

use crate::exposition::{encode_chunks, Format, Rendered};
use crate::state::State;
use crate::webconfig::{secrets_equal, AuthOutcome};

/// A connection idle this long (no complete request head, TLS handshake
/// included) is closed: hyper's header-read timer runs for every request,
/// the first one and each keep-alive one.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Bodies above this are gzipped on the blocking pool: compressing
/// megabytes would hold the single runtime thread for tens of milliseconds.
const INLINE_GZIP_MAX: usize = 64 << 10;
/// Header carrying the window API's token when `Authorization` is taken by
/// basic auth.
pub const WINDOW_TOKEN_HEADER: &str = "x-window-token";

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
    /// `--web.max-connections`.
    pub max_connections: usize,
    /// Where `POST /-/reload` asks for a reload (none: the endpoint is 404).
    pub reload: Option<tokio::sync::mpsc::Sender<ReloadRequest>>,
}

/// A reload request: the reloader answers on it with the outcome (the
/// error text names file, line and key, never a secret).
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The reload endpoint, as Prometheus and Alertmanager name theirs.
pub const RELOAD_PATH: &str = "/-/reload";

/// Probe paths answered without basic auth: the kubelet's probes and the
/// image's HEALTHCHECK carry no credentials, and "ok" or "not ready" tells a
/// stranger nothing the open port does not (docs/security.md).
pub const UNAUTHENTICATED_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// The window API's token: `Authorization: Bearer <token>` (the scheme is
/// case-insensitive), or the [`WINDOW_TOKEN_HEADER`] header when basic auth
/// takes `Authorization`.
fn window_token(req: &Request<Incoming>) -> &str {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(t) = header(WINDOW_TOKEN_HEADER) {
        return t.trim();
    }
    header(hyper::header::AUTHORIZATION.as_str())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or("")
}

/// Decodes a query value: `+` is a space, `%XX` any byte; the result must be
/// UTF-8. A `%` not followed by two hex digits is an error, not kept as is.
pub fn decode_query_value(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let spaced = v.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

impl Server {
    /// Renders /metrics: every snapshot plus the self-metrics registry and
    /// the process metrics, as the chunks of the response body.
    pub fn render(&self, format: Format) -> Vec<Bytes> {
        let snaps = self.state.snapshots();
        let own: Vec<Rendered> = self
            .state
            .metrics
            .families()
            .into_iter()
            .chain(crate::process::families())
            .collect();
        encode_chunks(
            snaps.iter().flat_map(|s| s.iter()).chain(own.iter()),
            format,
        )
    }

    async fn metrics(&self, req: &Request<Incoming>) -> Response<Chunks> {
        let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
        let format = Format::from_accept(accept);
        let body = self.render(format);
        let gzip = req
            .headers()
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(accepts_gzip);
        let mut resp = if gzip {
            let bytes = gzip_body(body).await;
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
        resp
    }

    fn landing(&self) -> String {
        let mut rows = String::new();
        for (name, st) in self.state.statuses() {
            let status = if !st.polled_once {
                "starting"
            } else if st.up {
                "up"
            } else {
                "down"
            };
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html_escape(&name),
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
        if !secrets_equal(window_token(req).as_bytes(), token.as_bytes()) {
            let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
            return r;
        }
        let wanted = match req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("target="))
            .map(decode_query_value)
        {
            Some(None) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "?target= is not valid percent-encoded UTF-8\n",
                )
            }
            Some(Some(t)) => Some(t),
            None => None,
        };
        let targets = self.state.active_targets();
        let found = match wanted {
            Some(t) => targets.into_iter().find(|(_, x)| *x == t),
            None if targets.len() == 1 => targets.into_iter().next(),
            None => None,
        };
        let Some((ti, tname)) = found else {
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
        tracing::info!(target = %tname, action, "migration window changed through the API");
        text(
            StatusCode::OK,
            if action == "open" {
                "window open\n"
            } else {
                "window closed\n"
            },
        )
    }

    /// `POST /-/reload`: reload the config now; 200 when it applied, 500
    /// with the error when it did not (the previous config keeps running).
    async fn reload(&self, req: &Request<Incoming>) -> Response<Chunks> {
        let Some(tx) = &self.reload else {
            return text(StatusCode::NOT_FOUND, "not found\n");
        };
        if req.method() != Method::POST && req.method() != Method::PUT {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
            r.headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static("POST, PUT"));
            return r;
        }
        let (reply, outcome) = tokio::sync::oneshot::channel();
        if tx.try_send(reply).is_err() {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "reloads already queued; try again\n",
            );
        }
        match outcome.await {
            Ok(Ok(())) => text(StatusCode::OK, "config reloaded\n"),
            Ok(Err(e)) => {
                let mut r = Response::new(Chunks::one(Bytes::from(format!(
                    "failed to reload config: {e}\n"
                ))));
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                r
            }
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        }
    }

    /// Basic auth first, for every path: the window API is no exception.
    async fn authorize(&self, req: &Request<Incoming>) -> Option<Response<Chunks>> {
        let web = self.web.as_ref()?;
        let auth = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match web.check_basic(auth).await {
            AuthOutcome::Allowed => None,
            AuthOutcome::Denied => {
                let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
                r.headers_mut().insert(
                    hyper::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"pg_migration_exporter\""),
                );
                Some(r)
            }
            AuthOutcome::Busy => {
                let mut r = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many authentication attempts in progress\n",
                );
                r.headers_mut()
                    .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
                Some(r)
            }
        }
    }

    pub async fn handle(&self, req: &Request<Incoming>) -> Response<Chunks> {
        let path = req.uri().path();
        // A probe path is open to anyone; it then says no more than an open
        // port does: the reason a target is not ready needs credentials.
        let probe = UNAUTHENTICATED_PATHS.contains(&path) && path != self.telemetry_path;
        let authenticated = match self.authorize(req).await {
            None => true,
            Some(_) if probe => false,
            Some(refusal) => return refusal,
        };
        if let Some(action) = path.strip_prefix("/api/v1/window/") {
            if action == "open" || action == "close" {
                return self.window_api(req, action);
            }
        }
        if path == RELOAD_PATH {
            return self.reload(req).await;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        }
        if path == self.telemetry_path {
            return self.metrics(req).await;
        }
        match path {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => match self.state.not_ready_reason() {
                None => text(StatusCode::OK, "ready\n"),
                Some(reason) => {
                    let body = if authenticated {
                        format!("not ready: {reason}\n")
                    } else {
                        "not ready\n".to_string()
                    };
                    let mut r = Response::new(Chunks::one(Bytes::from(body)));
                    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    r.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    r
                }
            },
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

/// Small bodies inline; large ones on the blocking pool, so the runtime
/// thread keeps answering (and polling) while megabytes are compressed.
async fn gzip_body(body: Vec<Bytes>) -> Vec<u8> {
    let size: usize = body.iter().map(Bytes::len).sum();
    if size <= INLINE_GZIP_MAX {
        gzip_chunks(&body)
    } else {
        tokio::task::spawn_blocking(move || gzip_chunks(&body))
            .await
            .unwrap_or_default()
    }
}

fn gzip_chunks(body: &[Bytes]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.iter().map(Bytes::len).sum::<usize>() / 8),
        flate2::Compression::fast(),
    );
    for chunk in body {
        let _ = enc.write_all(chunk);
    }
    enc.finish().unwrap_or_default()
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

/// The answer to a connection over the cap: written without waiting (a
/// fresh socket's send buffer is empty) and the socket is closed at once.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Retry-After: 1\r\nConnection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n";

/// Open connections, and the most open since the last trim.
#[derive(Default)]
struct Live {
    open: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

/// After a burst of at least this many connections, freed memory is handed
/// back to the system once most of them have closed.
const TRIM_AFTER_PEAK: usize = 256;

impl Live {
    fn opened(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.open.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(n, Relaxed);
    }

    /// glibc keeps freed heap in its arenas: after a burst of thousands of
    /// connections (a few KiB of buffers each) the process would stay at its
    /// peak size. Trimming once the burst is over returns it.
    fn closed(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let left = self.open.fetch_sub(1, Relaxed) - 1;
        let peak = self.peak.load(Relaxed);
        // "Over": down to an eighth of the peak (a scraper's keep-alive
        // connection may stay open throughout).
        if peak >= TRIM_AFTER_PEAK
            && left <= peak / 8
            && self
                .peak
                .compare_exchange(peak, left, Relaxed, Relaxed)
                .is_ok()
        {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            tokio::task::spawn_blocking(|| {
                // SAFETY: malloc_trim only walks and releases the allocator's
                // free lists; it is thread-safe in glibc.
                unsafe { libc::malloc_trim(0) };
            });
        }
    }
}

/// Serves until the process ends (over TLS when the web config has it).
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    let tls = server
        .web
        .as_ref()
        .and_then(|w| w.tls.clone())
        .map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(server.max_connections.max(1)));
    let live = Arc::new(Live::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Over TLS a plain-text answer would be noise: just close.
            if tls.is_none() {
                let _ = stream.try_write(TOO_MANY);
            }
            tracing::debug!(peer = %peer, "connection refused: --web.max-connections reached");
            continue;
        };
        let server = server.clone();
        let tls = tls.clone();
        let live = live.clone();
        live.opened();
        tokio::spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, server, tls).await;
            live.closed();
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    server: Arc<Server>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let svc = service_fn(move |req: Request<Incoming>| {
        let server = server.clone();
        async move { Ok::<_, Infallible>(server.handle(&req).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(IDLE_TIMEOUT);
    let result = match tls {
        Some(acceptor) => match tokio::time::timeout(IDLE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(s)) => builder.serve_connection(TokioIo::new(s), svc).await,
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        },
        None => builder.serve_connection(TokioIo::new(stream), svc).await,
    };
    if let Err(e) = result {
        tracing::debug!(peer = %peer, error = %e, "HTTP connection error");
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

    #[test]
    fn large_bodies_are_gzipped_off_the_runtime_thread() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // 24 MiB of exposition-like text: long enough to compress that a
            // task on the same (single) thread must get turns meanwhile.
            let line =
                Bytes::from_static(b"pgmig_table_size_bytes{target=\"t\",table=\"x\"} 12345\n");
            let body: Vec<Bytes> = std::iter::repeat_n(line, 400_000).collect();
            let expected: Vec<u8> = body.iter().flat_map(|b| b.iter().copied()).collect();
            let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let t = ticks.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
            tokio::task::yield_now().await;
            let gz = gzip_body(body).await;
            let during = ticks.load(std::sync::atomic::Ordering::Relaxed);
            ticker.abort();
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
                .unwrap();
            assert_eq!(out, expected);
            assert!(
                during >= 3,
                "the runtime thread was held while compressing ({during} ticks)"
            );
        });
    }

    #[test]
    fn query_values_are_fully_percent_decoded() {
        assert_eq!(decode_query_value("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(decode_query_value("100%25").as_deref(), Some("100%"));
        assert_eq!(decode_query_value("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(decode_query_value("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(decode_query_value("%E6%97%A5").as_deref(), Some("日"));
        assert_eq!(decode_query_value("bad%zz"), None);
        assert_eq!(decode_query_value("trunc%2"), None);
        assert_eq!(decode_query_value("%C3"), None, "not UTF-8");
    }
}
