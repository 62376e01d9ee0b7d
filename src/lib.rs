//! pg_migration_exporter: a Prometheus exporter that watches PostgreSQL
//! through schema migrations.
//!
//! The library holds everything; `src/main.rs` only parses the command line
//! and calls [`run`]. A background poller ([`poller`]) runs each collector
//! ([`collector`]) on its own interval over bounded, safety-configured
//! sessions ([`db`]), keeps the latest snapshot of each ([`state`]), and the
//! HTTP server ([`http`]) renders those snapshots on every scrape.

pub mod app;
pub mod catalogue;
pub mod cli;
pub mod collector;
pub mod config;
pub mod conninfo;
pub mod db;
pub mod duration;
pub mod evidence;
pub mod expected;
pub mod exposition;
pub mod http;
pub mod limits;
pub mod logging;
pub mod plan;
pub mod poller;
pub mod process;
pub mod selfmetrics;
pub mod serverlog;
pub mod state;
pub mod tls;
pub mod webconfig;
pub mod window;
pub mod yamlpos;

use std::sync::Arc;

use config::Settings;

/// Runs the exporter until the process receives SIGINT or SIGTERM;
/// reloads the config on SIGHUP and `POST /-/reload`, re-reading it from
/// the same `flags` and environment.
pub async fn run(settings: Settings, flags: config::FlagValues) -> std::io::Result<()> {
    let web = settings.web.clone();
    let settings = Arc::new(settings);
    let state = Arc::new(state::State::new(
        settings.targets.iter().map(|t| t.name.clone()).collect(),
        settings.window.clone(),
    ));
    state.metrics.reloaded(true);
    // Before "listening": from then on a SIGHUP must reload, not kill.
    #[cfg(unix)]
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    #[cfg(not(unix))]
    let hup = None;
    let (listener, addr) = http::bind(&settings.listen_address).await?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        address = %addr,
        telemetry_path = %settings.telemetry_path,
        targets = settings.targets.len(),
        tls = web.as_ref().is_some_and(|w| w.tls.is_some()),
        basic_auth = web.as_ref().is_some_and(|w| w.auth_required()),
        "listening"
    );
    for t in &settings.targets {
        tracing::info!(target = %t.name, connection = %t.conninfo, "watching target");
    }
    let mut poller = poller::targets::Poller::new(state.clone());
    poller.apply(settings.clone());
    tokio::spawn(window_ticker(state.clone()));
    tokio::spawn(poller::serverlog::run(settings.clone(), state.clone()));
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    let server = Arc::new(http::Server {
        state: state.clone(),
        telemetry_path: settings.telemetry_path.clone(),
        window_token: settings.window_token.clone(),
        web,
        max_connections: settings.web_max_connections,
        reload: Some(reload_tx),
    });
    let reloader = Reloader {
        flags,
        current: settings,
        poller,
        state,
        hup,
    };
    tokio::select! {
        _ = http::serve(listener, server) => {}
        _ = reloader.run(reload_rx) => {}
        _ = shutdown_signal() => tracing::info!("shutting down"),
    }
    Ok(())
}

/// Applies reloads, one at a time, from SIGHUP and the HTTP endpoint.
struct Reloader {
    flags: config::FlagValues,
    current: Arc<Settings>,
    poller: poller::targets::Poller,
    state: Arc<state::State>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))]
    hup: Option<()>,
}

impl Reloader {
    async fn run(mut self, mut requests: tokio::sync::mpsc::Receiver<http::ReloadRequest>) {
        #[cfg(unix)]
        let mut hup = self.hup.take();
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = hangup => {
                    let _ = self.reload("SIGHUP");
                }
                req = requests.recv() => match req {
                    Some(reply) => {
                        let _ = reply.send(self.reload("POST /-/reload"));
                    }
                    None => std::future::pending::<()>().await,
                },
            }
        }
    }

    /// Loads the config as the start does (flags, environment, file, all
    /// checked); applies it when valid, keeps the running one when not.
    fn reload(&mut self, trigger: &str) -> Result<(), String> {
        match Settings::load(&self.flags) {
            Err(e) => {
                tracing::error!(trigger, error = %e, "config reload failed; the previous config keeps running");
                self.state.metrics.reloaded(false);
                Err(e.to_string())
            }
            Ok(new) => {
                for t in &new.targets {
                    if !self.current.targets.iter().any(|c| c.name == t.name) {
                        tracing::info!(trigger, target = %t.name, connection = %t.conninfo, "watching target");
                    }
                }
                let new = Arc::new(config::keep_restart_only(&self.current, new, |key| {
                    tracing::warn!(
                        trigger,
                        key,
                        "changed in the reloaded config, but takes effect only at a restart"
                    );
                }));
                self.poller.apply(new.clone());
                tracing::info!(trigger, targets = new.targets.len(), "config reloaded");
                self.current = new;
                self.state.metrics.reloaded(true);
                Ok(())
            }
        }
    }
}

/// Every second, moves each target's migration window along with the
/// evidence the collectors' latest runs reported (typed, kept with their
/// snapshots), and publishes it as a snapshot of its own.
async fn window_ticker(state: Arc<state::State>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        for (ti, name) in state.active_targets() {
            let seen = window::Observed::from(&state.target_evidence(ti));
            state.windows.update(ti, seen, now);
            state.put(
                (ti, "window".into(), String::new()),
                state.windows.families(ti, &name),
            );
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
