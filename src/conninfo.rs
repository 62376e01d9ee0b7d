//! Connection strings: libpq URLs and key/value strings, parsed into a checked
//! [`ConnInfo`] that never prints its password.
//!
//! tokio-postgres understands only part of libpq's syntax (no `verify-ca` or
//! `verify-full`, no `sslrootcert`, no `PG*` environment variables), so the
//! exporter parses the string itself and builds the driver's `Config` from the
//! result. Missing fields are taken from the standard libpq environment
//! variables, the way `psql` would.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Errors from parsing a connection string. They never quote the string
/// itself, because it may hold a password.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConnInfoError {
    #[error("connection string: unknown parameter {0:?}")]
    UnknownParameter(String),
    #[error("connection string: an unknown parameter (its name is not shown: it may be part of a password)")]
    UnknownUnnamed,
    #[error("connection string: parameter {0:?} is not supported by this exporter: {1}")]
    Unsupported(String, &'static str),
    #[error("connection string: invalid value for {key}: {reason}")]
    InvalidValue { key: String, reason: String },
    #[error("connection string: {0}")]
    Syntax(String),
}

/// libpq's `sslmode`, all six of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self, ConnInfoError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(ConnInfoError::InvalidValue {
                    key: "sslmode".into(),
                    reason: format!(
                        "{other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                })
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// libpq's `channel_binding`: `require` refuses a server that does not bind
/// SCRAM to the TLS channel (a downgrade otherwise goes unnoticed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    Disable,
    #[default]
    Prefer,
    Require,
}

/// A parsed connection string. `Debug` and `Display` both hide the password.
#[derive(Clone, Default, PartialEq)]
pub struct ConnInfo {
    pub hosts: Vec<String>,
    /// libpq's `hostaddr`: the addresses actually connected to, one per
    /// host (whose names are then used only for TLS verification).
    pub hostaddrs: Vec<std::net::IpAddr>,
    pub ports: Vec<u16>,
    pub user: Option<String>,
    password: Option<String>,
    pub dbname: Option<String>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<PathBuf>,
    /// Client certificate and key (PEM), as libpq's `sslcert`/`sslkey`.
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub channel_binding: Option<ChannelBinding>,
    /// libpq's `passfile` (default `~/.pgpass`), read when no password is given.
    pub passfile: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub options: Option<String>,
    pub target_session_attrs_rw: bool,
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnInfo({self})")
    }
}

/// The redacted form: enough to tell targets apart in a log line.
impl fmt::Display for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host={}", self.hosts.join(","))?;
        if !self.hostaddrs.is_empty() {
            let a: Vec<String> = self.hostaddrs.iter().map(|a| a.to_string()).collect();
            write!(f, " hostaddr={}", a.join(","))?;
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            write!(f, " port={}", ports.join(","))?;
        }
        if let Some(u) = &self.user {
            write!(f, " user={u}")?;
        }
        if let Some(d) = &self.dbname {
            write!(f, " dbname={d}")?;
        }
        if self.password.is_some() {
            write!(f, " password=<redacted>")?;
        }
        write!(f, " sslmode={}", self.sslmode.unwrap_or_default().as_str())
    }
}

impl ConnInfo {
    /// Parses a `postgres://` / `postgresql://` URL or a libpq key/value string.
    pub fn parse(s: &str) -> Result<Self, ConnInfoError> {
        let t = s.trim();
        if let Some(rest) = t
            .strip_prefix("postgresql://")
            .or_else(|| t.strip_prefix("postgres://"))
        {
            parse_url(rest)
        } else {
            parse_key_value(t)
        }
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password;
    }

    /// Fills what the string left out from libpq's environment variables
    /// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE,
    /// PGSSLROOTCERT, PGCONNECT_TIMEOUT), then from libpq's defaults.
    pub fn fill_from_env(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConnInfoError> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        self.fill_from_pg_vars(&get)?;
        self.check_combinations()?;
        self.fill_libpq_defaults(&get)
    }

