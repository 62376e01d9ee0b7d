//! The server-log task: one follower per followed target, polled on the
//! blocking pool every `poll_interval`, its counters published into the
//! state. Owns the scheduling; reading and counting are [`crate::serverlog`]'s.

use std::sync::Arc;

use crate::config::Settings;
use crate::serverlog::{class_info_family, TargetLog, POLL_BUDGET};
use crate::state::State;

/// Follows the configured logs until the process ends. Returns at once when none is.
pub async fn run(settings: Arc<Settings>, state: Arc<State>) {
    let cfg = &settings.server_log;
    let follows = &settings.server_log_follows;
    let Some((first, _)) = follows.first() else {
        return;
    };
    state.put(
        (*first, "server_log_classes".into(), String::new()),
        vec![class_info_family()],
    );
    for &(ti, ref f) in follows {
        let t = &settings.targets[ti];
        let key = (ti, "server_log".into(), t.main_database());
        tracing::info!(target = %t.name, directory = %f.directory.display(), "following the server log");
        let mut log = TargetLog::new(&t.name, cfg, f, &settings.session.application_name);
        let state = state.clone();
        let every = cfg.poll_interval.0;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                loop {
                    let r = tokio::task::spawn_blocking(move || {
                        let caught_up = log.poll(POLL_BUDGET);
                        let fams = log.families();
                        (log, caught_up, fams)
                    })
                    .await;
                    let Ok((l, caught_up, fams)) = r else {
                        tracing::error!("the server log follower panicked; it stops");
                        return;
                    };
                    log = l;
                    state.put(key.clone(), fams);
                    if caught_up {
                        break;
                    }
                }
            }
        });
    }
}
