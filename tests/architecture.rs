//! The module graph of src/: no cycle, and imports point down the layers.
//!
//! Reads every file under src/, takes the paths it names (`crate::...`,
//! `super::...`, `self::...`; in lib.rs the crate's own top-level modules,
//! in main.rs `pg_migration_exporter::...`), leaving out `#[cfg(test)]`
//! items, comments and string literals, and resolves each path to the
//! deepest module it names. A module may use its own submodules (declaring,
//! re-exporting and dispatching to them is what a parent is for); every
//! other edge counts. The graph must have no cycle, and no module may import
//! one in a higher layer ([`LAYERS`]). docs/architecture.md explains the
//! layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first. A module belongs to the layer of the longest
/// entry that is it or one of its ancestors. Every module must have one.
const LAYERS: &[(&str, &[&str])] = &[
    // Leaf libraries: know no other part of the exporter.
    (
        "base",
        &[
            "duration",
            "evidence",
            "limits",
            "yamlpos",
            "conninfo",
            "exposition",
            "catalogue::entry",
            // Migration files to plans: the config plans the configured
            // migrations at load; only its `cli` is the subcommand's edge.
            "plan",
            "serverlog::follow",
            "serverlog::parse",
            "serverlog::sqlstate",
        ],
    ),
    // Parsed, typed settings.
    (
        "config",
        &[
            "config",
            "webconfig",
            "expected",
            "app::config",
            "app::signals",
        ],
    ),
    // SQL rows and log lines to samples; the sessions they run on.
    (
        "collectors",
        &["collector", "app", "db", "tls", "serverlog"],
    ),
    // What the background tasks publish and the server reads; the
    // exporter's self-metrics (collectors report observations instead) and
    // process metrics; the catalogue of what is served (it gathers each
    // registered collector's section).
    (
        "state",
        &["state", "window", "selfmetrics", "process", "catalogue"],
    ),
    // Scheduling: the lanes and the server-log task.
    ("poller", &["poller"]),
    ("http", &["http"]),
    // The edge: command line, logging setup, wiring; the offline `plan`
    // subcommand (it never talks to a running exporter).
    ("main", &["lib", "main", "cli", "logging", "plan::cli"]),
];

// ---- reading sources --------------------------------------------------------