    /// PG* variables for what the string left out; unsupported ones refused.
    fn fill_from_pg_vars(
        &mut self,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConnInfoError> {
        if self.hosts.is_empty() {
            if let Some(h) = get("PGHOST") {
                self.set("host", &h)?;
            }
        }
        if self.hostaddrs.is_empty() {
            if let Some(a) = get("PGHOSTADDR") {
                self.set("hostaddr", &a)?;
            }
        }
        if self.ports.is_empty() {
            if let Some(p) = get("PGPORT") {
                self.set("port", &p)?;
            }
        }
        if self.user.is_none() {
            self.user = get("PGUSER");
        }
        if self.password.is_none() {
            self.password = get("PGPASSWORD");
        }
        if self.dbname.is_none() {
            self.dbname = get("PGDATABASE");
        }
        if self.sslmode.is_none() {
            if let Some(m) = get("PGSSLMODE") {
                self.set("sslmode", &m)?;
            }
        }
        if self.sslrootcert.is_none() {
            self.sslrootcert = get("PGSSLROOTCERT").map(PathBuf::from);
        }
        if self.sslcert.is_none() {
            self.sslcert = get("PGSSLCERT").map(PathBuf::from);
        }
        if self.sslkey.is_none() {
            self.sslkey = get("PGSSLKEY").map(PathBuf::from);
        }
        if self.channel_binding.is_none() {
            if let Some(v) = get("PGCHANNELBINDING") {
                self.set("channel_binding", &v)?;
            }
        }
        for (var, key) in UNSUPPORTED_ENV {
            if get(var).is_some() {
                return Err(ConnInfoError::Unsupported(
                    var.to_string(),
                    unsupported_reason(key),
                ));
            }
        }
        if self.connect_timeout.is_none() {
            if let Some(t) = get("PGCONNECT_TIMEOUT") {
                self.set("connect_timeout", &t)?;
            }
        }
        Ok(())
    }

    /// Parameters that are each valid but not together, as libpq refuses them.
    fn check_combinations(&mut self) -> Result<(), ConnInfoError> {
        // libpq 16: public CAs only make sense with the host name checked.
        if self.sslrootcert.as_deref() == Some(std::path::Path::new("system")) {
            match self.sslmode {
                None => self.sslmode = Some(SslMode::VerifyFull),
                Some(SslMode::VerifyFull) => {}
                Some(weak) => {
                    return Err(ConnInfoError::InvalidValue {
                        key: "sslmode".into(),
                        reason: format!(
                            "weak sslmode {:?} may not be used with sslrootcert=system (use verify-full)",
                            weak.as_str()
                        ),
                    })
                }
            }
        }
        if !self.hosts.is_empty()
            && !self.hostaddrs.is_empty()
            && self.hosts.len() != self.hostaddrs.len()
        {
            return Err(ConnInfoError::InvalidValue {
                key: "hostaddr".into(),
                reason: format!(
                    "{} addresses for {} hosts: give one per host",
                    self.hostaddrs.len(),
                    self.hosts.len()
                ),
            });
        }
        Ok(())
    }

    /// libpq's own defaults: socket or localhost, $USER, and the password file.
    fn fill_libpq_defaults(
        &mut self,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConnInfoError> {
        if self.hosts.is_empty() && self.hostaddrs.is_empty() {
            let socket_dir = "/var/run/postgresql";
            let host = if std::path::Path::new(socket_dir).exists() {
                socket_dir
            } else {
                "localhost"
            };
            self.hosts.push(host.to_string());
        }
        if self.user.is_none() {
            self.user = get("USER").or_else(|| Some("postgres".to_string()));
        }
        if self.dbname.is_none() {
            self.dbname = self.user.clone();
        }
        if self.password.is_none() {
            let file = self
                .passfile
                .clone()
                .or_else(|| get("PGPASSFILE").map(PathBuf::from))
                .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(".pgpass")));
            if let Some(file) = file {
                self.password = self.password_from_file(&file)?;
            }
        }
        Ok(())
    }

