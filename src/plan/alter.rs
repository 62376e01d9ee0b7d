//! CREATE TABLE, ALTER TABLE (each sub-command's lock level from
//! PostgreSQL's ALTER TABLE reference), CREATE INDEX and GRANT/REVOKE.

use pg_query::protobuf::{
    AlterTableCmd, AlterTableStmt, AlterTableType as At, ColumnDef, ConstrType, Constraint,
    CreateStmt, GrantStmt, IndexStmt, Node, NullTestType, ObjectType,
};
use pg_query::{NodeEnum, NodeRef};

use super::context::{
    default_is_constant, default_name, qualify, qualify_list, schema_of, strings, type_text,
    ConInfo, Ctx, Facts,
};
use super::locks::LockMode;

pub fn create_table(c: &CreateStmt, ctx: &mut Ctx, f: &mut Facts) {
    let Some(rv) = &c.relation else { return };
    let t = qualify(rv);
    ctx.file.created.insert(t.clone());
    f.create("table", t.clone());
    if c.partbound.is_some() {
        if let Some(NodeEnum::RangeVar(parent)) =
            c.inh_relations.first().and_then(|n| n.node.as_ref())
        {
            f.lock(&qualify(parent), LockMode::AccessExclusive);
            f.create("partition", t.clone());
        }
    } else {
        for p in &c.inh_relations {
            if let Some(NodeEnum::RangeVar(parent)) = p.node.as_ref() {
                f.lock(&qualify(parent), LockMode::ShareUpdateExclusive);
            }
        }
    }
    for e in &c.table_elts {
        match e.node.as_ref() {
            Some(NodeEnum::ColumnDef(cd)) => {
                let col = format!("{t}.{}", cd.colname);
                if let Some(ty) = &cd.type_name {
                    ctx.set.columns.insert(col.clone(), type_text(ty));
                }
                for k in &cd.constraints {
                    if let Some(NodeEnum::Constraint(con)) = k.node.as_ref() {
                        constraint(&t, con, Some(&cd.colname), ctx, f, false);
                    }
                }
            }
            Some(NodeEnum::Constraint(con)) => constraint(&t, con, None, ctx, f, false),
            _ => {}
        }
    }
}

pub fn create_index(i: &IndexStmt, ctx: &mut Ctx, f: &mut Facts) {
    let Some(rv) = &i.relation else { return };
    let t = qualify(rv);
    f.lock(
        &t,
        if i.concurrent {
            LockMode::ShareUpdateExclusive
        } else {
            LockMode::Share
        },
    );
    let cols: Vec<String> = i
        .index_params
        .iter()
        .filter_map(|p| match p.node.as_ref() {
            Some(NodeEnum::IndexElem(e)) if !e.name.is_empty() => Some(e.name.clone()),
            Some(NodeEnum::IndexElem(_)) => Some("expr".to_string()),
            _ => None,
        })
        .collect();
    let name = if i.idxname.is_empty() {
        default_name(&t, &cols, "idx")
    } else {
        i.idxname.clone()
    };
    let name = format!("{}.{}", schema_of(&t), super::context::quote_ident(&name));
    ctx.set.index_table.insert(name.clone(), t.clone());
    if !i.concurrent && ctx.existing(&t) {
        f.hazard("index-not-concurrent", &name);
    }
    f.create("index", name);
}

pub fn alter_table(a: &AlterTableStmt, ctx: &mut Ctx, f: &mut Facts) {
    let Some(rv) = &a.relation else { return };
    let rel = qualify(rv);
    let is_index = ObjectType::try_from(a.objtype) == Ok(ObjectType::ObjectIndex);
    for c in &a.cmds {
        if let Some(NodeEnum::AlterTableCmd(cmd)) = c.node.as_ref() {
            if is_index {
                // ALTER INDEX ... SET (...) / SET TABLESPACE / ATTACH PARTITION: conservative.
                f.lock(&rel, LockMode::AccessExclusive);
            } else {
                alter_cmd(&rel, cmd, ctx, f);
            }
        }
    }
}

fn def(cmd: &AlterTableCmd) -> Option<&NodeEnum> {
    cmd.def.as_deref().and_then(|d| d.node.as_ref())
}

