//! Log output on stderr as Prometheus' own exporters write it today (Go's
//! log/slog through prometheus/common's promslog): logfmt by default, or
//! JSON, with the keys `time`, `level`, `source` and `msg` first:
//!
//! ```text
//! time=2026-01-02T03:04:05.678Z level=INFO source=src/main.rs:40 msg=listening address=127.0.0.1:9786
//! {"time":"2026-01-02T03:04:05.678Z","level":"INFO","source":"src/main.rs:40","msg":"listening","address":"127.0.0.1:9786"}
//! ```
//!
//! A value can never break a line or forge a key: in logfmt, any value with
//! a space, `"`, `=`, `\` or a control character is quoted and escaped (`\n`,
//! `\r`, `\t`, `\u001b`); JSON strings are escaped the same way.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogLevel};

/// Installs the global subscriber. `level` is one of debug, info, warn, error.
pub fn init(level: &LogLevel, format: LogFormat) {
    // Only this crate logs at the chosen level; dependencies at warn.
    let filter = EnvFilter::new(format!("warn,pg_migration_exporter={}", level.as_str()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(Line(format))
        .try_init();
}

/// One log line in the chosen format.
struct Line(LogFormat);

/// A field's value: text, or a number or boolean JSON writes bare.
enum Value {
    Text(String),
    Bare(String),
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut head = vec![
            ("time", Value::Text(time)),
            ("level", Value::Text(meta.level().as_str().to_string())),
        ];
        if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
            head.push(("source", Value::Text(format!("{file}:{line}"))));
        }
        if let Some(m) = fields.msg.take() {
            head.push(("msg", Value::Text(m)));
        }
        let all = head
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(fields.rest.iter().map(|(k, v)| (*k, v)));
        let mut out = String::with_capacity(128);
        match self.0 {
            LogFormat::Logfmt => write_logfmt(&mut out, all),
            LogFormat::Json => write_json(&mut out, all),
        }
        writeln!(w, "{out}")
    }
}

#[derive(Default)]
struct Fields {
    msg: Option<String>,
    rest: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::Text(t) | Value::Bare(t)) => self.msg = Some(t),
            (name, v) => self.rest.push((name, v)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Text(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Bare(value.to_string()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Bare(value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bare(value.to_string()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those stay text.
        let v = value.to_string();
        self.push(
            field,
            if value.is_finite() {
                Value::Bare(v)
            } else {
                Value::Text(v)
            },
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Text(format!("{value:?}")));
    }
}

fn write_logfmt<'a>(out: &mut String, fields: impl Iterator<Item = (&'a str, &'a Value)>) {
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        let (Value::Text(t) | Value::Bare(t)) = v;
        out.push_str(&quote(t));
    }
}

fn write_json<'a>(out: &mut String, fields: impl Iterator<Item = (&'a str, &'a Value)>) {
    out.push('{');
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_escaped(out, k, true);
        out.push(':');
        match v {
            Value::Text(t) => push_escaped(out, t, true),
            Value::Bare(b) => out.push_str(b),
        }
    }
    out.push('}');
}

/// Appends `s` escaped for a double-quoted string (logfmt and JSON agree on
/// these escapes), with the quotes when `quoted`.
fn push_escaped(out: &mut String, s: &str, quoted: bool) {
    if quoted {
        out.push('"');
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
}

/// A logfmt value: bare when it is safe to be, else quoted and escaped.
fn quote(v: &str) -> String {
    let safe = !v.is_empty()
        && !v.contains(|c: char| {
            c.is_whitespace() || c.is_control() || c == '"' || c == '=' || c == '\\'
        });
    if safe {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    push_escaped(&mut s, v, true);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote("a=\"b\""), "\"a=\\\"b\\\"\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn control_characters_never_reach_the_line() {
        for (input, want) in [
            ("a\rb", "\"a\\rb\""),
            (
                "a\nlevel=ERROR msg=forged",
                "\"a\\nlevel=ERROR msg=forged\"",
            ),
            ("tab\there", "\"tab\\there\""),
            ("esc\u{1b}[31m", "\"esc\\u001b[31m\""),
            ("nul\0", "\"nul\\u0000\""),
            ("del\u{7f}", "\"del\\u007f\""),
            ("next-line\u{85}", "\"next-line\\u0085\""),
        ] {
            let q = quote(input);
            assert_eq!(q, want, "{input:?}");
            assert!(!q.chars().any(char::is_control), "{q:?}");
        }
    }

    #[test]
    fn json_lines_escape_and_keep_numbers_bare() {
        let fields = [
            ("time", Value::Text("t".into())),
            ("msg", Value::Text("x\r\ny \"q\"".into())),
            ("n", Value::Bare("42".into())),
        ];
        let mut out = String::new();
        write_json(&mut out, fields.iter().map(|(k, v)| (*k, v)));
        assert_eq!(out, r#"{"time":"t","msg":"x\r\ny \"q\"","n":42}"#);
        let mut out = String::new();
        write_logfmt(&mut out, fields.iter().map(|(k, v)| (*k, v)));
        assert_eq!(out, r#"time=t msg="x\r\ny \"q\"" n=42"#);
    }
}