    /// libpq's password file: `host:port:database:user:password` lines,
    /// `*` matching anything, `\` escaping `:` and `\`; the first match
    /// wins. Like libpq, a missing file is silently skipped, and one that is
    /// not a plain file or that group or others can read is skipped with a
    /// warning. Matched against the first host, as tokio-postgres takes one
    /// password for all.
    fn password_from_file(&self, file: &std::path::Path) -> Result<Option<String>, ConnInfoError> {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(file) else {
            return Ok(None);
        };
        if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
            // Settings load before logging starts: stderr, as libpq warns.
            eprintln!(
                "pg_migration_exporter: warning: password file {} is not a plain file, or group or others can read it (chmod 0600): ignored, as libpq does",
                file.display()
            );
            return Ok(None);
        }
        let text = crate::limits::read_bounded(file, crate::limits::MAX_SECRET_FILE_BYTES)
            .map_err(|e| ConnInfoError::InvalidValue {
                key: "passfile".into(),
                reason: e.to_string(),
            })?;
        let host = match self.hosts.first() {
            Some(h) if h == "/var/run/postgresql" || h == "/tmp" => "localhost".to_string(),
            Some(h) => h.clone(),
            None => self
                .hostaddrs
                .first()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "localhost".into()),
        };
        let port = self.ports.first().copied().unwrap_or(5432).to_string();
        let want = [
            host.as_str(),
            port.as_str(),
            self.dbname.as_deref().unwrap_or(""),
            self.user.as_deref().unwrap_or(""),
        ];
        Ok(text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(pgpass_fields)
            .find(|f| {
                f.len() >= 5
                    && f[..4]
                        .iter()
                        .zip(want)
                        .all(|(have, w)| have == "*" || have == w)
            })
            .map(|mut f| f.swap_remove(4)))
    }

    /// A short, password-free name for the target: `host:port/dbname`.
    pub fn default_name(&self) -> String {
        let addr = self.hostaddrs.first().map(|a| a.to_string());
        let host = self
            .hosts
            .first()
            .map(String::as_str)
            .or(addr.as_deref())
            .unwrap_or("localhost");
        let port = self.ports.first().copied().unwrap_or(5432);
        let db = self.dbname.as_deref().unwrap_or("postgres");
        format!("{host}:{port}/{db}")
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), ConnInfoError> {
        let invalid = |reason: &str| ConnInfoError::InvalidValue {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        match key {
            "host" => {
                self.hosts = value
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "hostaddr" => {
                self.hostaddrs = value
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(|a| a.trim().parse().map_err(|_| invalid("not an IP address")))
                    .collect::<Result<_, _>>()?
            }
            "port" => {
                self.ports = value
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse::<u16>().map_err(|_| invalid("not a port number")))
                    .collect::<Result<_, _>>()?
            }
            "user" => self.user = Some(value.to_string()),
            "password" => self.password = Some(value.to_string()),
            "dbname" => self.dbname = Some(value.to_string()),
            "sslmode" => self.sslmode = Some(SslMode::parse(value)?),
            "sslrootcert" => self.sslrootcert = Some(PathBuf::from(value)),
            "connect_timeout" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| invalid("not a whole number of seconds"))?;
                self.connect_timeout = Some(Duration::from_secs(secs));
            }
            "options" => self.options = Some(value.to_string()),
            "sslcert" => self.sslcert = Some(PathBuf::from(value)),
            "passfile" => self.passfile = Some(PathBuf::from(value)),
            "sslkey" => self.sslkey = Some(PathBuf::from(value)),
            "channel_binding" => {
                self.channel_binding = Some(match value {
                    "disable" => ChannelBinding::Disable,
                    "prefer" => ChannelBinding::Prefer,
                    "require" => ChannelBinding::Require,
                    _ => return Err(invalid("not one of disable, prefer, require")),
                })
            }
            "target_session_attrs" => match value {
                "any" => self.target_session_attrs_rw = false,
                "read-write" => self.target_session_attrs_rw = true,
                _ => return Err(invalid("only any and read-write are supported")),
            },
            // The exporter always sets its own application_name (the server
            // must tell its sessions apart); keepalives are always on.
            "application_name"
            | "fallback_application_name"
            | "keepalives"
            | "keepalives_idle"
            | "keepalives_interval"
            | "keepalives_count" => {}
            // There is no GSSAPI support: "disable" and "prefer" connect
            // the same way without it; "require" cannot be honoured.
            "gssencmode" => match value {
                "disable" | "prefer" => {}
                _ => return Err(invalid("only disable and prefer: GSSAPI is not supported")),
            },
            other if UNSUPPORTED.contains(&other) => {
                return Err(ConnInfoError::Unsupported(
                    other.to_string(),
                    unsupported_reason(other),
                ))
            }
            other if looks_like_keyword(other) => {
                return Err(ConnInfoError::UnknownParameter(other.to_string()))
            }
            _ => return Err(ConnInfoError::UnknownUnnamed),
        }
        Ok(())
    }

    /// The driver's configuration. TLS is chosen separately from `sslmode`.
    pub fn to_driver_config(&self, application_name: &str) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        for h in &self.hosts {
            if h.starts_with('/') {
                c.host_path(h);
            } else {
                c.host(h);
            }
        }
        for a in &self.hostaddrs {
            c.hostaddr(*a);
        }
        for p in &self.ports {
            c.port(*p);
        }
        if let Some(u) = &self.user {
            c.user(u);
        }
        if let Some(p) = &self.password {
            c.password(p.as_bytes());
        }
        if let Some(d) = &self.dbname {
            c.dbname(d);
        }
        if let Some(o) = &self.options {
            c.options(o);
        }
        if self.target_session_attrs_rw {
            c.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
        }
        c.application_name(application_name);
        c.connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(5)));
        c.keepalives(true);
        c.keepalives_idle(Duration::from_secs(30));
        c.channel_binding(match self.channel_binding.unwrap_or_default() {
            ChannelBinding::Disable => tokio_postgres::config::ChannelBinding::Disable,
            ChannelBinding::Prefer => tokio_postgres::config::ChannelBinding::Prefer,
            ChannelBinding::Require => tokio_postgres::config::ChannelBinding::Require,
        });
        c.ssl_mode(match self.sslmode.unwrap_or_default() {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        c
    }
}

