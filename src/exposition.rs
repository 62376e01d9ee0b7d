//! Metric families written straight into the exposition format as they are
//! built, and put together for /metrics in the Prometheus text format (0.0.4)
//! or OpenMetrics 1.0.
//!
//! A collector run builds its families fresh, so a series whose pid or
//! relation has gone does not linger. Each sample is rendered once, when the
//! collector adds it: the sample lines of the two formats are the same
//! (counters always end in `_total`), only the `# HELP`/`# TYPE` headers
//! differ, and those are written at scrape time. A snapshot therefore costs
//! its text and nothing more, and a scrape is a concatenation: no per-series
//! allocation on either side (profiling showed malloc and free as the
//! largest cost when families were built as `prometheus::proto` messages).
//!
//! A leaf: it knows metric text, not where the values come from. Must not
//! import any other part of the exporter.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hyper::body::Bytes;

#[cfg(test)]
use prometheus::proto::{MetricFamily, MetricType};

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label values longer than this are cut (at a character boundary) and end
/// in `...`: a query text or a hostile relation name must not make one
/// series kilobytes long.
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    /// Content negotiation on the Accept header: OpenMetrics only when asked for.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// The type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// A metric family under construction, or finished. Every sample gets the
/// base labels (the target) first, then its own.
#[derive(Debug, Clone)]
pub struct Family {
    name: String,
    help: String,
    kind: Kind,
    /// The base labels, rendered and escaped: `target="a",datname="b"`.
    base: String,
    /// The sample lines.
    body: String,
    count: usize,
}

/// A finished family: what a snapshot keeps, shared without copying by
/// every scrape that writes it out.
#[derive(Debug, Clone)]
pub struct Rendered {
    name: String,
    help: String,
    kind: Kind,
    body: Bytes,
    count: usize,
}

impl Family {
    fn new(name: &str, help: &str, kind: Kind, base: &[(&str, &str)]) -> Family {
        let mut b = String::new();
        write_labels(&mut b, base);
        Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            base: b,
            body: String::new(),
            count: 0,
        }
    }

    pub fn gauge(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        Family::new(name, help, Kind::Gauge, base)
    }

    /// A counter. Its name ends in `_total` (the app config checks user
    /// names; built-in names are constants), which keeps its sample lines
    /// valid in both formats.
    pub fn counter(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        debug_assert!(
            name.ends_with("_total"),
            "counter {name} must end in _total"
        );
        Family::new(name, help, Kind::Counter, base)
    }

    pub fn histogram(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        Family::new(name, help, Kind::Histogram, base)
    }

    fn line(&mut self, suffix: &str, labels: &[(&str, &str)], le: Option<&str>, value: f64) {
        let out = &mut self.body;
        out.push_str(&self.name);
        out.push_str(suffix);
        if !self.base.is_empty() || !labels.is_empty() || le.is_some() {
            out.push('{');
            out.push_str(&self.base);
            let mut first = self.base.is_empty();
            if !labels.is_empty() {
                if !first {
                    out.push(',');
                }
                write_labels(out, labels);
                first = false;
            }
            if let Some(le) = le {
                if !first {
                    out.push(',');
                }
                out.push_str("le=\"");
                out.push_str(le);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        write_float(out, value);
        out.push('\n');
    }

    /// Adds one sample. Gauges and counters only.
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        debug_assert!(self.kind != Kind::Histogram);
        self.line("", labels, None, value);
        self.count += 1;
    }

    /// Adds one histogram sample from cumulative bucket counts.
    pub fn add_histogram(
        &mut self,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cumulative: &[u64],
        count: u64,
        sum: f64,
    ) {
        debug_assert!(self.kind == Kind::Histogram);
        let mut le = String::new();
        let mut inf_seen = false;
        for (b, c) in bounds.iter().zip(cumulative) {
            le.clear();
            write_float(&mut le, *b);
            inf_seen |= *b == f64::INFINITY;
            self.line("_bucket", labels, Some(&le), *c as f64);
        }
        if !inf_seen {
            self.line("_bucket", labels, Some("+Inf"), count as f64);
        }
        self.line("_sum", labels, None, sum);
        self.line("_count", labels, None, count as f64);
        self.count += 1;
    }

    /// Series added (a histogram's buckets, sum and count are one).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Ends construction, giving back the slack the body grew by.
    pub fn finish(mut self) -> Rendered {
        self.body.shrink_to_fit();
        Rendered {
            name: self.name,
            help: self.help,
            kind: self.kind,
            body: Bytes::from(self.body),
            count: self.count,
        }
    }

    /// Converts a family gathered from a `prometheus::Registry`: the tests
    /// compare the hand exposition with the crate's encoder through it.
    #[cfg(test)]
    pub fn from_proto(mf: &MetricFamily) -> Option<Rendered> {
        let kind = match mf.get_field_type() {
            MetricType::COUNTER => Kind::Counter,
            MetricType::GAUGE => Kind::Gauge,
            MetricType::HISTOGRAM => Kind::Histogram,
            // The registry holds neither.
            MetricType::SUMMARY | MetricType::UNTYPED => return None,
        };
        let mut f = Family::new(mf.name(), mf.help(), kind, &[]);
        for m in mf.get_metric() {
            let labels: Vec<(&str, &str)> = m
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            match kind {
                Kind::Counter => f.add(&labels, m.get_counter().get_value()),
                Kind::Gauge => f.add(&labels, m.get_gauge().get_value()),
                Kind::Histogram => {
                    let h = m.get_histogram();
                    let bounds: Vec<f64> = h.get_bucket().iter().map(|b| b.upper_bound()).collect();
                    let counts: Vec<u64> = h
                        .get_bucket()
                        .iter()
                        .map(|b| b.cumulative_count())
                        .collect();
                    f.add_histogram(
                        &labels,
                        &bounds,
                        &counts,
                        h.get_sample_count(),
                        h.get_sample_sum(),
                    );
                }
            }
        }
        Some(f.finish())
    }
}

