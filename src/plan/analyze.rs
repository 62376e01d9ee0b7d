//! Per-statement analysis: locks, rewrite, transactional, creates/drops and
//! hazards, with the state a migration carries from one statement to the
//! next (lock_timeout set, inside BEGIN, tables created earlier) and what
//! the whole set of migrations tells about objects (an index's table, a
//! constraint's kind, a column's type). ALTER TABLE lives in [`super::alter`];
//! the state and helpers both share live in [`super::context`].

use pg_query::protobuf::{
    DropStmt, Node, ObjectType, RenameStmt, TransactionStmtKind, VariableSetKind,
};
use pg_query::{NodeEnum, NodeRef};

use super::context::{
    has_option, qualify, qualify_list, quote_ident, schema_of, strings, Ctx, Facts, FileState,
    SetState,
};
use super::locks::LockMode;
use super::source::RawStatement;
use super::Statement;

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