/// Replaces comments and the insides of string and char literals with
/// spaces, so that braces and paths in them do not count.
fn blank_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in out.iter_mut().take(to).skip(from) {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |e| i + e);
            blank(&mut out, i, end);
            i = end;
        } else if c == b'/' && next == Some(b'*') {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            blank(&mut out, i, end);
            i = end;
        } else if c == b'r' && (next == Some(b'"') || next == Some(b'#')) && !ident_before(b, i) {
            let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = src[start..]
                .find(&close)
                .map_or(b.len(), |e| start + e + close.len());
            blank(&mut out, start, end - close.len());
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j.min(b.len()));
            i = j + 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime.
            let j = if next == Some(b'\\') {
                src[i + 2..].find('\'').map(|e| i + 2 + e)
            } else {
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
            };
            match j {
                Some(j) => {
                    blank(&mut out, i + 1, j);
                    i = j + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Removes every item marked `#[cfg(test)]` (a test module, a test-only
/// function or import): up to its `;` or the end of its block.
fn strip_test_items(src: &str) -> String {
    let mut s = src.to_string();
    while let Some(at) = s.find("#[cfg(test)]") {
        let b = s.as_bytes();
        let mut i = at + "#[cfg(test)]".len();
        let mut depth = 0usize;
        while i < b.len() {
            match b[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        s.replace_range(at..i.min(s.len()), "");
    }
    s
}

/// Every module of the crate and its source, keyed by path (`config`,
/// `serverlog::parse`); src/lib.rs is `lib`, src/main.rs is `main`.
fn read_modules(src: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                let text = std::fs::read_to_string(&path).expect("read a source file");
                out.insert(parts.join("::"), text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

// ---- paths to edges ----------------------------------------------------------

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The paths of a use tree or expression path that starts at `i`
/// (just after `crate::` or similar), as lists of segments.
fn paths_at(b: &[u8], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut segs = prefix;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return i + 1;
                }
                i = paths_at(b, i, segs.clone(), out);
                // Skip `as alias` and anything else up to the next item.
                while i < b.len() && b[i] != b',' && b[i] != b'}' {
                    i += 1;
                }
            }
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if i > start {
            let seg = String::from_utf8_lossy(&b[start..i]).into_owned();
            if seg != "self" {
                segs.push(seg);
            }
        }
        if b.get(i) == Some(&b':') && b.get(i + 1) == Some(&b':') {
            i += 2;
            continue;
        }
        out.push(segs);
        return i;
    }
}

/// The modules `module` imports, given its source and the known modules.
pub fn edges_of(module: &str, src: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let text = strip_test_items(&blank_literals(src));
    let b = text.as_bytes();
    let own: Vec<String> = if module == "lib" || module == "main" {
        Vec::new()
    } else {
        module.split("::").map(str::to_string).collect()
    };
    let parent = own[..own.len().saturating_sub(1)].to_vec();
    let mut roots: Vec<(String, Vec<String>)> = vec![
        ("crate::".into(), Vec::new()),
        ("super::".into(), parent),
        ("self::".into(), own.clone()),
    ];
    if module == "main" {
        roots.push(("pg_migration_exporter::".into(), Vec::new()));
    }
    if module == "lib" {
        for m in modules.iter().filter(|m| !m.contains("::")) {
            roots.push((format!("{m}::"), vec![m.clone()]));
        }
    }
    let mut paths = Vec::new();
    for (root, prefix) in &roots {
        let mut from = 0;
        while let Some(pos) = text[from..].find(root.as_str()) {
            let at = from + pos;
            from = at + root.len();
            if ident_before(b, at) || (at >= 2 && &b[at - 2..at] == b"::") {
                continue;
            }
            paths_at(b, from, prefix.clone(), &mut paths);
        }
    }
    let me = if own.is_empty() {
        module.to_string()
    } else {
        own.join("::")
    };
    paths
        .iter()
        .filter_map(|p| {
            (1..=p.len())
                .rev()
                .map(|k| p[..k].join("::"))
                .find(|m| modules.contains(m))
                .or_else(|| Some("lib".to_string()))
        })
        .filter(|m| *m != me && !m.starts_with(&format!("{me}::")))
        .collect()
}

pub fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, src)| (m.clone(), edges_of(m, src, &names)))
        .collect()
}

// ---- checks ------------------------------------------------------------------

/// The cycles of the graph: one path per strongly connected component of
/// more than one module, written `a -> b -> a`.
pub fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    // Two modules are in one component when each reaches the other.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in g.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for (m, r) in &reaches {
        if done.contains(*m) || !r.contains(*m) {
            continue;
        }
        let comp: BTreeSet<String> = r
            .iter()
            .filter(|n| reaches.get(n).is_some_and(|rn| rn.contains(*m)))
            .cloned()
            .collect();
        done.extend(comp.iter().cloned());
        out.push(cycle_path(g, m, &comp));
    }
    out
}

/// A shortest path from `m` back to itself inside its component.
fn cycle_path(g: &BTreeMap<String, BTreeSet<String>>, m: &str, comp: &BTreeSet<String>) -> String {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([m.to_string()]);
    while let Some(x) = queue.pop_front() {
        for n in g
            .get(&x)
            .into_iter()
            .flatten()
            .filter(|n| comp.contains(*n))
        {
            if n == m {
                let mut path = vec![m.to_string(), x.clone()];
                let mut cur = x.clone();
                while let Some(p) = prev.get(&cur) {
                    path.push(p.clone());
                    cur = p.clone();
                }
                path.reverse();
                return path.join(" -> ");
            }
            if !prev.contains_key(n) && n != m {
                prev.insert(n.clone(), x.clone());
                queue.push_back(n.clone());
            }
        }
    }
    m.to_string()
}

/// The layer index of a module: the longest entry that is it or an ancestor.
pub fn layer_of(module: &str, layers: &[(&str, &[&str])]) -> Option<usize> {
    layers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, ms))| ms.iter().map(move |m| (i, *m)))
        .filter(|(_, m)| module == *m || module.starts_with(&format!("{m}::")))
        .max_by_key(|(_, m)| m.len())
        .map(|(i, _)| i)
}

