//! Building metric families from a snapshot, and writing them out in the
//! Prometheus text format (0.0.4) or OpenMetrics 1.0.
//!
//! Families use the `prometheus` crate's model types. Each collector run
//! builds its families fresh, so a series whose pid or relation has gone does
//! not linger. At scrape time the families of every snapshot and of the
//! self-metrics registry are grouped by name and written without copying: the
//! crate's own `TextEncoder` would need them merged into new families first.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

/// A metric family under construction. Every sample gets the base labels
/// (the target) first, then its own.
pub struct Family {
    mf: MetricFamily,
    base: Vec<LabelPair>,
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut l = LabelPair::default();
    l.set_name(name.to_string());
    l.set_value(value.to_string());
    l
}

impl Family {
    fn new(name: &str, help: &str, t: MetricType, base: &[(&str, &str)]) -> Family {
        let mut mf = MetricFamily::default();
        mf.set_name(name.to_string());
        mf.set_help(help.to_string());
        mf.set_field_type(t);
        Family {
            mf,
            base: base.iter().map(|(n, v)| label(n, v)).collect(),
        }
    }

    pub fn gauge(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        Family::new(name, help, MetricType::GAUGE, base)
    }

    pub fn counter(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        Family::new(name, help, MetricType::COUNTER, base)
    }

    pub fn histogram(name: &str, help: &str, base: &[(&str, &str)]) -> Family {
        Family::new(name, help, MetricType::HISTOGRAM, base)
    }

    fn metric(&self, labels: &[(&str, &str)]) -> Metric {
        let mut all = self.base.clone();
        all.extend(labels.iter().map(|(n, v)| label(n, v)));
        let mut m = Metric::default();
        m.set_label(all);
        m
    }

    /// Adds one sample. Gauges and counters only.
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let mut m = self.metric(labels);
        match self.mf.get_field_type() {
            MetricType::COUNTER => {
                let mut c = Counter::default();
                c.set_value(value);
                m.set_counter(c);
            }
            _ => {
                let mut g = Gauge::default();
                g.set_value(value);
                m.set_gauge(g);
            }
        }
        self.mf.mut_metric().push(m);
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
        let mut m = self.metric(labels);
        let mut h = Histogram::default();
        h.set_bucket(
            bounds
                .iter()
                .zip(cumulative)
                .map(|(b, c)| {
                    let mut bucket = Bucket::default();
                    bucket.set_upper_bound(*b);
                    bucket.set_cumulative_count(*c);
                    bucket
                })
                .collect(),
        );
        h.set_sample_count(count);
        h.set_sample_sum(sum);
        m.set_histogram(h);
        self.mf.mut_metric().push(m);
    }

    pub fn len(&self) -> usize {
        self.mf.get_metric().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(self) -> MetricFamily {
        self.mf
    }
}

/// Writes the families, grouped by name (HELP and TYPE from the first
/// family of each name), sorted by name. Empty families are left out.
pub fn encode<'a>(families: impl IntoIterator<Item = &'a MetricFamily>, format: Format) -> String {
    let mut groups: BTreeMap<&str, Vec<&MetricFamily>> = BTreeMap::new();
    let mut samples = 0usize;
    for mf in families {
        if !mf.get_metric().is_empty() {
            samples += mf.get_metric().len();
            groups.entry(mf.name()).or_default().push(mf);
        }
    }
    let mut out = String::with_capacity(samples * 128 + 64);
    for (name, fams) in groups {
        let first = fams[0];
        let t = first.get_field_type();
        let om_name = match (format, t) {
            (Format::OpenMetrics, MetricType::COUNTER) => {
                name.strip_suffix("_total").unwrap_or(name)
            }
            _ => name,
        };
        let type_name = match t {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::HISTOGRAM => "histogram",
            MetricType::SUMMARY => "summary",
            MetricType::UNTYPED => match format {
                Format::Text => "untyped",
                Format::OpenMetrics => "unknown",
            },
        };
        if !first.help().is_empty() {
            out.push_str("# HELP ");
            out.push_str(om_name);
            out.push(' ');
            escape_into(&mut out, first.help(), format == Format::OpenMetrics);
            out.push('\n');
        }
        out.push_str("# TYPE ");
        out.push_str(om_name);
        out.push(' ');
        out.push_str(type_name);
        out.push('\n');
        for mf in fams {
            for m in mf.get_metric() {
                match t {
                    MetricType::COUNTER => {
                        let n = if format == Format::OpenMetrics && !name.ends_with("_total") {
                            format!("{name}_total")
                        } else {
                            name.to_string()
                        };
                        sample(
                            &mut out,
                            &n,
                            m.get_label(),
                            None,
                            m.get_counter().get_value(),
                        );
                    }
                    MetricType::GAUGE => sample(
                        &mut out,
                        name,
                        m.get_label(),
                        None,
                        m.get_gauge().get_value(),
                    ),
                    MetricType::HISTOGRAM => {
                        let h = m.get_histogram();
                        let bucket_name = format!("{name}_bucket");
                        let mut inf_seen = false;
                        let mut le = String::new();
                        for b in h.get_bucket() {
                            le.clear();
                            write_float(&mut le, b.upper_bound());
                            inf_seen |= b.upper_bound() == f64::INFINITY;
                            sample(
                                &mut out,
                                &bucket_name,
                                m.get_label(),
                                Some(&le),
                                b.cumulative_count() as f64,
                            );
                        }
                        if !inf_seen {
                            sample(
                                &mut out,
                                &bucket_name,
                                m.get_label(),
                                Some("+Inf"),
                                h.get_sample_count() as f64,
                            );
                        }
                        sample(
                            &mut out,
                            &format!("{name}_sum"),
                            m.get_label(),
                            None,
                            h.get_sample_sum(),
                        );
                        sample(
                            &mut out,
                            &format!("{name}_count"),
                            m.get_label(),
                            None,
                            h.get_sample_count() as f64,
                        );
                    }
                    // The exporter builds neither; the self-metrics registry has none.
                    MetricType::SUMMARY | MetricType::UNTYPED => {}
                }
            }
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn sample(out: &mut String, name: &str, labels: &[LabelPair], le: Option<&str>, value: f64) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for l in labels {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(l.name());
            out.push_str("=\"");
            escape_into(out, l.value(), true);
            out.push('"');
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

    fn sample_families() -> Vec<MetricFamily> {
        let mut g = Family::gauge(
            "pgmig_test_gauge",
            "A gauge.\nSecond line \\ here",
            &[("target", "a")],
        );
        g.add(&[("relation", "public.\"odd\"\nname\\x")], 3.0);
        g.add(&[("relation", "b")], f64::NAN);
        let mut c = Family::counter("pgmig_test_total", "A counter.", &[("target", "a")]);
        c.add(&[], 7.0);
        let mut h = Family::new(
            "pgmig_test_seconds",
            "A histogram.",
            MetricType::HISTOGRAM,
            &[("target", "a")],
        );
        h.add_histogram(&[], &[0.5, 1.0], &[1, 3], 4, 6.5);
        vec![g.finish(), c.finish(), h.finish()]
    }

    #[test]
    fn text_output_matches_the_prometheus_crate_encoder() {
        let fams = sample_families();
        let mut sorted = fams.clone();
        sorted.sort_by(|a, b| a.name().cmp(b.name()));
        let mut theirs = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&sorted, &mut theirs)
            .unwrap();
        assert_eq!(
            encode(&fams, Format::Text),
            String::from_utf8(theirs).unwrap()
        );
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
