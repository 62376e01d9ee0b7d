//! Log output in logfmt (the default, as Prometheus' own exporters write it)
//! or JSON, on stderr.

use std::fmt;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .flatten_event(true)
            .try_init(),
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
    };
}

struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
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
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        write!(w, "ts={now} level={level}")?;
        let mut v = Visitor {
            out: String::new(),
            msg: None,
        };
        event.record(&mut v);
        if let Some(m) = v.msg {
            write!(w, " msg={}", quote(&m))?;
        }
        writeln!(w, "{}", v.out)
    }
}

struct Visitor {
    out: String,
    msg: Option<String>,
}

impl Visit for Visitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Visitor {
    fn push(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.msg = Some(value);
        } else {
            self.out.push(' ');
            self.out.push_str(field.name());
            self.out.push('=');
            self.out.push_str(&quote(&value));
        }
    }
}

/// Quotes a logfmt value when it holds spaces, quotes or `=`.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && !v.contains(|c: char| c.is_whitespace() || c == '"' || c == '=' || c == '\\')
    {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(super::quote("plain"), "plain");
        assert_eq!(super::quote("two words"), "\"two words\"");
        assert_eq!(super::quote("a=\"b\""), "\"a=\\\"b\\\"\"");
        assert_eq!(super::quote(""), "\"\"");
    }
}