/// libpq parameters this exporter does not implement: each is refused by
/// name rather than ignored, because ignoring one changes what the operator
/// asked for (another host, another password, weaker TLS).
const UNSUPPORTED: &[&str] = &[
    "service",
    "require_auth",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "sslnegotiation",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "requirepeer",
    "replication",
    "load_balance_hosts",
    "tcp_user_timeout",
    "client_encoding",
];

/// libpq environment variables naming unsupported parameters.
const UNSUPPORTED_ENV: &[(&str, &str)] = &[
    ("PGSERVICE", "service"),
    ("PGSERVICEFILE", "service"),
    ("PGREQUIREAUTH", "require_auth"),
    ("PGSSLCRL", "sslcrl"),
    ("PGSSLCRLDIR", "sslcrldir"),
];

fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "service" => "write the service's parameters into the connection string",
        _ => "remove it, or connect without it",
    }
}

/// The fields of a password-file line: split at unescaped `:`; `\` escapes
/// the next character. The fifth field (the password) takes the rest of the
/// line's fields joined, as a password may hold unescaped `:` at its end in
/// libpq's reading too.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// A misplaced space can split a password into a "key" of the next pair:
/// only names that look like libpq keywords are quoted in errors.
fn looks_like_keyword(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn parse_url(rest: &str) -> Result<ConnInfo, ConnInfoError> {
    // libpq ends the user info at the first '@' before any '/' or '?'. A
    // '@' after one of those means a password holding an unescaped '/',
    // '?' or '#', which would otherwise turn part of it into a host, port,
    // database name or parameter (and so into the `target` label).
    if let Some(end) = rest.find(['/', '?', '#']) {
        if rest[end..].contains('@') {
            return Err(ConnInfoError::Syntax(
                "'@' after the host part: percent-encode '/', '?', '#' and '@' in the user name and password".into(),
            ));
        }
    }
    if rest.contains('#') {
        return Err(ConnInfoError::Syntax(
            "'#' in a URL: percent-encode it (%23)".into(),
        ));
    }
    let mut ci = ConnInfo::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, pass) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                ci.user = Some(percent_decode(user, "user")?);
            }
            if let Some(p) = pass {
                ci.password = Some(percent_decode(p, "password")?);
            }
            hosts
        }
        None => authority,
    };
    for part in hostspec.split(',').filter(|p| !p.is_empty()) {
        let (host, port) = split_host_port(part)?;
        if !host.is_empty() {
            ci.hosts.push(percent_decode(host, "host")?);
        }
        if let Some(p) = port {
            ci.ports.push(p);
        }
    }
    if let Some(p) = path.filter(|p| !p.is_empty()) {
        ci.dbname = Some(percent_decode(p, "dbname")?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ConnInfoError::Syntax("a URL parameter has no value".into()))?;
            let key = percent_decode(k, "parameter name")?;
            let value = percent_decode(v, &key)?;
            ci.set(&key, &value)?;
        }
    }
    Ok(ci)
}

