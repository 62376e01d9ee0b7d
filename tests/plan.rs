//! Issue 15, part 1: `plan` on every tool's fixture directory, the JSON
//! contract and exit codes of the real binary, bad input, the hazard codes
//! documented, and the lock truth: every fixture statement run on a real
//! PostgreSQL, whose pg_locks must never show a lock stronger than planned.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::PgCluster;
use pg_migration_exporter::plan::{self, LockMode, Migration, PlanError, PlanOptions, Tool};

const EXPORTER: &str = env!("CARGO_BIN_EXE_pg_migration_exporter");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan")
        .join(rel)
}

fn plan_dir(rel: &str, tool: Option<Tool>) -> Vec<Migration> {
    plan::plan_paths(
        &[fixture(rel)],
        &PlanOptions {
            tool,
            version: None,
        },
    )
    .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (version, name, in_transaction, statement count) per migration.
fn shape(ms: &[Migration]) -> Vec<(String, String, bool, usize)> {
    ms.iter()
        .map(|m| {
            (
                m.version.clone(),
                m.name.clone(),
                m.in_transaction,
                m.statements.len(),
            )
        })
        .collect()
}

fn s(v: &str, n: &str, tx: bool, count: usize) -> (String, String, bool, usize) {
    (v.to_string(), n.to_string(), tx, count)
}

fn codes(m: &Migration) -> Vec<Vec<&'static str>> {
    m.statements
        .iter()
        .map(|s| s.hazards.iter().map(|h| h.code).collect())
        .collect()
}

#[test]
fn flyway_versions_transactions_and_hazards() {
    let ms = plan_dir("flyway", None);
    assert!(ms.iter().all(|m| m.tool == Tool::Flyway));
    assert_eq!(
        shape(&ms),
        vec![
            s("1", "create_accounts", true, 10),
            s("2", "safe_changes", true, 22),
            s("3", "risky", true, 16),
            // CONCURRENTLY inside: Flyway runs the migration outside a transaction.
            s("4", "concurrently", false, 4),
            s("5", "drop_old", true, 9),
        ],
        "the undo file U2 is not planned"
    );
    // Tables and indexes created in V1 are new: no hazard there.
    assert!(
        ms[0].statements.iter().all(|s| s.hazards.is_empty()),
        "{:#?}",
        codes(&ms[0])
    );
    // V2 sets lock_timeout first and uses only the safe forms.
    assert!(
        ms[1].statements.iter().all(|s| s.hazards.is_empty()),
        "{:#?}",
        codes(&ms[1])
    );
    let v3 = codes(&ms[2]);
    for (i, code) in [
        (0, "index-not-concurrent"),
        (1, "volatile-default-rewrite"),
        (2, "column-type-rewrite"),
        (3, "add-constraint-validates"),
        (4, "unique-without-index"),
        (5, "add-required-column"),
        (7, "set-not-null-scans"),
        (8, "rename-column"),
        (9, "drop-column"),
        (10, "refresh-matview-blocking"),
        (11, "cluster"),
        (13, "drop-index-not-concurrent"),
        (14, "reindex-not-concurrent"),
        (15, "rename-table"),
        (1, "lock-timeout-missing"),
    ] {
        assert!(
            v3[i].contains(&code),
            "V3 statement {i} lacks {code}: {:?}",
            v3[i]
        );
    }
    // LOCK ... IN SHARE MODE is no ACCESS EXCLUSIVE: no lock_timeout hazard.
    assert!(v3[12].is_empty(), "{:?}", v3[12]);
    let v4 = &ms[3];
    assert!(v4.statements.iter().all(|s| !s.transactional));
    assert_eq!(codes(v4)[3], vec!["vacuum-full", "lock-timeout-missing"]);
    assert!(
        codes(v4)[..3].iter().all(|c| c.is_empty()),
        "{:?}",
        codes(v4)
    );
    let v5 = codes(&ms[4]);
    assert_eq!(v5[7], vec!["drop-table"], "lock_timeout is set in V5");
    // Statement 1 of V2 spans two lines; line numbers are the first token's.
    assert_eq!((ms[1].statements[1].line, ms[1].statements[2].line), (2, 4));
}

