//! What the analysis of one statement shares with the next and with the
//! per-command analysers ([`super::analyze`], [`super::alter`]): the state a
//! set of migrations and one migration carry ([`SetState`], [`FileState`],
//! [`Ctx`]), what one statement does ([`Facts`]) and the helpers that name
//! relations, types and defaults the way PostgreSQL does. Knows no statement
//! kind: dispatching on statements is analyze's and alter's.

use std::collections::{BTreeMap, HashMap, HashSet};

use pg_query::protobuf::{ConstrType, Node, RangeVar, TypeName};
use pg_query::{NodeEnum, NodeRef};

use super::hazards::hazard;
use super::locks::LockMode;
use super::{Hazard, Object};

/// What earlier migrations of the same run established.
#[derive(Debug, Default)]
pub struct SetState {
    /// index -> its table
    pub index_table: HashMap<String, String>,
    /// `schema.table.constraint` -> what it is
    pub constraints: HashMap<String, ConInfo>,
    /// `schema.table.column` -> type name as written (`varchar(20)`)
    pub columns: HashMap<String, String>,
    /// table -> tables its foreign keys reference
    pub references: HashMap<String, Vec<String>>,
    /// `schema.table.column` with a validated CHECK (column IS NOT NULL)
    pub not_null_checked: HashSet<String>,
    pub enums: HashSet<String>,
    /// materialized view -> the relations its query reads
    pub matview_sources: HashMap<String, Vec<String>>,
}

impl SetState {
    /// After ALTER TABLE old RENAME TO new, what was known of `old` holds for `new`.
    pub(super) fn rename_table(&mut self, old: &str, new: &str) {
        let swap = |v: &mut String| {
            if v == old {
                *v = new.to_string();
            }
        };
        self.index_table.values_mut().for_each(swap);
        self.references.values_mut().flatten().for_each(swap);
        for i in self.constraints.values_mut() {
            if let Some(f) = i.foreign_table.as_mut() {
                swap(f);
            }
        }
        self.matview_sources.values_mut().flatten().for_each(swap);
        if let Some(r) = self.references.remove(old) {
            self.references.insert(new.to_string(), r);
        }
        let prefix = format!("{old}.");
        let rekey = |k: &String| match k.strip_prefix(&prefix) {
            Some(rest) => format!("{new}.{rest}"),
            None => k.clone(),
        };
        self.constraints = self
            .constraints
            .drain()
            .map(|(k, v)| (rekey(&k), v))
            .collect();
        self.columns = self.columns.drain().map(|(k, v)| (rekey(&k), v)).collect();
        self.not_null_checked = self.not_null_checked.drain().map(|k| rekey(&k)).collect();
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConInfo {
    pub foreign_table: Option<String>,
    /// The column of a `CHECK (col IS NOT NULL)`.
    pub not_null_of: Option<String>,
}

/// What one migration carries from statement to statement.
#[derive(Debug, Default)]
pub struct FileState {
    pub lock_timeout: bool,
    pub explicit_tx: bool,
    /// Tables created earlier in this migration: nobody else uses them yet.
    pub created: HashSet<String>,
}

/// What one statement does, built up by the analysis.
#[derive(Debug)]
pub struct Facts {
    pub lock: BTreeMap<String, LockMode>,
    pub rewrites: bool,
    pub transactional: bool,
    pub hazards: Vec<Hazard>,
    pub creates: Vec<Object>,
    pub drops: Vec<Object>,
}

impl Facts {
    pub(super) fn new() -> Facts {
        Facts {
            lock: BTreeMap::new(),
            rewrites: false,
            transactional: true,
            hazards: Vec::new(),
            creates: Vec::new(),
            drops: Vec::new(),
        }
    }
    pub fn lock(&mut self, rel: &str, mode: LockMode) {
        let e = self.lock.entry(rel.to_string()).or_insert(mode);
        *e = (*e).max(mode);
    }
    pub fn hazard(&mut self, code: &'static str, subject: &str) {
        if !self.hazards.iter().any(|h| h.code == code) {
            self.hazards.push(hazard(code, subject));
        }
    }
    pub fn create(&mut self, kind: &'static str, name: String) {
        self.creates.push(Object { kind, name });
    }
    pub fn drop(&mut self, kind: &'static str, name: String) {
        self.drops.push(Object { kind, name });
    }
}

/// The analysis context: the set's and the migration's state.
pub struct Ctx<'a> {
    pub set: &'a mut SetState,
    pub file: &'a mut FileState,
}

impl Ctx<'_> {
    /// Whether `table` existed before this migration (so it may hold rows
    /// and be in use).
    pub fn existing(&self, table: &str) -> bool {
        !self.file.created.contains(table)
    }
}