/// Modules without a layer, and imports that point up.
pub fn layer_problems(
    g: &BTreeMap<String, BTreeSet<String>>,
    layers: &[(&str, &[&str])],
) -> Vec<String> {
    let mut out = Vec::new();
    for (m, deps) in g {
        let Some(lm) = layer_of(m, layers) else {
            out.push(format!(
                "{m} has no layer: add it to LAYERS in tests/architecture.rs"
            ));
            continue;
        };
        for d in deps {
            if let Some(ld) = layer_of(d, layers) {
                if ld > lm {
                    out.push(format!(
                        "{m} ({}) imports {d} ({}), a higher layer",
                        layers[lm].0, layers[ld].0
                    ));
                }
            }
        }
    }
    out
}

fn crate_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    graph(&read_modules(&src))
}

// ---- the crate ---------------------------------------------------------------

#[test]
fn the_crate_has_no_module_cycle() {
    let g = crate_graph();
    assert!(g.len() > 30, "read only {} modules", g.len());
    let found = cycles(&g);
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn imports_point_down_the_layers() {
    let problems = layer_problems(&crate_graph(), LAYERS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the layers alone would allow but must never happen, directly or
/// through other modules: (module, modules it must not reach).
const NEVER_REACHES: &[(&str, &[&str])] = &[
    // A scrape renders snapshots; it never waits on PostgreSQL.
    ("http", &["db", "collector", "poller", "app::collector"]),
    // Collectors return samples and observations; the poller records.
    ("collector", &["selfmetrics", "state", "poller", "http"]),
    (
        "app::collector",
        &["selfmetrics", "state", "poller", "http"],
    ),
];

/// The modules `from` reaches through any number of imports.
fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if seen.insert(n.clone()) {
                todo.push(n.clone());
            }
        }
    }
    seen
}