#[test]
fn flyway_creates_and_drops_use_the_expected_object_names() {
    let ms = plan_dir("flyway", None);
    let objs = |m: usize, i: usize, creates: bool| -> Vec<String> {
        let st = &ms[m].statements[i];
        let list = if creates { &st.creates } else { &st.drops };
        list.iter()
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect()
    };
    assert_eq!(
        objs(0, 0, true),
        vec![
            "constraint public.accounts.accounts_pkey",
            "index public.accounts_pkey",
            "table public.accounts"
        ]
    );
    assert_eq!(objs(0, 3, true), vec!["table public.audit_log"]);
    assert_eq!(objs(0, 4, true), vec!["enum public.mood"]);
    assert_eq!(objs(0, 5, true), vec!["function public.touch"]);
    // NOT VALID: the constraint counts as present once validated.
    assert!(objs(1, 1, true).is_empty());
    assert_eq!(
        objs(1, 2, true),
        vec!["constraint public.orders.orders_account_fkey"]
    );
    assert_eq!(objs(1, 8, true), vec!["rls public.accounts"]);
    assert_eq!(
        objs(1, 9, true),
        vec!["policy public.accounts.accounts_self"]
    );
    assert_eq!(
        objs(1, 10, true),
        vec!["trigger public.orders.orders_touch"]
    );
    assert_eq!(objs(1, 12, true), vec!["enum_value public.mood.calm"]);
    assert_eq!(
        objs(1, 13, true),
        vec!["privilege public SELECT ON TABLE public.accounts"]
    );
    assert_eq!(objs(2, 15, false), vec!["table public.accounts"]);
    assert_eq!(objs(2, 15, true), vec!["table public.customers"]);
    assert_eq!(
        objs(4, 4, false),
        vec!["privilege public SELECT ON TABLE public.customers"]
    );
    assert_eq!(objs(4, 7, false), vec!["table public.orders"]);
}

#[test]
fn golang_migrate_needs_tool_and_multi_statement_files_are_one_transaction() {
    let err = plan::plan_paths(&[fixture("golang-migrate")], &PlanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("golang-migrate, sqlx"), "{err}");
    let ms = plan_dir("golang-migrate", Some(Tool::GolangMigrate));
    assert_eq!(
        shape(&ms),
        vec![
            s("000001", "create_users", true, 2),
            s("000002", "index_sessions", false, 1),
            s("000003", "email_unique", true, 2)
        ]
    );
    // Two statements in one file: PostgreSQL runs them as one implicit transaction.
    assert_eq!(codes(&ms[2])[0], vec!["concurrently-in-transaction"]);
    assert!(codes(&ms[1])[0].is_empty());
    // The foreign key of a table created in the same migration locks the referenced table.
    assert_eq!(
        ms[0].statements[1].lock.get("public.users"),
        Some(&LockMode::ShareRowExclusive)
    );
}

#[test]
fn sqlx_no_transaction_first_line_and_reversible_files() {
    let ms = plan_dir("sqlx", None);
    assert_eq!(
        shape(&ms),
        vec![
            s("20240101000000", "init", true, 2),
            s("20240102000000", "index_price", false, 1),
            s("20240103000000", "price_bigint", true, 2)
        ]
    );
    assert!(codes(&ms[1])[0].is_empty());
    assert_eq!(codes(&ms[2])[1], vec!["column-type-rewrite"]);
    let rev = plan_dir("sqlx-reversible", Some(Tool::Sqlx));
    assert_eq!(
        shape(&rev),
        vec![s("1", "tags", true, 1), s("2", "color", true, 1)]
    );
}