fn split_host_port(part: &str) -> Result<(&str, Option<u16>), ConnInfoError> {
    let bad_port = || ConnInfoError::InvalidValue {
        key: "port".into(),
        reason: "not a port number".into(),
    };
    if let Some(rest) = part.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| ConnInfoError::Syntax("unclosed [ in IPv6 host".into()))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad_port())?),
            None => None,
        };
        return Ok((host, port));
    }
    match part.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(p.parse().map_err(|_| bad_port())?))),
        None => Ok((part, None)),
    }
}

fn percent_decode(s: &str, what: &str) -> Result<String, ConnInfoError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConnInfoError::Syntax(format!("bad percent-escape in {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ConnInfoError::Syntax(format!("{what} is not UTF-8 after decoding")))
}

fn parse_key_value(s: &str) -> Result<ConnInfo, ConnInfoError> {
    let mut ci = ConnInfo::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(ConnInfoError::Syntax(if looks_like_keyword(&key) {
                format!("missing \"=\" after {key:?}")
            } else {
                "missing \"=\" after a word (not shown: it may be part of a password)".into()
            }));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(ConnInfoError::Syntax(format!(
                    "unterminated quoted value for {key:?}"
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        ci.set(&key, &value)?;
    }
    Ok(ci)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_everything() {
        let ci = ConnInfo::parse(
            "postgresql://app%40corp:s3cr%2Ft@db1:5433,db2/my%20db?sslmode=verify-full&connect_timeout=7",
        )
        .unwrap();
        assert_eq!(ci.hosts, vec!["db1", "db2"]);
        assert_eq!(ci.ports, vec![5433]);
        assert_eq!(ci.user.as_deref(), Some("app@corp"));
        assert_eq!(ci.password(), Some("s3cr/t"));
        assert_eq!(ci.dbname.as_deref(), Some("my db"));
        assert_eq!(ci.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(ci.connect_timeout, Some(Duration::from_secs(7)));
    }

    #[test]
    fn ipv6_host_in_brackets() {
        let ci = ConnInfo::parse("postgres://[::1]:6000/x").unwrap();
        assert_eq!(ci.hosts, vec!["::1"]);
        assert_eq!(ci.ports, vec![6000]);
    }

    #[test]
    fn key_value_with_quotes_and_escapes() {
        let ci = ConnInfo::parse(
            "host=/tmp port = 5544 user=u password='it\\'s a secret' dbname=d sslmode=require",
        )
        .unwrap();
        assert_eq!(ci.hosts, vec!["/tmp"]);
        assert_eq!(ci.ports, vec![5544]);
        assert_eq!(ci.password(), Some("it's a secret"));
        assert_eq!(ci.sslmode, Some(SslMode::Require));
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let ci = ConnInfo::parse("postgres://u:hunter2@h/d").unwrap();
        assert!(!format!("{ci}").contains("hunter2"));
        assert!(!format!("{ci:?}").contains("hunter2"));
        assert!(format!("{ci}").contains("password=<redacted>"));
    }

    #[test]
    fn errors_do_not_echo_the_string() {
        let err = ConnInfo::parse("postgres://u:hunter2@h:notaport/d").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = ConnInfo::parse("host=h password=hunter2 bogus=1").unwrap_err();
        assert_eq!(err, ConnInfoError::UnknownParameter("bogus".into()));
        let err = ConnInfo::parse("host=h sslmode=sometimes").unwrap_err();
        assert!(err.to_string().contains("sslmode"));
    }

    #[test]
    fn libpq_environment_fills_only_what_is_missing() {
        let env = |k: &str| match k {
            "PGHOST" => Some("envhost".to_string()),
            "PGPORT" => Some("6543".to_string()),
            "PGUSER" => Some("envuser".to_string()),
            "PGPASSWORD" => Some("envpass".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            _ => None,
        };
        let mut ci = ConnInfo::parse("dbname=appdb port=7000").unwrap();
        ci.fill_from_env(&env).unwrap();
        assert_eq!(ci.hosts, vec!["envhost"]);
        assert_eq!(ci.ports, vec![7000]);
        assert_eq!(ci.user.as_deref(), Some("envuser"));
        assert_eq!(ci.password(), Some("envpass"));
        assert_eq!(ci.dbname.as_deref(), Some("appdb"));
        assert_eq!(ci.sslmode, Some(SslMode::Require));
    }

    #[test]
    fn misplaced_at_is_refused_without_echo() {
        for url in [
            "postgresql://u:1234/leaked@h:5432/db",
            "postgresql://u:1234?leaked@h/db",
            "postgresql://u:12#34leaked@h/db",
            "postgres://h/db?sslmode=require&x=leaked@",
        ] {
            let e = ConnInfo::parse(url).unwrap_err().to_string();
            assert!(!e.contains("leaked"), "{url}: {e}");
            assert!(!e.contains("1234"), "{url}: {e}");
        }
        let e = ConnInfo::parse("postgres://h/d?leakedsecret").unwrap_err();
        assert!(!e.to_string().contains("leaked"), "{e}");
    }

    #[test]
    fn unsupported_parameters_are_refused_by_name() {
        for key in ["service", "sslcrl", "require_auth"] {
            let e = ConnInfo::parse(&format!("host=h {key}=x")).unwrap_err();
            assert!(
                matches!(&e, ConnInfoError::Unsupported(k, _) if k == key),
                "{e}"
            );
            assert!(e.to_string().contains(key), "{e}");
        }
        let e = ConnInfo::parse("host=h gssencmode=require").unwrap_err();
        assert!(e.to_string().contains("gssencmode"), "{e}");
        // A word that cannot be a keyword is not quoted: it may be a password's tail.
        let e = ConnInfo::parse("host=h password=abc Def9=x").unwrap_err();
        assert_eq!(e, ConnInfoError::UnknownUnnamed);
        let e = ConnInfo::parse("host=h password=abc Def9").unwrap_err();
        assert!(!e.to_string().contains("Def9"), "{e}");
        let env = |k: &str| (k == "PGSERVICE").then(|| "svc".to_string());
        let mut ci = ConnInfo::parse("host=h").unwrap();
        assert!(ci
            .fill_from_env(&env)
            .unwrap_err()
            .to_string()
            .contains("PGSERVICE"));
    }

    #[test]
    fn channel_binding_and_client_certificates_are_kept() {
        let ci = ConnInfo::parse(
            "host=h channel_binding=require sslcert=/c.crt sslkey=/c.key sslmode=require",
        )
        .unwrap();
        assert_eq!(ci.channel_binding, Some(ChannelBinding::Require));
        assert_eq!(ci.sslcert.as_deref(), Some(std::path::Path::new("/c.crt")));
        assert_eq!(ci.sslkey.as_deref(), Some(std::path::Path::new("/c.key")));
        let e = ConnInfo::parse("host=h channel_binding=sometimes").unwrap_err();
        assert!(e.to_string().contains("channel_binding"), "{e}");
    }

    #[test]
    fn hostaddr_is_one_address_per_host() {
        let mut ci = ConnInfo::parse("host=db.internal hostaddr=127.0.0.1 port=5433").unwrap();
        ci.fill_from_env(&|_| None).unwrap();
        assert_eq!(ci.hostaddrs, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(ci.hosts, vec!["db.internal"]);
        let mut ci = ConnInfo::parse("hostaddr=::1").unwrap();
        ci.fill_from_env(&|_| None).unwrap();
        assert!(ci.hosts.is_empty(), "no default host beside a hostaddr");
        assert_eq!(ci.default_name(), "::1:5432/postgres");
        let e = ConnInfo::parse("hostaddr=db.internal").unwrap_err();
        assert!(e.to_string().contains("hostaddr"), "{e}");
        let mut ci = ConnInfo::parse("host=a,b hostaddr=127.0.0.1").unwrap();
        assert!(ci
            .fill_from_env(&|_| None)
            .unwrap_err()
            .to_string()
            .contains("hostaddr"));
    }

    #[test]
    fn password_file_as_libpq() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("pgmig-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:u:nope\ndb1:5433:app:u:not-this-port\n\
             db1:*:app:u:pa\\:ss:w0rd\n*:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let f = file.display().to_string();
        let env = |k: &str| (k == "PGPASSFILE").then(|| f.clone());
        let mut ci = ConnInfo::parse("host=db1 dbname=app user=u").unwrap();
        ci.fill_from_env(&env).unwrap();
        assert_eq!(ci.password(), Some("pa:ss:w0rd"));
        let mut ci = ConnInfo::parse("host=db2 dbname=app user=u").unwrap();
        ci.fill_from_env(&env).unwrap();
        assert_eq!(ci.password(), Some("fallback"));
        let mut ci = ConnInfo::parse("host=db1 dbname=app user=u password=given").unwrap();
        ci.fill_from_env(&env).unwrap();
        assert_eq!(ci.password(), Some("given"), "an explicit password wins");
        // Readable by others: ignored, as libpq does.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut ci = ConnInfo::parse(&format!("host=db1 dbname=app user=u passfile={f}")).unwrap();
        ci.fill_from_env(&|_| None).unwrap();
        assert_eq!(ci.password(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sslrootcert_system_means_verify_full() {
        let mut ci = ConnInfo::parse("host=h sslrootcert=system").unwrap();
        ci.fill_from_env(&|_| None).unwrap();
        assert_eq!(ci.sslmode, Some(SslMode::VerifyFull));
        let mut ci = ConnInfo::parse("host=h sslrootcert=system sslmode=verify-ca").unwrap();
        let e = ci.fill_from_env(&|_| None).unwrap_err().to_string();
        assert!(
            e.contains("verify-ca") && e.contains("sslrootcert=system"),
            "{e}"
        );
    }
}