/// Storage parameters PostgreSQL changes under SHARE UPDATE EXCLUSIVE.
fn reloptions_lock(cmd: &AlterTableCmd) -> LockMode {
    const LIGHT: &[&str] = &[
        "fillfactor",
        "parallel_workers",
        "log_autovacuum_min_duration",
        "toast_tuple_target",
        "vacuum_index_cleanup",
        "vacuum_truncate",
    ];
    let light = match def(cmd) {
        Some(NodeEnum::List(l)) => l.items.iter().all(|o| {
            matches!(o.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname.starts_with("autovacuum_") || LIGHT.contains(&d.defname.as_str()))
        }),
        _ => false,
    };
    if light {
        LockMode::ShareUpdateExclusive
    } else {
        LockMode::AccessExclusive
    }
}

/// The lock an ALTER TABLE sub-command takes on its table, from the
/// PostgreSQL ALTER TABLE reference; anything not listed is ACCESS EXCLUSIVE.
fn cmd_lock(sub: At, cmd: &AlterTableCmd) -> LockMode {
    match sub {
        At::AtSetStatistics
        | At::AtSetOptions
        | At::AtResetOptions
        | At::AtClusterOn
        | At::AtDropCluster
        | At::AtValidateConstraint
        | At::AtDetachPartitionFinalize => LockMode::ShareUpdateExclusive,
        At::AtSetRelOptions | At::AtResetRelOptions => reloptions_lock(cmd),
        At::AtEnableTrig
        | At::AtEnableAlwaysTrig
        | At::AtEnableReplicaTrig
        | At::AtDisableTrig
        | At::AtEnableTrigAll
        | At::AtDisableTrigAll
        | At::AtEnableTrigUser
        | At::AtDisableTrigUser => LockMode::ShareRowExclusive,
        At::AtAttachPartition => LockMode::ShareUpdateExclusive,
        At::AtAddConstraint => match def(cmd) {
            Some(NodeEnum::Constraint(c)) if c.contype == ConstrType::ConstrForeign as i32 => {
                LockMode::ShareRowExclusive
            }
            _ => LockMode::AccessExclusive,
        },
        _ => LockMode::AccessExclusive,
    }
}

fn alter_cmd(t: &str, cmd: &AlterTableCmd, ctx: &mut Ctx, f: &mut Facts) {
    let sub = At::try_from(cmd.subtype).unwrap_or(At::Undefined);
    let col = format!("{t}.{}", cmd.name);
    let existing = ctx.existing(t);
    f.lock(t, cmd_lock(sub, cmd));
    match sub {
        At::AtAddColumn => {
            if let Some(NodeEnum::ColumnDef(cd)) = def(cmd) {
                add_column(t, cd, ctx, f);
            }
        }
        At::AtDropColumn => {
            if existing {
                f.hazard("drop-column", &col);
            }
            f.drop("column", col);
        }
        At::AtSetNotNull if existing && !ctx.set.not_null_checked.contains(&col) => {
            f.hazard("set-not-null-scans", &col);
        }
        At::AtAlterColumnType => alter_type(t, &col, cmd, ctx, f),
        At::AtSetLogged | At::AtSetUnLogged | At::AtSetAccessMethod | At::AtSetTableSpace => {
            f.rewrites = true;
            f.hazard("table-rewrite", t);
        }
        At::AtSetExpression => f.rewrites = true,
        At::AtAddConstraint => {
            if let Some(NodeEnum::Constraint(c)) = def(cmd) {
                constraint(t, c, None, ctx, f, existing);
            }
        }
        At::AtValidateConstraint => {
            let key = format!("{t}.{}", cmd.name);
            let info = ctx.set.constraints.get(&key).cloned().unwrap_or_default();
            if let Some(r) = &info.foreign_table {
                f.lock(r, LockMode::RowShare);
            }
            if let Some(c) = &info.not_null_of {
                ctx.set.not_null_checked.insert(format!("{t}.{c}"));
            }
            f.create("constraint", key);
        }
        At::AtDropConstraint => {
            let key = format!("{t}.{}", cmd.name);
            if let Some(r) = ctx
                .set
                .constraints
                .get(&key)
                .and_then(|i| i.foreign_table.clone())
            {
                f.lock(&r, LockMode::AccessExclusive);
                if let Some(refs) = ctx.set.references.get_mut(t) {
                    refs.retain(|x| *x != r);
                }
            }
            f.drop("constraint", key);
        }
        At::AtEnableRowSecurity => f.create("rls", t.to_string()),
        At::AtForceRowSecurity => f.create("rls", format!("{t} (forced)")),
        At::AtDisableRowSecurity => f.drop("rls", t.to_string()),
        At::AtNoForceRowSecurity => f.drop("rls", format!("{t} (forced)")),
        At::AtEnableTrig | At::AtEnableAlwaysTrig | At::AtEnableReplicaTrig => {
            f.create("trigger", format!("{t}.{}", cmd.name))
        }
        At::AtDisableTrig => f.drop("trigger", format!("{t}.{}", cmd.name)),
        At::AtAttachPartition | At::AtDetachPartition => partition(t, sub, cmd, f),
        _ => {}
    }
}

