//! Per-statement analysis: locks, rewrite, transactional, creates/drops and
//! hazards, with the state a migration carries from one statement to the
//! next (lock_timeout set, inside BEGIN, tables created earlier) and what
//! the whole set of migrations tells about objects (an index's table, a
//! constraint's kind, a column's type). ALTER TABLE lives in [`super::alter`].

use std::collections::{BTreeMap, HashMap, HashSet};

use pg_query::protobuf::{
    ConstrType, DropStmt, Node, ObjectType, RangeVar, RenameStmt, TransactionStmtKind, TypeName,
    VariableSetKind,
};
use pg_query::{NodeEnum, NodeRef};

use super::hazards::hazard;
use super::locks::LockMode;
use super::source::RawStatement;
use super::{Hazard, Object, Statement};

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
    fn rename_table(&mut self, old: &str, new: &str) {
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
    fn new() -> Facts {
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

pub fn analyze_migration(
    stmts: &[RawStatement],
    wrapped: bool,
    set: &mut SetState,
) -> Vec<Statement> {
    let mut file = FileState::default();
    let mut out = Vec::with_capacity(stmts.len());
    for (index, s) in stmts.iter().enumerate() {
        let in_transaction = wrapped || file.explicit_tx;
        let mut ctx = Ctx {
            set,
            file: &mut file,
        };
        let mut f = Facts::new();
        statement(&s.node, &mut ctx, &mut f);
        f.transactional = can_run_in_transaction(&s.node);
        if !f.transactional && in_transaction {
            f.hazard("concurrently-in-transaction", first_words(&s.sql));
        }
        let exclusive_on_existing = f
            .lock
            .iter()
            .any(|(r, m)| *m == LockMode::AccessExclusive && ctx.existing(r));
        if exclusive_on_existing && !ctx.file.lock_timeout {
            let rels: Vec<&str> = f
                .lock
                .iter()
                .filter(|(_, m)| **m == LockMode::AccessExclusive)
                .map(|(r, _)| r.as_str())
                .collect();
            f.hazard("lock-timeout-missing", &rels.join(", "));
        }
        track_session(&s.node, ctx.file);
        f.creates.sort();
        f.creates.dedup();
        f.drops.sort();
        f.drops.dedup();
        out.push(Statement {
            index,
            line: s.line,
            sql: s.sql.clone(),
            lock: f.lock,
            rewrites_table: f.rewrites,
            transactional: f.transactional,
            hazards: f.hazards,
            creates: f.creates,
            drops: f.drops,
            fingerprint: s.fingerprint.clone(),
            in_transaction,
        });
    }
    out
}

fn first_words(sql: &str) -> &str {
    let end = sql
        .char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .nth(2)
        .map_or(sql.len(), |(i, _)| i);
    &sql[..end]
}

/// BEGIN/COMMIT and SET lock_timeout change what later statements risk.
fn track_session(node: &NodeEnum, file: &mut FileState) {
    match node {
        NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
            Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => {
                file.explicit_tx = true
            }
            Ok(TransactionStmtKind::TransStmtCommit | TransactionStmtKind::TransStmtRollback) => {
                file.explicit_tx = false
            }
            _ => {}
        },
        NodeEnum::VariableSetStmt(v) if v.name == "lock_timeout" => {
            file.lock_timeout = match VariableSetKind::try_from(v.kind) {
                Ok(VariableSetKind::VarSetValue) => !v.args.iter().all(is_zero),
                _ => false,
            };
        }
        _ => {}
    }
}

fn is_zero(n: &Node) -> bool {
    use pg_query::protobuf::a_const::Val;
    match n.node.as_ref() {
        Some(NodeEnum::AConst(c)) => match &c.val {
            Some(Val::Ival(i)) => i.ival == 0,
            Some(Val::Sval(s)) => {
                s.sval.trim() == "0"
                    || s.sval.trim().starts_with("0 ")
                    || s.sval.trim() == "0ms"
                    || s.sval.trim() == "0s"
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether PostgreSQL accepts the statement inside a transaction block.
pub fn can_run_in_transaction(node: &NodeEnum) -> bool {
    match node {
        NodeEnum::IndexStmt(i) => !i.concurrent,
        NodeEnum::DropStmt(d) => !d.concurrent,
        NodeEnum::ReindexStmt(r) => !has_option(&r.params, "concurrently") && r.relation.is_some(),
        NodeEnum::VacuumStmt(v) => !v.is_vacuumcmd,
        NodeEnum::ClusterStmt(c) => c.relation.is_some(),
        NodeEnum::AlterTableStmt(a) => !a.cmds.iter().any(|c| {
            matches!(c.node.as_ref(), Some(NodeEnum::AlterTableCmd(c)) if c.subtype == pg_query::protobuf::AlterTableType::AtDetachPartition as i32
                && matches!(c.def.as_deref().and_then(|d| d.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent))
        }),
        NodeEnum::CreatedbStmt(_) | NodeEnum::DropdbStmt(_) | NodeEnum::AlterSystemStmt(_) | NodeEnum::CreateTableSpaceStmt(_) | NodeEnum::DropTableSpaceStmt(_) => false,
        _ => true,
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

fn statement(node: &NodeEnum, ctx: &mut Ctx, f: &mut Facts) {
    match node {
        NodeEnum::CreateStmt(c) => super::alter::create_table(c, ctx, f),
        NodeEnum::AlterTableStmt(a) => super::alter::alter_table(a, ctx, f),
        NodeEnum::IndexStmt(i) => super::alter::create_index(i, ctx, f),
        NodeEnum::DropStmt(d) => drop_stmt(d, ctx, f),
        NodeEnum::RenameStmt(r) => rename(r, ctx, f),
        NodeEnum::VacuumStmt(_)
        | NodeEnum::ClusterStmt(_)
        | NodeEnum::RefreshMatViewStmt(_)
        | NodeEnum::ReindexStmt(_) => maintenance(node, ctx, f),
        NodeEnum::CreateTrigStmt(_)
        | NodeEnum::CreatePolicyStmt(_)
        | NodeEnum::AlterPolicyStmt(_)
        | NodeEnum::CreateFunctionStmt(_)
        | NodeEnum::CreateExtensionStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::AlterEnumStmt(_)
        | NodeEnum::GrantStmt(_) => objects(node, ctx, f),
        NodeEnum::LockStmt(l) => {
            let mode = LockMode::from_lock_stmt(l.mode).unwrap_or(LockMode::AccessExclusive);
            for r in &l.relations {
                if let Some(NodeEnum::RangeVar(rv)) = r.node.as_ref() {
                    f.lock(&qualify(rv), mode);
                }
            }
        }
        NodeEnum::TruncateStmt(t) => {
            for r in &t.relations {
                if let Some(NodeEnum::RangeVar(rv)) = r.node.as_ref() {
                    f.lock(&qualify(rv), LockMode::AccessExclusive);
                }
            }
        }
        NodeEnum::CommentStmt(c) => {
            let kind = ObjectType::try_from(c.objtype);
            if let (Ok(ObjectType::ObjectTable | ObjectType::ObjectColumn), Some(obj)) =
                (kind, c.object.as_deref())
            {
                if let Some(NodeEnum::List(l)) = obj.node.as_ref() {
                    let mut parts = strings(&l.items);
                    if kind == Ok(ObjectType::ObjectColumn) {
                        parts.pop();
                    }
                    f.lock(&qualify_list(&parts), LockMode::ShareUpdateExclusive);
                }
            }
        }
        NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::SelectStmt(_)
        | NodeEnum::CreateTableAsStmt(_)
        | NodeEnum::ViewStmt(_) => dml(node, ctx, f),
        _ => {}
    }
}

/// VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW and REINDEX.
fn maintenance(node: &NodeEnum, ctx: &mut Ctx, f: &mut Facts) {
    match node {
        NodeEnum::VacuumStmt(v) => {
            let full = v.is_vacuumcmd && has_option(&v.options, "full");
            for r in &v.rels {
                if let Some(NodeEnum::VacuumRelation(vr)) = r.node.as_ref() {
                    if let Some(rv) = &vr.relation {
                        let t = qualify(rv);
                        f.lock(
                            &t,
                            if full {
                                LockMode::AccessExclusive
                            } else {
                                LockMode::ShareUpdateExclusive
                            },
                        );
                        if full {
                            f.rewrites = true;
                            f.hazard("vacuum-full", &t);
                        }
                    }
                }
            }
        }
        NodeEnum::ClusterStmt(c) => {
            if let Some(rv) = &c.relation {
                let t = qualify(rv);
                f.lock(&t, LockMode::AccessExclusive);
                f.rewrites = true;
                f.hazard("cluster", &t);
            }
        }
        NodeEnum::RefreshMatViewStmt(r) => {
            if let Some(rv) = &r.relation {
                let v = qualify(rv);
                // The view's query reads its tables again.
                for src in ctx.set.matview_sources.get(&v).cloned().unwrap_or_default() {
                    f.lock(&src, LockMode::AccessShare);
                }
                if r.concurrent {
                    f.lock(&v, LockMode::Exclusive);
                } else {
                    f.lock(&v, LockMode::AccessExclusive);
                    f.hazard("refresh-matview-blocking", &v);
                }
            }
        }
        NodeEnum::ReindexStmt(r) => reindex(r, ctx, f),
        _ => {}
    }
}

/// Statements whose effect is mostly the objects they create.
fn objects(node: &NodeEnum, ctx: &mut Ctx, f: &mut Facts) {
    match node {
        NodeEnum::CreateTrigStmt(t) => {
            if let Some(rv) = &t.relation {
                let table = qualify(rv);
                f.lock(&table, LockMode::ShareRowExclusive);
                f.create("trigger", format!("{table}.{}", t.trigname));
            }
        }
        NodeEnum::CreatePolicyStmt(p) => {
            if let Some(rv) = &p.table {
                let table = qualify(rv);
                f.lock(&table, LockMode::AccessExclusive);
                f.create("policy", format!("{table}.{}", p.policy_name));
            }
        }
        NodeEnum::AlterPolicyStmt(p) => {
            if let Some(rv) = &p.table {
                f.lock(&qualify(rv), LockMode::AccessExclusive);
            }
        }
        NodeEnum::CreateFunctionStmt(c) => {
            f.create("function", qualify_list(&strings(&c.funcname)))
        }
        NodeEnum::CreateExtensionStmt(e) => f.create("extension", e.extname.clone()),
        NodeEnum::CreateEnumStmt(e) => {
            let name = qualify_list(&strings(&e.type_name));
            ctx.set.enums.insert(name.clone());
            f.create("enum", name);
        }
        NodeEnum::AlterEnumStmt(e) if !e.new_val.is_empty() && e.old_val.is_empty() => {
            f.create(
                "enum_value",
                format!("{}.{}", qualify_list(&strings(&e.type_name)), e.new_val),
            );
        }
        NodeEnum::GrantStmt(g) => super::alter::grant(g, f),
        _ => {}
    }
}

/// Reads and writes: RowExclusiveLock on the target, AccessShareLock on
/// every other relation the statement names.
fn dml(node: &NodeEnum, ctx: &mut Ctx, f: &mut Facts) {
    let target = match node {
        NodeEnum::InsertStmt(s) => s.relation.as_ref(),
        NodeEnum::UpdateStmt(s) => s.relation.as_ref(),
        NodeEnum::DeleteStmt(s) => s.relation.as_ref(),
        _ => None,
    };
    let target = target.map(qualify);
    // CREATE TABLE AS and CREATE VIEW name their new relation with a RangeVar too.
    let created = match node {
        NodeEnum::CreateTableAsStmt(c) => c.into.as_ref().and_then(|i| i.rel.as_ref()).map(qualify),
        NodeEnum::ViewStmt(v) => v.view.as_ref().map(qualify),
        _ => None,
    };
    for (n, _, _, _) in node.nodes() {
        if let NodeRef::RangeVar(rv) = n {
            let name = qualify(rv);
            if Some(&name) == created.as_ref() {
                continue;
            }
            let mode = if Some(&name) == target.as_ref() {
                LockMode::RowExclusive
            } else {
                LockMode::AccessShare
            };
            f.lock(&name, mode);
        }
    }
    if let Some(c) = created {
        // A materialized view or view is not a `table` to the collector (relkind r or p).
        let plain_table = matches!(node, NodeEnum::CreateTableAsStmt(t) if t.objtype != ObjectType::ObjectMatview as i32);
        if plain_table {
            f.create("table", c.clone());
        } else {
            let sources = f.lock.keys().cloned().collect();
            ctx.set.matview_sources.insert(c.clone(), sources);
        }
        ctx.file.created.insert(c);
    }
}

fn drop_stmt(d: &DropStmt, ctx: &mut Ctx, f: &mut Facts) {
    let kind = ObjectType::try_from(d.remove_type).unwrap_or(ObjectType::Undefined);
    for o in &d.objects {
        let parts = match o.node.as_ref() {
            Some(NodeEnum::List(l)) => strings(&l.items),
            Some(NodeEnum::String(s)) => vec![s.sval.clone()],
            Some(NodeEnum::ObjectWithArgs(ow)) => strings(&ow.objname),
            Some(NodeEnum::TypeName(t)) => strings(&t.names),
            _ => continue,
        };
        match kind {
            ObjectType::ObjectTable => {
                let t = qualify_list(&parts);
                f.lock(&t, LockMode::AccessExclusive);
                // Dropping a table's foreign keys removes triggers on the tables they reference.
                for r in ctx.set.references.get(&t).cloned().unwrap_or_default() {
                    f.lock(&r, LockMode::AccessExclusive);
                }
                if ctx.existing(&t) {
                    f.hazard("drop-table", &t);
                }
                f.drop("table", t);
            }
            ObjectType::ObjectIndex => {
                let i = qualify_list(&parts);
                let mode = if d.concurrent {
                    LockMode::ShareUpdateExclusive
                } else {
                    LockMode::AccessExclusive
                };
                f.lock(&i, mode);
                let table = ctx.set.index_table.get(&i).cloned();
                if let Some(t) = &table {
                    f.lock(t, mode);
                }
                if !d.concurrent && table.as_deref().is_none_or(|t| ctx.existing(t)) {
                    f.hazard("drop-index-not-concurrent", &i);
                }
                f.drop("index", i);
            }
            ObjectType::ObjectView | ObjectType::ObjectMatview | ObjectType::ObjectSequence => {
                f.lock(&qualify_list(&parts), LockMode::AccessExclusive);
            }
            ObjectType::ObjectTrigger | ObjectType::ObjectPolicy => {
                let (name, table) = parts
                    .split_last()
                    .map(|(n, t)| (n.clone(), qualify_list(t)))
                    .unwrap_or_default();
                f.lock(&table, LockMode::AccessExclusive);
                let k = if kind == ObjectType::ObjectTrigger {
                    "trigger"
                } else {
                    "policy"
                };
                f.drop(k, format!("{table}.{name}"));
            }
            ObjectType::ObjectFunction | ObjectType::ObjectProcedure => {
                f.drop("function", qualify_list(&parts))
            }
            ObjectType::ObjectExtension => f.drop("extension", parts.join(".")),
            ObjectType::ObjectType => {
                let n = qualify_list(&parts);
                if ctx.set.enums.contains(&n) {
                    f.drop("enum", n);
                }
            }
            _ => {}
        }
    }
}

fn rename(r: &RenameStmt, ctx: &mut Ctx, f: &mut Facts) {
    let Some(rv) = &r.relation else { return };
    let rel = qualify(rv);
    let schema = schema_of(&rel).to_string();
    match ObjectType::try_from(r.rename_type) {
        Ok(ObjectType::ObjectTable) => {
            f.lock(&rel, LockMode::AccessExclusive);
            if ctx.existing(&rel) {
                f.hazard("rename-table", &rel);
            }
            let new = format!("{schema}.{}", quote_ident(&r.newname));
            ctx.set.rename_table(&rel, &new);
            f.drop("table", rel);
            f.create("table", new);
        }
        Ok(ObjectType::ObjectColumn) => {
            f.lock(&rel, LockMode::AccessExclusive);
            if ctx.existing(&rel) {
                f.hazard("rename-column", &format!("{rel}.{}", r.subname));
            }
            f.drop("column", format!("{rel}.{}", r.subname));
            f.create("column", format!("{rel}.{}", r.newname));
        }
        Ok(ObjectType::ObjectIndex) => {
            // Since PostgreSQL 12 renaming an index takes SHARE UPDATE EXCLUSIVE.
            f.lock(&rel, LockMode::ShareUpdateExclusive);
            let new = format!("{schema}.{}", quote_ident(&r.newname));
            if let Some(t) = ctx.set.index_table.get(&rel).cloned() {
                ctx.set.index_table.insert(new.clone(), t);
            }
            f.drop("index", rel);
            f.create("index", new);
        }
        Ok(ObjectType::ObjectTabconstraint) => {
            f.lock(&rel, LockMode::AccessExclusive);
            f.drop("constraint", format!("{rel}.{}", r.subname));
            f.create("constraint", format!("{rel}.{}", r.newname));
        }
        Ok(
            ObjectType::ObjectTrigger
            | ObjectType::ObjectPolicy
            | ObjectType::ObjectView
            | ObjectType::ObjectMatview,
        ) => {
            f.lock(&rel, LockMode::AccessExclusive);
        }
        _ => {}
    }
}

fn reindex(r: &pg_query::protobuf::ReindexStmt, ctx: &mut Ctx, f: &mut Facts) {
    use pg_query::protobuf::ReindexObjectType as K;
    let Some(rv) = &r.relation else { return };
    let rel = qualify(rv);
    let concurrent = has_option(&r.params, "concurrently");
    match K::try_from(r.kind) {
        Ok(K::ReindexObjectIndex) => {
            if concurrent {
                f.lock(&rel, LockMode::ShareUpdateExclusive);
            } else {
                f.lock(&rel, LockMode::AccessExclusive);
            }
            if let Some(t) = ctx.set.index_table.get(&rel).cloned() {
                f.lock(
                    &t,
                    if concurrent {
                        LockMode::ShareUpdateExclusive
                    } else {
                        LockMode::Share
                    },
                );
            }
        }
        Ok(K::ReindexObjectTable) => {
            f.lock(
                &rel,
                if concurrent {
                    LockMode::ShareUpdateExclusive
                } else {
                    LockMode::Share
                },
            );
        }
        _ => return,
    }
    if !concurrent {
        f.hazard("reindex-not-concurrent", &rel);
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