#[test]
fn goose_up_section_statement_blocks_and_no_transaction() {
    let ms = plan_dir("goose", None);
    assert_eq!(
        shape(&ms),
        vec![
            s("00001", "create_posts", true, 3),
            s("00002", "index_title", false, 1),
            s("00003", "index_body", true, 1)
        ]
    );
    // The Down section is not planned; the StatementBegin/End function is one statement.
    assert!(ms[0].statements[1]
        .sql
        .starts_with("CREATE FUNCTION posts_title_upper()"));
    assert!(ms[0].statements.iter().all(|s| !s.sql.contains("DROP")));
    assert!(codes(&ms[1])[0].is_empty());
    assert_eq!(codes(&ms[2])[0], vec!["concurrently-in-transaction"]);
    assert_eq!(ms[2].statements[0].line, 3);
}

#[test]
fn dbmate_up_block_and_transaction_false() {
    let ms = plan_dir("dbmate", None);
    assert_eq!(
        shape(&ms),
        vec![
            s("20240101000000", "create_events", true, 3),
            s("20240102000000", "attach_2025", true, 3),
            s("20240103000000", "index_kind", false, 1)
        ]
    );
    let attach = &ms[1].statements[1];
    assert_eq!(
        attach.lock.get("public.events"),
        Some(&LockMode::ShareUpdateExclusive)
    );
    assert_eq!(
        attach.lock.get("public.events_2025"),
        Some(&LockMode::AccessExclusive)
    );
    assert_eq!(attach.creates[0].kind, "partition");
    assert_eq!(ms[1].statements[2].drops[0].name, "public.events_2024");
    assert!(codes(&ms[2])[0].is_empty());
}