fn partition(t: &str, sub: At, cmd: &AlterTableCmd, f: &mut Facts) {
    let Some(NodeEnum::PartitionCmd(p)) = def(cmd) else {
        return;
    };
    let Some(rv) = &p.name else { return };
    let part = qualify(rv);
    if sub == At::AtAttachPartition {
        // The partition is checked against its bound under ACCESS EXCLUSIVE.
        f.lock(&part, LockMode::AccessExclusive);
        f.create("partition", part);
    } else {
        let m = if p.concurrent {
            LockMode::ShareUpdateExclusive
        } else {
            LockMode::AccessExclusive
        };
        f.lock(t, m);
        f.lock(&part, m);
        f.drop("partition", part);
    }
}

fn add_column(t: &str, cd: &ColumnDef, ctx: &mut Ctx, f: &mut Facts) {
    let col = format!("{t}.{}", cd.colname);
    let existing = ctx.existing(t);
    let ty = cd.type_name.as_ref().map(type_text).unwrap_or_default();
    ctx.set.columns.insert(col.clone(), ty.clone());
    f.create("column", col.clone());
    let mut has_default = false;
    let mut not_null = false;
    if matches!(
        ty.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
    ) {
        has_default = true;
        f.rewrites = true;
        if existing {
            f.hazard("volatile-default-rewrite", &col);
        }
    }
    for k in &cd.constraints {
        let Some(NodeEnum::Constraint(c)) = k.node.as_ref() else {
            continue;
        };
        match ConstrType::try_from(c.contype) {
            Ok(ConstrType::ConstrDefault) => {
                has_default = true;
                let constant = c
                    .raw_expr
                    .as_deref()
                    .and_then(|e| e.node.as_ref())
                    .is_none_or(default_is_constant);
                if !constant {
                    f.rewrites = true;
                    if existing {
                        f.hazard("volatile-default-rewrite", &col);
                    }
                }
            }
            Ok(ConstrType::ConstrIdentity) => {
                has_default = true;
                f.rewrites = true;
                if existing {
                    f.hazard("volatile-default-rewrite", &col);
                }
            }
            Ok(ConstrType::ConstrGenerated) => {
                has_default = true;
                f.rewrites = true;
                if existing {
                    f.hazard("stored-generated-column", &col);
                }
            }
            Ok(ConstrType::ConstrNotnull) | Ok(ConstrType::ConstrPrimary) => not_null = true,
            _ => {}
        }
        constraint(t, c, Some(&cd.colname), ctx, f, existing);
    }
    if not_null && !has_default && existing {
        f.hazard("add-required-column", &col);
    }
}

/// Whether changing `old` to `new` keeps the stored bytes (no rewrite).
fn binary_compatible(old: &str, new: &str) -> bool {
    let base = |s: &str| s.split('(').next().unwrap_or("").to_string();
    let len = |s: &str| {
        s.split_once('(')
            .and_then(|(_, r)| r.trim_end_matches(')').parse::<i64>().ok())
    };
    let text_like = |s: &str| matches!(base(s).as_str(), "varchar" | "text" | "bpchar_never");
    if old == new {
        return true;
    }
    if text_like(old) && base(new) == "text" {
        return true;
    }
    if text_like(old) && base(new) == "varchar" {
        return match (len(old), len(new)) {
            (_, None) => true,
            (Some(o), Some(n)) => base(old) == "varchar" && n >= o,
            (None, Some(_)) => false,
        };
    }
    if base(old) == "numeric" && base(new) == "numeric" {
        return !new.contains('(');
    }
    false
}

fn alter_type(t: &str, col: &str, cmd: &AlterTableCmd, ctx: &mut Ctx, f: &mut Facts) {
    let Some(NodeEnum::ColumnDef(cd)) = def(cmd) else {
        return;
    };
    let new = cd.type_name.as_ref().map(type_text).unwrap_or_default();
    let safe = cd.raw_default.is_none()
        && ctx
            .set
            .columns
            .get(col)
            .is_some_and(|old| binary_compatible(old, &new));
    ctx.set.columns.insert(col.to_string(), new);
    if !safe {
        f.rewrites = true;
        if ctx.existing(t) {
            f.hazard("column-type-rewrite", col);
        }
    }
}