impl Rendered {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Series (a histogram's buckets, sum and count are one).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sample lines as written.
    pub fn text(&self) -> &str {
        // Built from a String, never changed since.
        std::str::from_utf8(&self.body).unwrap_or("")
    }

    /// Reads the samples back: `(labels, value)` with the labels as written
    /// between the braces. For the few places that act on a value the
    /// exporter itself produced (the migration window), so no general
    /// parser is needed; [`label_value`] reads one label out of them.
    pub fn samples(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.text().lines().filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let labels = series
                .split_once('{')
                .map(|(_, rest)| rest.strip_suffix('}').unwrap_or(rest))
                .unwrap_or("");
            Some((labels, parse_float(v)?))
        })
    }
}

/// One label's value out of labels as [`Family::samples`] gives them,
/// unescaped.
pub fn label_value(labels: &str, key: &str) -> Option<String> {
    let mut rest = labels;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        if name == key {
            return Some(value);
        }
        rest = after[end + 1..].strip_prefix(',').unwrap_or("");
    }
    None
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    for (i, (n, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(n);
        out.push_str("=\"");
        escape_into(out, &truncate(v), true);
        out.push('"');
    }
}

/// Cuts a value to [`MAX_LABEL_VALUE_BYTES`] at a character boundary.
fn truncate(v: &str) -> std::borrow::Cow<'_, str> {
    if v.len() <= MAX_LABEL_VALUE_BYTES {
        return v.into();
    }
    let mut end = MAX_LABEL_VALUE_BYTES - 3;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &v[..end]).into()
}

