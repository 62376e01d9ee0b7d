//! The plan as JSON (the contract in docs/plan.md) and as text for people.

use std::fmt::Write as _;

use super::Migration;

pub fn json(ms: &[Migration]) -> String {
    let mut s =
        serde_json::to_string_pretty(ms).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

pub fn text(ms: &[Migration]) -> String {
    let mut o = String::new();
    let mut hazards = 0;
    for m in ms {
        let _ = writeln!(
            o,
            "{} {} {} ({}, {})",
            m.tool.as_str(),
            m.version,
            m.name,
            m.file.display(),
            if m.in_transaction {
                "in one transaction"
            } else {
                "no transaction"
            }
        );
        for s in &m.statements {
            let first = s.sql.lines().next().unwrap_or("");
            let _ = writeln!(
                o,
                "  {}:{} [{}] {}",
                m.file.display(),
                s.line,
                s.index,
                first
            );
            for (rel, mode) in &s.lock {
                let _ = writeln!(o, "      lock {rel}: {} ({})", mode.as_str(), mode.blocks());
            }
            if s.rewrites_table {
                let _ = writeln!(o, "      rewrites the table");
            }
            if !s.transactional {
                let _ = writeln!(o, "      cannot run inside a transaction");
            }
            for h in &s.hazards {
                hazards += 1;
                let _ = writeln!(o, "      HAZARD {}: {}", h.code, h.message);
            }
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        o,
        "{}, {}",
        plural(ms.len(), "migration"),
        plural(hazards, "hazard")
    );
    o
}
