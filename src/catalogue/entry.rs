//! The catalogue's entry types: a metric family and a section of
//! docs/metrics.md. In the base layer so that each collector can declare
//! the metrics it serves next to its code (`collector::Spec::catalogue`);
//! the assembled catalogue (`catalogue`) sits above the collectors.

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// Every label its series can carry (`le` of histograms left out).
    pub labels: &'static [&'static str],
    /// The `# HELP` text it is served with; `None` where the config
    /// supplies it (the app signals take their metric's `help`).
    pub help: Option<&'static str>,
    /// Where the value comes from, for docs/metrics.md.
    pub source: &'static str,
    /// The collector, or the part of the exporter, that serves it.
    pub collector: &'static str,
    /// The oldest PostgreSQL major version that has it; `None`: not from PostgreSQL.
    pub min_pg: Option<u32>,
}

/// A heading of docs/metrics.md with its text and its metrics.
pub struct Section {
    pub title: &'static str,
    /// Markdown between the heading and the table.
    pub intro: &'static str,
    pub metrics: &'static [Metric],
    /// Markdown after the table, up to the next heading.
    pub outro: &'static str,
}