#[test]
fn http_never_reaches_the_database_and_collectors_never_reach_state() {
    let g = crate_graph();
    let mut problems = Vec::new();
    for (from, banned) in NEVER_REACHES {
        for m in g
            .keys()
            .filter(|m| *m == from || m.starts_with(&format!("{from}::")))
        {
            let r = reaches(&g, m);
            for b in *banned {
                if r.iter().any(|x| x == b || x.starts_with(&format!("{b}::"))) {
                    problems.push(format!("{m} reaches {b}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker sees real edges of the crate (so that an empty graph cannot
/// pass the two tests above).
#[test]
fn the_checker_reads_the_crates_imports() {
    let g = crate_graph();
    let has = |a: &str, b: &str| g.get(a).is_some_and(|d| d.contains(b));
    assert!(has("poller", "state"), "{:?}", g.get("poller"));
    assert!(
        has("collector::locks", "collector"),
        "{:?}",
        g.get("collector::locks")
    );
    assert!(has("lib", "poller::targets"), "{:?}", g.get("lib"));
    assert!(has("main", "config"), "{:?}", g.get("main"));
    assert!(has("http", "state"), "{:?}", g.get("http"));
}

/// One import added back into the real sources brings a cycle and an upward
/// import, and both checks report them.
#[test]
fn an_import_added_back_is_caught() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = read_modules(&src);
    modules
        .get_mut("config")
        .expect("src/config.rs")
        .push_str("\nfn _main_db() { let _ = crate::poller::spawn; }\n");
    let g = graph(&modules);
    let found = cycles(&g);
    assert!(
        found
            .iter()
            .any(|c| c.contains("config") && c.contains("poller")),
        "{found:?}"
    );
    let problems = layer_problems(&g, LAYERS);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("config (config) imports poller")),
        "{problems:?}"
    );
}

// ---- the checker on made-up input --------------------------------------------

fn synthetic(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    graph(
        &files
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect(),
    )
}

#[test]
fn checker_finds_a_cycle_through_use_trees_and_super() {
    let g = synthetic(&[
        ("a", "use crate::{b::{self, X}, d};\nfn f() {}"),
        ("b", "pub struct X;\nfn g() { crate::c::h() }"),
        ("c", "pub fn h() { let _ = super::a::f; }"),
        ("d", "pub fn k() {}"),
    ]);
    assert_eq!(g["a"], BTreeSet::from(["b".into(), "d".into()]));
    assert_eq!(g["c"], BTreeSet::from(["a".into()]));
    let found = cycles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a -> b -> c -> a"), "{found:?}");
}

#[test]
fn checker_ignores_tests_comments_strings_and_own_submodules() {
    let g = synthetic(&[
        ("a", "pub mod sub;\nfn f() { sub::g(); self::sub::g(); }\n// crate::b::x\nconst S: &str = \"crate::b::y\";"),
        ("a::sub", "use super::f;\n#[cfg(test)]\nmod tests { use crate::b::X; fn t() { if true { } } }"),
        ("b", "use crate::a::f;\n#[cfg(test)]\nuse crate::a::sub;\nfn x() { let c = '{'; }"),
    ]);
    assert!(g["a"].is_empty(), "{:?}", g["a"]);
    assert_eq!(g["a::sub"], BTreeSet::from(["a".into()]));
    assert_eq!(g["b"], BTreeSet::from(["a".into()]));
    assert!(cycles(&g).is_empty());
}

#[test]
fn checker_reports_upward_imports_and_modules_without_a_layer() {
    let layers: &[(&str, &[&str])] = &[("low", &["low"]), ("high", &["high", "x::y"])];
    let g = synthetic(&[
        ("low", "use crate::high::Thing;"),
        ("high", "use crate::low::Other;"),
        ("x", "fn f() {}"),
        ("x::y", "use crate::low::Other;"),
    ]);
    let problems = layer_problems(&g, layers);
    assert!(
        problems.contains(&"low (low) imports high (high), a higher layer".to_string()),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("x has no layer")),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(layer_of("x::y::z", layers), Some(1));
}

/// `cargo test --test architecture -- --ignored --nocapture print_the_graph`
/// prints every module with its layer and imports.
#[test]
#[ignore]
fn print_the_graph() {
    for (m, deps) in crate_graph() {
        let layer = layer_of(&m, LAYERS).map_or("?", |l| LAYERS[l].0);
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("{m} [{layer}] -> {}", deps.join(", "));
    }
}

// ---- the window's evidence ---------------------------------------------------

/// What in `source` reads rendered families back: a call of `label_value`,
/// or a parameter taking a slice of rendered families (`&[&Rendered]`,
/// with or without a path). Line comments are skipped.
fn reads_rendered_back(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut found = Vec::new();
    if compact.contains("label_value") {
        found.push("calls label_value".to_string());
    }
    for (at, _) in compact.match_indices("Rendered]") {
        let open = compact[..at].rfind('[').unwrap_or(0);
        if compact[open..].starts_with("[&") {
            found.push(format!("takes {}", &compact[open..at + "Rendered]".len()]));
        }
    }
    found
}

/// The window weighs typed evidence (`evidence::WindowEvidence`, kept with
/// each snapshot); it never parses the families it serves back.
#[test]
fn the_window_never_reads_rendered_families_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for file in ["window.rs", "lib.rs"] {
        let text = std::fs::read_to_string(src.join(file)).expect("read source");
        for p in reads_rendered_back(&text) {
            problems.push(format!("src/{file} {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_rendered_read_back_scan_finds_what_it_looks_for() {
    let old = "pub fn observe(families: &[&Rendered]) -> Observed {\n    let c = label_value(l, \"command\");\n}";
    assert_eq!(
        reads_rendered_back(old).len(),
        2,
        "{:?}",
        reads_rendered_back(old)
    );
    let pathed = "fn f(x: &[ &crate::exposition::Rendered ]) {}";
    assert_eq!(reads_rendered_back(pathed).len(), 1);
    let fine =
        "// label_value was used here once\npub fn families(&self) -> Vec<Rendered> { todo!() }";
    assert!(
        reads_rendered_back(fine).is_empty(),
        "{:?}",
        reads_rendered_back(fine)
    );
}