fn key_names(keys: &[Node]) -> Vec<String> {
    strings(keys)
}

/// A constraint added by CREATE TABLE (`existing` false), ADD COLUMN or
/// ADD CONSTRAINT: locks on referenced tables, hazards, creates.
#[allow(clippy::too_many_lines)] // merged from the plan work; its owner is to split it
fn constraint(
    t: &str,
    c: &Constraint,
    column: Option<&String>,
    ctx: &mut Ctx,
    f: &mut Facts,
    existing: bool,
) {
    let kind = ConstrType::try_from(c.contype).unwrap_or(ConstrType::Undefined);
    let mut cols = key_names(&c.keys);
    if cols.is_empty() {
        if let Some(col) = column {
            cols.push(col.clone());
        }
    }
    let label = match kind {
        ConstrType::ConstrPrimary => "pkey",
        ConstrType::ConstrUnique => "key",
        ConstrType::ConstrForeign => "fkey",
        ConstrType::ConstrCheck => "check",
        ConstrType::ConstrExclusion => "excl",
        _ => return,
    };
    let name_cols: Vec<String> = match kind {
        ConstrType::ConstrPrimary => Vec::new(),
        ConstrType::ConstrForeign => {
            let fk = key_names(&c.fk_attrs);
            if fk.is_empty() {
                cols.clone()
            } else {
                fk
            }
        }
        ConstrType::ConstrCheck => check_column(c, column).into_iter().collect(),
        _ => cols.clone(),
    };
    let name = if c.conname.is_empty() {
        default_name(t, &name_cols, label)
    } else {
        c.conname.clone()
    };
    let key = format!("{t}.{name}");
    let mut info = ConInfo::default();
    match kind {
        ConstrType::ConstrForeign => {
            if let Some(pk) = &c.pktable {
                let r = qualify(pk);
                f.lock(&r, LockMode::ShareRowExclusive);
                ctx.set
                    .references
                    .entry(t.to_string())
                    .or_default()
                    .push(r.clone());
                info.foreign_table = Some(r);
            }
            if existing && c.skip_validation {
                // NOT VALID: present (for the expected-object collector) once validated.
            } else {
                if existing {
                    f.hazard("add-constraint-validates", &key);
                }
                f.create("constraint", key.clone());
            }
        }
        ConstrType::ConstrCheck => {
            info.not_null_of = not_null_check(c);
            if c.skip_validation {
                // created by VALIDATE CONSTRAINT
            } else {
                if existing {
                    f.hazard("add-constraint-validates", &key);
                }
                if let Some(col) = &info.not_null_of {
                    ctx.set.not_null_checked.insert(format!("{t}.{col}"));
                }
                f.create("constraint", key.clone());
            }
        }
        _ => {
            if c.indexname.is_empty() {
                if existing {
                    f.hazard("unique-without-index", &key);
                }
                f.create("index", index_name(t, &name));
                ctx.set
                    .index_table
                    .insert(index_name(t, &name), t.to_string());
            } else {
                // USING INDEX renames the index to the constraint's name.
                let old = index_name(t, &c.indexname);
                if old != index_name(t, &name) {
                    f.drop("index", old);
                    f.create("index", index_name(t, &name));
                }
            }
            f.create("constraint", key.clone());
        }
    }
    ctx.set.constraints.insert(key, info);
}

/// An index lives in its table's schema.
fn index_name(table: &str, index: &str) -> String {
    format!(
        "{}.{}",
        schema_of(table),
        super::context::quote_ident(index)
    )
}

/// The column of `CHECK (col IS NOT NULL)`, which lets SET NOT NULL skip its scan.
fn not_null_check(c: &Constraint) -> Option<String> {
    match c.raw_expr.as_deref().and_then(|e| e.node.as_ref()) {
        Some(NodeEnum::NullTest(n)) if n.nulltesttype == NullTestType::IsNotNull as i32 => {
            match n.arg.as_deref().and_then(|a| a.node.as_ref()) {
                Some(NodeEnum::ColumnRef(cr)) => strings(&cr.fields).last().cloned(),
                _ => None,
            }
        }
        _ => None,
    }
}

