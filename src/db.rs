//! Opening a safe session on a target.
//!
//! Every session the exporter opens carries its `application_name` and, before
//! any collector runs, `statement_timeout`, `lock_timeout`,
//! `idle_in_transaction_session_timeout`, `default_transaction_read_only` and
//! `jit = off`, so that a poll can neither queue for long behind a migration's
//! DDL nor write anything. The server version and the session's own backend
//! pid are read once per connection.
//!
//! Must not touch: the state, the poller or HTTP.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::{CancelToken, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{SessionSettings, TargetSettings};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("connect: timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("session setup: {0}")]
    Setup(String),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// How long a cancel request may take before it is abandoned.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Session {
    pub client: Client,
    /// Superuser, or a member of pg_monitor: can see every session's state and queries.
    pub can_monitor: bool,
    pub role: String,
    pub backend_pid: i32,
    pub server_version_num: i32,
    pub server_version: String,
    /// Statements prepared on this session, reused by the collectors.
    pub statements: Statements,
    cancel: CancelToken,
    tls: MakeRustlsConnect,
    conn_task: JoinHandle<()>,
}

/// The most statements one session keeps prepared. The built-in collectors
/// use a few dozen fixed texts; the bound only matters for configs that
/// generate many distinct ones, which then run unprepared past it.
const MAX_PREPARED: usize = 128;

/// A session's prepared statements, by SQL text. Reusing them halves the
/// round trips of a query (no Parse/Describe each time) and lets the server
/// skip parse analysis and, for the parameterless catalog queries, planning:
/// that is most of the exporter's cost when locks and activity run every
/// second. The cache lives and dies with its session, so a reconnect starts
/// empty.
#[derive(Default)]
pub struct Statements(
    std::sync::Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>,
);

impl Statements {
    /// The prepared statement for `sql`, preparing it on first use.
    pub async fn get(
        &self,
        client: &Client,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if let Some(st) = self.0.lock().expect("statements").get(sql) {
            return Ok(st.clone());
        }
        let st = client.prepare(sql).await?;
        let mut map = self.0.lock().expect("statements");
        if map.len() < MAX_PREPARED {
            map.insert(sql.to_string(), st.clone());
        }
        Ok(st)
    }

    /// Forgets a statement whose execution failed: were it invalid for good
    /// (a result type changed under it), reusing it would fail every run.
    pub fn forget(&self, sql: &str) {
        self.0.lock().expect("statements").remove(sql);
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("statements").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.conn_task.abort();
    }
}

impl Session {
    /// Asks the server to cancel whatever this session is running. Used when
    /// a collector overruns its timeout, so the query stops on the server too
    /// rather than being merely abandoned by the client. Opens one short-lived
    /// connection, as libpq's PQcancel does.
    pub fn cancel_running_query(&self) {
        let token = self.cancel.clone();
        let tls = self.tls.clone();
        // Bounded: a stopped (SIGSTOP) server accepts the TCP connection
        // and never answers the SSL negotiation, and one cancel per timed
        // out collector would otherwise pile up for as long as it hangs.
        tokio::spawn(async move {
            match tokio::time::timeout(CANCEL_TIMEOUT, token.cancel_query(tls)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "cancel request failed"),
                Err(_) => tracing::debug!("cancel request timed out"),
            }
        });
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// The SQL run at the start of each session.
pub fn session_setup_sql(s: &SessionSettings, statement_timeout: Duration) -> String {
    format!(
        "SET statement_timeout = {}; SET lock_timeout = {}; \
         SET idle_in_transaction_session_timeout = {}; \
         SET default_transaction_read_only = on; SET jit = off",
        ms(statement_timeout),
        ms(s.lock_timeout),
        ms(s.idle_in_transaction_session_timeout),
    )
}

/// Connects to the target and prepares the session.
/// `dbname` overrides the database of the target's connection string, for
/// the per-database collectors.
pub async fn connect(
    target: &TargetSettings,
    dbname: Option<&str>,
    session: &SessionSettings,
    statement_timeout: Duration,
) -> Result<Session, DbError> {
    let tls = crate::tls::connector(&target.conninfo)?;
    let mut cfg = target.conninfo.to_driver_config(&session.application_name);
    if let Some(d) = dbname {
        cfg.dbname(d);
    }
    if target.conninfo.connect_timeout.is_none() {
        cfg.connect_timeout(session.connect_timeout);
    }
    let overall = session.connect_timeout * 2;
    let (client, connection) = tokio::time::timeout(overall, cfg.connect(tls.clone()))
        .await
        .map_err(|_| DbError::ConnectTimeout(overall))?
        .map_err(|e| DbError::Connect(error_text(&e)))?;
    let conn_task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection closed");
        }
    });
    let cancel = client.cancel_token();
    let setup = async {
        client
            .batch_execute(&session_setup_sql(session, statement_timeout))
            .await?;
        let row = client
            .query_one(
                "SELECT pg_catalog.pg_backend_pid(), \
                 pg_catalog.current_setting('server_version_num')::int4, \
                 pg_catalog.current_setting('server_version'), \
                 current_user::text, \
                 (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) \
                   OR pg_catalog.pg_has_role(current_user, 'pg_monitor', 'MEMBER'), \
                 pg_catalog.current_setting('server_encoding')",
                &[],
            )
            .await?;
        // A SQL_ASCII database stores names as any bytes. Sent to a UTF8
        // client, the server validates them and fails the whole query on
        // one table name that is not UTF-8 (22021); sent as they are, the
        // collectors read them lossily instead.
        if row.get::<_, String>(5) == "SQL_ASCII" {
            client
                .batch_execute("SET client_encoding = 'SQL_ASCII'")
                .await?;
        }
        Ok(row)
    };
    let row = match tokio::time::timeout(overall, setup).await {
        Ok(Ok(row)) => row,
        Ok(Err(e)) => {
            conn_task.abort();
            return Err(DbError::Setup(error_text(&e)));
        }
        Err(_) => {
            conn_task.abort();
            return Err(DbError::ConnectTimeout(overall));
        }
    };
    Ok(Session {
        backend_pid: row.get(0),
        server_version_num: row.get(1),
        server_version: row.get(2),
        role: row.get(3),
        can_monitor: row.get::<_, Option<bool>>(4).unwrap_or(false),
        client,
        statements: Statements::default(),
        cancel,
        tls,
        conn_task,
    })
}

/// The server's message when there is one (with its SQLSTATE), else the driver's.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}
