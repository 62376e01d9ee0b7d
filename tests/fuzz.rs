//! Property-based fuzzing (issue 8) of the two parsers of untrusted input:
//! the config loader (any bytes, and mutations of the corpus in
//! tests/fuzz/corpus/config) and the exposition writer (any label value,
//! help text and value, seeded from tests/fuzz/corpus/labels).
//!
//! Properties: the loader never panics and every error names the file; the
//! writer's output parses back, in both formats, to exactly the values that
//! went in (cut to the label length limit).
//!
//! `cargo test --test fuzz` runs 256 cases per property (what scripts/test
//! does); a longer run: `PROPTEST_CASES=50000 cargo test --release --test fuzz`.
//! A failing case is shrunk and printed, and saved under
//! tests/fuzz/regressions to be replayed first on every later run.

use std::path::{Path, PathBuf};

use pg_migration_exporter::config::{FlagValues, Settings};
use pg_migration_exporter::exposition::{encode, Family, Format, MAX_LABEL_VALUE_BYTES};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn config() -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz/regressions/fuzz.txt"
        )))),
        ..Config::default()
    }
}

/// One edit of a seed: bytes from YAML's own punctuation are the likeliest
/// to reach deep into the parser.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let yamlish =
        prop::sample::select(b":{}[]-&*!|>'\"#%@`,? \n\t\\0123456789abcdefnultrue~.".to_vec());
    prop_oneof![
        (any::<usize>(), prop::collection::vec(yamlish.clone(), 1..8))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1..16usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), yamlish).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(mut seed: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = seed.len().max(1);
        match e {
            Edit::Insert(i, b) => {
                let at = i % (seed.len() + 1);
                seed.splice(at..at, b.iter().copied());
            }
            Edit::Delete(i, n) if !seed.is_empty() => {
                let at = i % len;
                let end = (at + n).min(seed.len());
                seed.drain(at..end);
            }
            Edit::Replace(i, b) if !seed.is_empty() => {
                let at = i % len;
                seed[at] = *b;
            }
            Edit::Duplicate(i, n) if !seed.is_empty() => {
                let at = i % len;
                let end = (at + n).min(seed.len());
                let copy: Vec<u8> = seed[at..end].to_vec();
                seed.splice(end..end, copy);
            }
            _ => {}
        }
    }
    seed
}

fn load(bytes: &[u8]) {
    let dir = std::env::temp_dir().join(format!("pgmig-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("case.yml");
    std::fs::write(&p, bytes).unwrap();
    let flags = FlagValues {
        config_file: Some(p.clone()),
        ..FlagValues::default()
    };
    let env = [(
        "PGMIG_DATABASE_URL".to_string(),
        "postgres://fuzz@127.0.0.1/fuzz".to_string(),
    )];
    // Ok or Err are both fine; a panic fails the property.
    if let Err(e) = Settings::load_with_env(&flags, &env) {
        let msg = e.to_string();
        assert!(!msg.is_empty());
        // Errors from the file name it; others (a target, a flag) name theirs.
        if let pg_migration_exporter::config::ConfigError::File { file, .. } = &e {
            assert_eq!(file, &p.display().to_string(), "{msg}");
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_loader_survives_mutated_corpus_files(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..12),
    ) {
        let seeds = corpus("config");
        let seed = seeds[pick.index(seeds.len())].clone();
        load(&apply(seed, &edits));
    }

    #[test]
    fn config_loader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load(&bytes);
    }

    #[test]
    fn config_loader_survives_arbitrary_yaml_like_text(text in "[a-z_:{}\\[\\]\\-&*!|>'\" \n#0-9.]{0,300}") {
        load(text.as_bytes());
    }
}

/// What a label value must read back as: the value, cut like the writer cuts it.
fn expected(v: &str) -> String {
    if v.len() <= MAX_LABEL_VALUE_BYTES {
        return v.to_string();
    }
    let mut end = MAX_LABEL_VALUE_BYTES - 3;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &v[..end])
}

/// A strict reader of one sample line, written independently of the
/// exporter: name, `{` labels `}`, one space, value. Returns the label
/// values in order and the value.
fn read_sample(line: &str) -> (String, Vec<(String, String)>, String) {
    let brace = line.find('{').expect("labels");
    let name = line[..brace].to_string();
    let mut labels = Vec::new();
    let mut rest = &line[brace + 1..];
    loop {
        if let Some(after) = rest.strip_prefix("} ") {
            return (name, labels, after.to_string());
        }
        rest = rest.strip_prefix(',').unwrap_or(rest);
        let eq = rest.find("=\"").expect("label=\"");
        let key = rest[..eq].to_string();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("closing quote");
            match c {
                '\\' => match chars.next().expect("escaped char").1 {
                    'n' => value.push('\n'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    other => panic!("unknown escape \\{other} in {line:?}"),
                },
                '"' => break eq + 2 + i + 1,
                '\n' => panic!("raw newline in {line:?}"),
                c => value.push(c),
            }
        };
        labels.push((key, value));
        rest = &rest[end..];
    }
}

fn label_value() -> impl Strategy<Value = String> {
    let seeds: Vec<String> = corpus("labels")
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    prop_oneof![
        any::<String>(),
        "[\"\\\\\n a-z✓]{0,40}",
        prop::sample::select(seeds.clone()),
        (prop::sample::select(seeds), any::<String>()).prop_map(|(a, b)| a + &b),
        // Around the length limit, with multi-byte characters at the cut.
        (1000..1100usize, "[xé✓🐘\"\\\\\n]").prop_map(|(n, c)| c.repeat(n / c.len().max(1) + 1)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hostile_label_values_read_back_exactly_in_both_formats(
        values in prop::collection::vec(label_value(), 1..6),
        help in any::<String>(),
        value in any::<f64>(),
        target in label_value(),
    ) {
        let mut g = Family::gauge("pgmig_fuzz_gauge", &help, &[("target", &target)]);
        let mut c = Family::counter("pgmig_fuzz_total", &help, &[("target", &target)]);
        for v in &values {
            g.add(&[("relation", v), ("other", "x")], value);
            c.add(&[("relation", v)], value.abs());
        }
        let fams = [g.finish(), c.finish()];
        for format in [Format::Text, Format::OpenMetrics] {
            let out = encode(&fams, format);
            let mut seen = 0;
            for line in out.lines() {
                if line.starts_with('#') {
                    // HELP is escaped too: no line of it can be taken for a sample.
                    prop_assert!(line.starts_with("# HELP pgmig_fuzz") || line.starts_with("# TYPE pgmig_fuzz") || line == "# EOF", "{line:?}");
                    continue;
                }
                let (name, labels, v) = read_sample(line);
                prop_assert!(name == "pgmig_fuzz_gauge" || name == "pgmig_fuzz_total");
                prop_assert_eq!(&labels[0], &("target".to_string(), expected(&target)));
                prop_assert_eq!(&labels[1].0, "relation");
                prop_assert!(values.iter().any(|x| expected(x) == labels[1].1), "{:?}", labels[1].1);
                let back: f64 = match v.as_str() {
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    "NaN" => f64::NAN,
                    s => s.parse().unwrap(),
                };
                let want = if name == "pgmig_fuzz_total" { value.abs() } else { value };
                prop_assert!(back == want || (back.is_nan() && want.is_nan()), "{v} vs {want}");
                seen += 1;
            }
            prop_assert_eq!(seen, values.len() * 2);
            if format == Format::OpenMetrics {
                prop_assert!(out.ends_with("# EOF\n"));
            }
        }
    }
}