/// PostgreSQL names an unnamed CHECK after its column when it is a column
/// constraint or its expression references exactly one column once.
fn check_column(c: &Constraint, column: Option<&String>) -> Option<String> {
    if let Some(col) = column {
        return Some(col.clone());
    }
    let expr = c.raw_expr.as_deref().and_then(|e| e.node.as_ref())?;
    let refs: Vec<String> = expr
        .nodes()
        .iter()
        .filter_map(|(n, _, _, _)| match n {
            NodeRef::ColumnRef(cr) => strings(&cr.fields).last().cloned(),
            _ => None,
        })
        .collect();
    match refs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// GRANT/REVOKE on tables, functions and schemas, one privilege object per
/// role and privilege, named like the expected-object collector's labels.
pub fn grant(g: &GrantStmt, f: &mut Facts) {
    const TABLE_ALL: &[&str] = &[
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
    ];
    let objtype = ObjectType::try_from(g.objtype).unwrap_or(ObjectType::Undefined);
    let (on, all): (&str, &[&str]) = match objtype {
        ObjectType::ObjectTable => ("TABLE", TABLE_ALL),
        ObjectType::ObjectFunction => ("FUNCTION", &["EXECUTE"]),
        ObjectType::ObjectSchema => ("SCHEMA", &["USAGE", "CREATE"]),
        _ => return,
    };
    let objects: Vec<String> = g
        .objects
        .iter()
        .filter_map(|o| match o.node.as_ref() {
            Some(NodeEnum::RangeVar(rv)) => Some(qualify(rv)),
            Some(NodeEnum::ObjectWithArgs(ow)) => Some(qualify_list(&strings(&ow.objname))),
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect();
    let privs: Vec<String> = if g.privileges.is_empty() {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        g.privileges
            .iter()
            .filter_map(|p| match p.node.as_ref() {
                Some(NodeEnum::AccessPriv(a)) if a.cols.is_empty() => {
                    Some(a.priv_name.to_uppercase())
                }
                _ => None,
            })
            .collect()
    };
    let roles: Vec<String> = g
        .grantees
        .iter()
        .filter_map(|r| match r.node.as_ref() {
            Some(NodeEnum::RoleSpec(rs)) if !rs.rolename.is_empty() => Some(rs.rolename.clone()),
            Some(NodeEnum::RoleSpec(_)) => Some("public".to_string()),
            _ => None,
        })
        .collect();
    for o in &objects {
        for p in &privs {
            for r in &roles {
                let name = format!("{r} {p} ON {on} {o}");
                if g.is_grant {
                    f.create("privilege", name)
                } else {
                    f.drop("privilege", name)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_changes_that_keep_the_bytes() {
        assert!(binary_compatible("varchar(20)", "varchar(50)"));
        assert!(binary_compatible("varchar(20)", "text"));
        assert!(binary_compatible("varchar(20)", "varchar"));
        assert!(binary_compatible("numeric(10,2)", "numeric"));
        assert!(!binary_compatible("varchar(50)", "varchar(20)"));
        assert!(!binary_compatible("int4", "int8"));
        assert!(!binary_compatible("numeric(10,2)", "numeric(12,2)"));
        assert!(!binary_compatible("text", "varchar(10)"));
    }

    fn default_of(sql: &str) -> NodeEnum {
        let p = pg_query::parse(&format!("SELECT {sql}"), 0).unwrap();
        let Some(NodeEnum::SelectStmt(s)) = p.protobuf.stmts[0]
            .stmt
            .as_ref()
            .and_then(|n| n.node.clone())
        else {
            panic!()
        };
        let Some(NodeEnum::ResTarget(t)) = s.target_list[0].node.clone() else {
            panic!()
        };
        t.val.and_then(|v| v.node).unwrap()
    }

    #[test]
    fn volatile_defaults_are_told_from_constant_ones() {
        for constant in [
            "'free'",
            "0",
            "now()",
            "CURRENT_TIMESTAMP",
            "'{}'::jsonb",
            "lower('A')",
        ] {
            assert!(default_is_constant(&default_of(constant)), "{constant}");
        }
        for volatile in [
            "random()",
            "gen_random_uuid()",
            "clock_timestamp()",
            "nextval('s')",
            "my_func()",
            "(SELECT 1)",
        ] {
            assert!(!default_is_constant(&default_of(volatile)), "{volatile}");
        }
    }
}
