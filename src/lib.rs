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

/// Runs the exporter until the process receives SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> std::io::Result<()> {
    let web = settings.web.clone();
    let settings = Arc::new(settings);
    let state = Arc::new(state::State::new(
        settings.targets.iter().map(|t| t.name.clone()).collect(),
        settings.window.clone(),
    ));
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
    poller::spawn(settings.clone(), state.clone());
    tokio::spawn(window_ticker(settings.clone(), state.clone()));
    tokio::spawn(poller::serverlog::run(settings.clone(), state.clone()));
    let server = Arc::new(http::Server {
        state,
        telemetry_path: settings.telemetry_path.clone(),
        window_token: settings.window_token.clone(),
        web,
        max_connections: settings.web_max_connections,
    });
    tokio::select! {
        _ = http::serve(listener, server) => {}
        _ = shutdown_signal() => tracing::info!("shutting down"),
    }
    Ok(())
}

/// Every second, moves each target's migration window along with the
/// evidence the collectors' latest runs reported (typed, kept with their
/// snapshots), and publishes it as a snapshot of its own.
async fn window_ticker(settings: Arc<Settings>, state: Arc<state::State>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        for (ti, t) in settings.targets.iter().enumerate() {
            let seen = window::Observed::from(&state.target_evidence(ti));
            state.windows.update(ti, seen, now);
            state.put(
                (ti, "window".into(), t.main_database()),
                state.windows.families(ti, &t.name),
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