/// Writes the families, grouped by name (HELP and TYPE from the first
/// family of each name), sorted by name, as the chunks of a response body:
/// the headers are new, the sample lines are the snapshots' own bytes.
/// Empty families are left out.
pub fn encode_chunks<'a>(
    families: impl IntoIterator<Item = &'a Rendered>,
    format: Format,
) -> Vec<Bytes> {
    let mut groups: BTreeMap<&str, Vec<&Rendered>> = BTreeMap::new();
    for f in families {
        if f.count > 0 {
            groups.entry(f.name.as_str()).or_default().push(f);
        }
    }
    let mut out = Vec::with_capacity(groups.len() * 3 + 1);
    let mut head = String::new();
    for (name, fams) in groups {
        let first = fams[0];
        let header_name = match (format, first.kind) {
            (Format::OpenMetrics, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let type_name = match first.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        head.clear();
        if !first.help.is_empty() {
            head.push_str("# HELP ");
            head.push_str(header_name);
            head.push(' ');
            escape_into(&mut head, &first.help, format == Format::OpenMetrics);
            head.push('\n');
        }
        head.push_str("# TYPE ");
        head.push_str(header_name);
        head.push(' ');
        head.push_str(type_name);
        head.push('\n');
        out.push(Bytes::copy_from_slice(head.as_bytes()));
        out.extend(fams.iter().map(|f| f.body.clone()));
    }
    if format == Format::OpenMetrics {
        out.push(Bytes::from_static(b"# EOF\n"));
    }
    out
}

/// [`encode_chunks`] as one string.
pub fn encode<'a>(families: impl IntoIterator<Item = &'a Rendered>, format: Format) -> String {
    let chunks = encode_chunks(families, format);
    let mut out = Vec::with_capacity(chunks.iter().map(Bytes::len).sum());
    for c in &chunks {
        out.extend_from_slice(c);
    }
    String::from_utf8(out).expect("rendered from strings")
}

/// Escapes `\`, newline and (in label values, or always in OpenMetrics) `"`.
fn escape_into(out: &mut String, s: &str, quotes: bool) {
    // Most values need no escaping: copy them whole.
    if !s
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quotes && b == b'"'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole numbers (counts, bytes, pids) are most samples: skip the
        // float formatter. Prints exactly what `{v}` would.
        let mut n = v.abs() as u64;
        if v.is_sign_negative() {
            out.push('-');
        }
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.push_str(std::str::from_utf8(&buf[i..]).expect("digits"));
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    fn sample_families() -> Vec<Rendered> {
        let mut g = Family::gauge(
            "pgmig_test_gauge",
            "A gauge.\nSecond line \\ here",
            &[("target", "a")],
        );
        g.add(&[("relation", "public.\"odd\"\nname\\x")], 3.0);
        g.add(&[("relation", "b")], f64::NAN);
        let mut c = Family::counter("pgmig_test_total", "A counter.", &[("target", "a")]);
        c.add(&[], 7.0);
        let mut h = Family::histogram("pgmig_test_seconds", "A histogram.", &[("target", "a")]);
        h.add_histogram(&[], &[0.5, 1.0], &[1, 3], 4, 6.5);
        vec![g.finish(), c.finish(), h.finish()]
    }

    /// The same families, made the `prometheus` crate's way.
    fn registry() -> prometheus::Registry {
        let r = prometheus::Registry::new();
        let g = prometheus::GaugeVec::new(
            prometheus::Opts::new("pgmig_test_gauge", "A gauge.\nSecond line \\ here"),
            &["target", "relation"],
        )
        .unwrap();
        g.with_label_values(&["a", "public.\"odd\"\nname\\x"])
            .set(3.0);
        g.with_label_values(&["a", "b"]).set(f64::NAN);
        let c = prometheus::IntCounterVec::new(
            prometheus::Opts::new("pgmig_test_total", "A counter."),
            &["target"],
        )
        .unwrap();
        c.with_label_values(&["a"]).inc_by(7);
        let h = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("pgmig_test_seconds", "A histogram.")
                .buckets(vec![0.5, 1.0]),
            &["target"],
        )
        .unwrap();
        for v in [0.25, 0.75, 0.75, 4.75] {
            h.with_label_values(&["a"]).observe(v);
        }
        r.register(Box::new(g)).unwrap();
        r.register(Box::new(c)).unwrap();
        r.register(Box::new(h)).unwrap();
        r
    }

    #[test]
    fn text_output_matches_the_prometheus_crate_encoder() {
        let gathered = registry().gather();
        let mut theirs = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&gathered, &mut theirs)
            .unwrap();
        let theirs = String::from_utf8(theirs).unwrap();
        let converted: Vec<Rendered> = gathered.iter().filter_map(Family::from_proto).collect();
        assert_eq!(encode(&converted, Format::Text), theirs);
        // Built directly, the same samples (in the registry's order: label
        // names and series sorted) give the same bytes.
        let mut fams = sample_families();
        let mut g = Family::gauge("pgmig_test_gauge", "A gauge.\nSecond line \\ here", &[]);
        g.add(&[("relation", "b"), ("target", "a")], f64::NAN);
        g.add(
            &[("relation", "public.\"odd\"\nname\\x"), ("target", "a")],
            3.0,
        );
        fams[0] = g.finish();
        assert_eq!(encode(&fams, Format::Text), theirs);
    }

    #[test]
    fn samples_read_back_what_was_written() {
        let fams = sample_families();
        let got: Vec<(String, f64)> = fams[0]
            .samples()
            .map(|(l, v)| (label_value(l, "relation").unwrap(), v))
            .collect();
        assert_eq!(got[0], ("public.\"odd\"\nname\\x".to_string(), 3.0));
        assert_eq!(got[1].0, "b");
        assert!(got[1].1.is_nan());
        assert_eq!(
            label_value("target=\"a\",relation=\"b\"", "target").as_deref(),
            Some("a")
        );
        assert_eq!(label_value("target=\"a\"", "missing"), None);
    }

    #[test]
    fn long_label_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_LABEL_VALUE_BYTES);
        let mut g = Family::gauge("pgmig_test_gauge", "A gauge.", &[]);
        g.add(&[("query", &long)], 1.0);
        let g = g.finish();
        let (labels, _) = g.samples().next().unwrap();
        let v = label_value(labels, "query").unwrap();
        assert!(v.len() <= MAX_LABEL_VALUE_BYTES, "{}", v.len());
        assert!(v.ends_with("..."));
        assert!(long.starts_with(v.trim_end_matches("...")));
    }

    #[test]
    fn families_of_one_name_from_two_snapshots_are_written_once() {
        let mut a = Family::gauge("pgmig_up", "Up.", &[("target", "a")]);
        a.add(&[], 1.0);
        let mut b = Family::gauge("pgmig_up", "Up.", &[("target", "b")]);
        b.add(&[], 0.0);
        let empty = Family::gauge("pgmig_empty", "Nothing.", &[]);
        let fams = [a.finish(), b.finish(), empty.finish()];
        let out = encode(&fams, Format::Text);
        assert_eq!(out.matches("# TYPE pgmig_up gauge").count(), 1);
        assert!(out.contains("pgmig_up{target=\"a\"} 1\npgmig_up{target=\"b\"} 0\n"));
        assert!(!out.contains("pgmig_empty"));
    }

    #[test]
    fn openmetrics_names_counters_without_total_and_ends_with_eof() {
        let out = encode(&sample_families(), Format::OpenMetrics);
        assert!(out.contains("# TYPE pgmig_test counter\n"));
        assert!(out.contains("pgmig_test_total{target=\"a\"} 7\n"));
        assert!(out.contains("pgmig_test_seconds_bucket{target=\"a\",le=\"+Inf\"} 4\n"));
        assert!(out.ends_with("# EOF\n"));
    }

    #[test]
    fn whole_numbers_print_as_the_formatter_would() {
        for v in [
            0.0,
            1.0,
            -3.0,
            42.0,
            1234567890123.0,
            999999999999999.0,
            -0.0,
            2.5,
            1e20,
        ] {
            let mut a = String::new();
            write_float(&mut a, v);
            assert_eq!(a, format!("{v}"), "{v}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let out = encode(&sample_families(), Format::Text);
        assert!(
            out.contains(r#"relation="public.\"odd\"\nname\\x""#),
            "{out}"
        );
        assert!(out.contains("pgmig_test_gauge{target=\"a\",relation=\"b\"} NaN"));
    }
}