pub fn has_option(opts: &[Node], name: &str) -> bool {
    opts.iter()
        .any(|o| matches!(o.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == name))
}

/// `schema.relation`, `public` when the statement does not say, each part
/// written so that `to_regclass()` reads it back (see [`quote_ident`]).
pub fn qualify(rv: &RangeVar) -> String {
    let schema = if rv.schemaname.is_empty() {
        "public"
    } else {
        rv.schemaname.as_str()
    };
    format!("{}.{}", quote_ident(schema), quote_ident(&rv.relname))
}

/// An identifier as `to_regclass()` reads it: bare when it is lower case
/// letters, digits, `_` and `$` (not leading), double-quoted otherwise.
/// Keywords need no quotes there (unlike in SQL).
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

pub fn schema_of(rel: &str) -> &str {
    rel.split_once('.').map_or("public", |(s, _)| s)
}

/// The relation's own name, unquoted.
pub fn relname_of(rel: &str) -> String {
    let r = rel.split_once('.').map_or(rel, |(_, r)| r);
    match r.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => r.to_string(),
    }
}

/// Strings of a name list (`{schema, name}` or `{name}`).
pub fn strings(list: &[Node]) -> Vec<String> {
    list.iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// A qualified object name from a name list, `public` by default.
pub fn qualify_list(parts: &[String]) -> String {
    match parts {
        [n] => format!("public.{}", quote_ident(n)),
        [.., s, n] => format!("{}.{}", quote_ident(s), quote_ident(n)),
        [] => String::new(),
    }
}

pub fn type_text(t: &TypeName) -> String {
    let names = strings(&t.names);
    let base = names.last().cloned().unwrap_or_default();
    let mods: Vec<String> = t
        .typmods
        .iter()
        .filter_map(|m| match m.node.as_ref() {
            Some(NodeEnum::AConst(c)) => match &c.val {
                Some(pg_query::protobuf::a_const::Val::Ival(i)) => Some(i.ival.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let arr = if t.array_bounds.is_empty() { "" } else { "[]" };
    if mods.is_empty() {
        format!("{base}{arr}")
    } else {
        format!("{base}({}){arr}", mods.join(","))
    }
}

/// Whether a default expression is one PostgreSQL evaluates once for the
/// whole table (constants, stable functions); anything else is volatile or
/// unknown and makes ADD COLUMN rewrite.
pub fn default_is_constant(expr: &NodeEnum) -> bool {
    const STABLE: &[&str] = &[
        "now",
        "statement_timestamp",
        "transaction_timestamp",
        "current_setting",
        "lower",
        "upper",
        "to_jsonb",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "array_fill",
        "make_interval",
        "make_date",
        "to_timestamp",
        "to_date",
        "length",
        "btrim",
        "concat",
        "coalesce",
    ];
    expr.nodes().iter().all(|(n, _, _, _)| match n {
        NodeRef::FuncCall(fc) => strings(&fc.funcname)
            .last()
            .is_some_and(|f| STABLE.contains(&f.as_str())),
        NodeRef::SubLink(_) => false,
        _ => true,
    })
}

/// The default name PostgreSQL gives an unnamed constraint or index:
/// `<table>_<columns>_<label>` (not truncated to 63 bytes here).
pub fn default_name(table: &str, cols: &[String], label: &str) -> String {
    let t = relname_of(table);
    if cols.is_empty() {
        format!("{t}_{label}")
    } else {
        format!("{t}_{}_{label}", cols.join("_"))
    }
}

pub fn is_constraint(n: &Node, want: ConstrType) -> bool {
    matches!(n.node.as_ref(), Some(NodeEnum::Constraint(c)) if c.contype == want as i32)
}