#[test]
fn prisma_supabase_and_diesel_directories() {
    let p = plan_dir("prisma", None);
    assert_eq!(
        shape(&p),
        vec![
            s("20240101000000", "init", true, 2),
            s("20240102000000", "add_status", true, 2)
        ]
    );
    assert_eq!(
        p[1].statements[1].lock.get("public.\"User\""),
        Some(&LockMode::Share)
    );
    assert!(codes(&p[1])[1].contains(&"index-not-concurrent"));
    // A constant default does not rewrite.
    assert!(!p[1].statements[0].rewrites_table);

    let sb = plan_dir("supabase", None);
    assert!(sb.iter().all(|m| m.tool == Tool::Supabase));
    assert_eq!(
        shape(&sb),
        vec![
            s("20240101000000", "profiles", true, 5),
            s("20240102000000", "profiles_website", true, 2)
        ]
    );
    let names: Vec<String> = sb[0]
        .statements
        .iter()
        .flat_map(|s| s.creates.iter().map(|o| format!("{} {}", o.kind, o.name)))
        .collect();
    for want in [
        "rls public.profiles",
        "rls public.profiles (forced)",
        "policy public.profiles.Profiles are viewable by everyone",
        "privilege public SELECT ON TABLE public.profiles",
        "constraint public.profiles.profiles_username_key",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert_eq!(
        sb[1].statements[1].creates[0].name,
        "public.profiles.website_length"
    );

    let d = plan_dir("diesel", None);
    assert_eq!(
        shape(&d),
        vec![
            s("20240101000000", "create_posts", true, 1),
            s("20240102000000", "index_posts", false, 1)
        ]
    );
    assert!(
        codes(&d[1])[0].is_empty(),
        "metadata.toml run_in_transaction = false"
    );
}

#[test]
fn plain_sql_with_an_explicit_version_tracks_begin_commit() {
    let f = fixture("sql/django_0002_orders.sql");
    let ms = plan::plan_paths(
        std::slice::from_ref(&f),
        &PlanOptions {
            tool: Some(Tool::Sql),
            version: Some("0002".into()),
        },
    )
    .unwrap();
    assert_eq!(shape(&ms), vec![s("0002", "django_0002_orders", false, 6)]);
    let st = &ms[0].statements;
    assert!(!st[0].in_transaction && st[1].in_transaction && st[5].in_transaction);
    // Tables created inside the same migration: no hazard for their FK or index.
    assert!(
        st.iter().all(|s| s.hazards.is_empty()),
        "{:?}",
        codes(&ms[0])
    );
    assert!(plan::plan_paths(
        &[f],
        &PlanOptions {
            tool: Some(Tool::Sql),
            version: None
        }
    )
    .is_err());
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(EXPORTER).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_contract_and_exit_codes_of_the_binary() {
    let dir = fixture("flyway");
    let (code, out, err) = run(&["plan", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "hazards present: exit 1; {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ms = v.as_array().unwrap();
    assert_eq!(ms.len(), 5);
    let keys = |o: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&ms[0]),
        ["file", "name", "statements", "tool", "version"]
    );
    assert_eq!(ms[0]["tool"], "flyway");
    assert_eq!(ms[0]["version"], "1");
    let st = &ms[2]["statements"][1];
    assert_eq!(
        keys(st),
        [
            "creates",
            "drops",
            "hazards",
            "index",
            "line",
            "lock",
            "rewrites_table",
            "sql",
            "transactional"
        ]
    );
    assert_eq!(st["index"], 1);
    assert_eq!(st["line"], 2);
    assert_eq!(st["lock"]["public.accounts"], "AccessExclusiveLock");
    assert_eq!(st["rewrites_table"], true);
    assert_eq!(st["transactional"], true);
    assert_eq!(keys(&st["hazards"][0]), ["code", "message"]);
    assert_eq!(keys(&st["creates"][0]), ["kind", "name"]);
    assert_eq!(st["creates"][0]["name"], "public.accounts.token");
    assert_eq!(ms[3]["statements"][0]["transactional"], false);

    // No hazards: exit 0 (diesel's fixture is clean).
    let (code, out, _) = run(&["plan", fixture("diesel").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 migrations, 0 hazards"), "{out}");
    // Errors: exit 2.
    let (code, _, err) = run(&["plan", fixture("golang-migrate").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("pass --tool"), "{err}");
    let (code, _, _) = run(&[
        "plan",
        "--tool",
        "golang-migrate",
        fixture("golang-migrate").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    // The exporter's own flags are untouched by the subcommand.
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--web.listen-address") && out.contains("plan"),
        "{out}"
    );
}

#[test]
fn bad_input_names_file_line_and_column() {
    let broken = fixture("bad/parse/V1__broken.sql");
    let (code, _, err) = run(&["plan", broken.to_str().unwrap()]);
    assert_eq!(code, 2);
    let want = format!("{}:5:14: syntax error at or near \";\"", broken.display());
    assert!(err.contains(&want), "{err}\nwanted {want}");

    let bad_dir = fixture("bad/convention");
    let (code, _, err) = run(&["plan", "--tool", "flyway", bad_dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("notes.sql: does not follow the flyway convention"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("pgmig-plan-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("V1__big.sql");
    let line = "INSERT INTO t VALUES (1);\n";
    std::fs::write(
        &big,
        line.repeat((plan::MAX_FILE_BYTES as usize) / line.len() + 1),
    )
    .unwrap();
    match plan::plan_paths(std::slice::from_ref(&big), &PlanOptions::default()) {
        Err(PlanError::TooLarge { path, limit, .. }) => {
            assert_eq!(path, big);
            assert_eq!(limit, plan::MAX_FILE_BYTES);
        }
        other => panic!("{other:?}"),
    }
    let (code, _, err) = run(&["plan", big.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("V1__big.sql") && err.contains("limit"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_hazard_code_is_documented_and_every_documented_code_exists() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.md"))
        .unwrap();
    // The hazard table: rows whose first cell is a backticked code.
    let documented: HashSet<String> = doc
        .lines()
        .skip_while(|l| !l.starts_with("## Hazard codes"))
        .take_while(|l| !l.starts_with("## ") || l.starts_with("## Hazard codes"))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(c, _)| c.to_string()))
        .collect();
    let code: HashSet<String> = plan::hazards::CODES
        .iter()
        .map(|c| c.code.to_string())
        .collect();
    let mut missing: Vec<_> = code.difference(&documented).collect();
    let mut extra: Vec<_> = documented.difference(&code).collect();
    missing.sort();
    extra.sort();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented: {missing:?}; documented but not in code: {extra:?}"
    );
}

// ---- Lock truth against a real server ----

/// Every relation lock a backend holds or waits for: (oid, mode).
async fn locks_of(c: &tokio_postgres::Client, pid: i32) -> Vec<(u32, LockMode)> {
    c.query(
        "SELECT relation, mode FROM pg_locks WHERE pid = $1 AND locktype = 'relation' AND relation IS NOT NULL",
        &[&pid],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), LockMode::from_pg(&r.get::<_, String>(1)).unwrap()))
    .collect()
}

/// The user relations that exist before a statement runs, by oid, with
/// their names then and the table an index, TOAST table or owned sequence
/// belongs to. A relation the statement creates is not here: no other
/// session can see it, so its locks block nobody.
async fn known_relations(c: &tokio_postgres::Client) -> Known {
    let q = plan::context::quote_ident;
    let sql = "
SELECT c.oid, n.nspname, c.relname, coalesce(
    (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid),
    (SELECT t.oid FROM pg_class t WHERE t.reltoastrelid = c.oid),
    (SELECT refobjid FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = c.oid
        AND refclassid = 'pg_class'::regclass AND refobjid <> c.oid AND deptype IN ('a', 'i') LIMIT 1))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')";
    let rows: HashMap<u32, (String, Option<u32>)> = c
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let name = format!(
                "{}.{}",
                q(&r.get::<_, String>(1)),
                q(&r.get::<_, String>(2))
            );
            (r.get::<_, u32>(0), (name, r.get::<_, Option<u32>>(3)))
        })
        .collect();
    // A TOAST table's index belongs to the TOAST table, which belongs to the table.
    let top = |mut oid: u32| {
        for _ in 0..4 {
            match rows.get(&oid).and_then(|r| r.1) {
                Some(o) => oid = o,
                None => break,
            }
        }
        rows.get(&oid).map(|r| r.0.clone())
    };
    rows.iter()
        .map(|(oid, (name, owner))| (*oid, (name.clone(), owner.and_then(top))))
        .collect()
}

type Known = HashMap<u32, (String, Option<String>)>;

/// Problems with one statement: a lock PostgreSQL took that the plan does
/// not name, or names weaker.
fn compare(
    where_: &str,
    planned: &BTreeMap<String, LockMode>,
    seen: &[(u32, LockMode)],
    known: &Known,
) -> Vec<String> {
    let mut bad = Vec::new();
    for (oid, mode) in seen {
        let Some((rel, owner)) = known.get(oid) else {
            continue;
        };
        let plan = planned
            .get(rel)
            .or_else(|| owner.as_ref().and_then(|o| planned.get(o)));
        match plan {
            Some(p) if p >= mode => {}
            Some(p) => bad.push(format!(
                "{where_}: {rel} took {} but the plan says {}",
                mode.as_str(),
                p.as_str()
            )),
            None => bad.push(format!(
                "{where_}: {rel} took {} (owner {owner:?}) and the plan names no lock on it",
                mode.as_str()
            )),
        }
    }
    bad
}

fn is_transaction_control(sql: &str) -> bool {
    let w = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        w.as_str(),
        "BEGIN" | "COMMIT" | "START" | "ROLLBACK" | "END"
    )
}

/// A transactional statement: run it in a transaction, read its own
/// backend's locks before ROLLBACK, then run it for real.
async fn check_transactional(
    c: &tokio_postgres::Client,
    where_: &str,
    st: &plan::Statement,
) -> Vec<String> {
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let known = known_relations(c).await;
    c.batch_execute("BEGIN").await.unwrap();
    if let Err(e) = c.batch_execute(&st.sql).await {
        panic!("{where_}: {}: {e:?}", st.sql);
    }
    let seen = locks_of(c, pid).await;
    c.batch_execute("ROLLBACK").await.unwrap();
    // For real, still in a transaction block: LOCK TABLE needs one.
    c.batch_execute("BEGIN").await.unwrap();
    c.batch_execute(&st.sql).await.unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    compare(where_, &st.lock, &seen, &known)
}

/// A statement that cannot run in a transaction: run it on its own
/// connection while another session holds a snapshot and an ACCESS SHARE
/// lock on every relation the plan names (so CONCURRENTLY waits for it and
/// VACUUM FULL queues behind it), and sample pg_locks from a third session.
async fn check_sampled(
    pg: &PgCluster,
    db: &str,
    where_: &str,
    st: &plan::Statement,
) -> (Vec<String>, usize) {
    let runner = pg.connect(db).await;
    let holder = pg.connect(db).await;
    let sampler = pg.connect(db).await;
    let pid: i32 = runner
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let known = known_relations(&sampler).await;
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    for rel in st.lock.keys() {
        let exists: bool = holder
            .query_one("SELECT coalesce((SELECT relkind IN ('r', 'p', 'm') FROM pg_class WHERE oid = to_regclass($1)), false)", &[rel]).await.unwrap().get(0);
        if exists {
            holder
                .batch_execute(&format!("SELECT 1 FROM {rel} LIMIT 0"))
                .await
                .unwrap();
        }
    }
    let sql = st.sql.clone();
    let task = tokio::spawn(async move {
        runner
            .batch_execute(&sql)
            .await
            .map_err(|e| format!("{e:?}"))
    });
    let mut seen: Vec<(u32, LockMode)> = Vec::new();
    let mut released = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !task.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{where_}: {} did not finish",
            st.sql
        );
        seen.extend(locks_of(&sampler, pid).await);
        if !released {
            let waiting: bool = sampler
                .query_one("SELECT coalesce((SELECT wait_event_type IN ('Lock') FROM pg_stat_activity WHERE pid = $1), false)", &[&pid])
                .await
                .unwrap()
                .get(0);
            if waiting {
                // One more sample while it waits, then let it through.
                seen.extend(locks_of(&sampler, pid).await);
                holder.batch_execute("COMMIT").await.unwrap();
                released = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !released {
        holder.batch_execute("COMMIT").await.unwrap();
    }
    if let Err(e) = task.await.unwrap() {
        panic!("{where_}: {}: {e}", st.sql);
    }
    let n = seen
        .iter()
        .filter(|(oid, _)| known.contains_key(oid))
        .count();
    (compare(where_, &st.lock, &seen, &known), n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_locks_are_never_weaker_than_what_postgres_takes() {
    let pg = PgCluster::shared();
    let sets: Vec<(&str, Option<Tool>)> = vec![
        ("flyway", None),
        ("golang-migrate", Some(Tool::GolangMigrate)),
        ("sqlx", None),
        ("goose", None),
        ("dbmate", None),
        ("prisma", None),
        ("supabase", None),
        ("diesel", None),
    ];
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut sampled_locks = 0;
    for (dir, tool) in sets {
        let db = pg.create_database("plan_locks").await;
        let c = pg.connect(&db).await;
        for m in plan_dir(dir, tool) {
            for st in &m.statements {
                if is_transaction_control(&st.sql) {
                    continue;
                }
                let where_ = format!("{}:{}", m.file.display(), st.line);
                checked += 1;
                if st.transactional {
                    problems.extend(check_transactional(&c, &where_, st).await);
                } else {
                    let (p, n) = check_sampled(pg, &db, &where_, st).await;
                    problems.extend(p);
                    sampled_locks += n;
                }
            }
        }
    }
    // The plain-SQL fixture (explicit BEGIN/COMMIT) too.
    let db = pg.create_database("plan_locks").await;
    let c = pg.connect(&db).await;
    let ms = plan::plan_paths(
        &[fixture("sql/django_0002_orders.sql")],
        &PlanOptions {
            tool: Some(Tool::Sql),
            version: Some("2".into()),
        },
    )
    .unwrap();
    for st in ms[0]
        .statements
        .iter()
        .filter(|s| !is_transaction_control(&s.sql))
    {
        checked += 1;
        problems.extend(check_transactional(&c, &format!("sql:{}", st.line), st).await);
    }
    assert!(checked >= 90, "only {checked} statements checked");
    assert!(
        sampled_locks > 0,
        "no lock of a non-transactional statement was ever sampled"
    );
    assert!(
        problems.is_empty(),
        "{} statements checked; plan weaker than PostgreSQL:\n{}",
        checked,
        problems.join("\n")
    );
}
