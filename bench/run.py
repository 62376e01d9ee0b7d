#!/usr/bin/env python3
"""Benchmark harness: pg_migration_exporter against postgres_exporter, on the
same PostgreSQL, the same schema and the same pgbench load, in one run.

Usage: bench/run.py [--scale default|large] [--window SECONDS] [--out FILE]

It starts its own PostgreSQL (pg_stat_statements on), builds the schema
(default: 2,000 tables in 4 schemas with 3 indexes each, 20 of them with 20k
rows, plus pgbench -s 10; large: 10,000 tables / 30,000 indexes and 1,000
backends with 200 blocked in lock chains), runs pgbench -c 4 -R 200
throughout, and measures, for this exporter and (when the Debian package
prometheus-postgres-exporter is installed) postgres_exporter with its
defaults and with per-table/per-index stats and sizes (--extend.query-path):

- database execution + planning time (pg_stat_statements, by role: each
  exporter connects as its own role) and database backend CPU (/proc);
- exporter CPU (/proc) and RSS after warm-up and peak (VmHWM);
- /metrics response time (median, p90, max over many scrapes), series, bytes;
- `promtool check metrics` problems;
- the time from a lock queue forming to it being visible on /metrics;
- scrapes and polls while a table is held in ACCESS EXCLUSIVE with a queue;
- the SQL floor: every statement this exporter ran (captured from the
  server log with its parameters) run again in psql with \\timing, against
  the database time one full cycle of every collector costs the exporter;
- a second instance with only the locks and activity collectors (its own
  role), to compare their cost at a 1 s interval with the reference's
  default scrape every 15 s.

--profile records the exporter with `perf` during its first round and writes
the top of the report next to the JSON.

Exporters are measured in alternating rounds, and ratios are computed pair
by pair (round by round) so a noisy machine skews both sides alike.
Standard library only. Prints one table and writes JSON.
"""

import argparse
import csv
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORTER = os.path.join(ROOT, "target/release/pg_migration_exporter")
CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pg_bin():
    return subprocess.check_output([os.path.join(ROOT, "scripts/pg-bin")], text=True).strip()


def as_postgres():
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")

    def demote():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return demote


class Postgres:
    def __init__(self, scale):
        self.bin = pg_bin()
        self.dir = tempfile.mkdtemp(prefix="pgmig-bench-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        subprocess.run([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=as_postgres())
        maxconn = 1300 if scale == "large" else 200
        locks = 1024 if scale == "large" else 256
        self.proc = subprocess.Popen(
            [f"{self.bin}/postgres", "-D", f"{self.dir}/data", "-p", str(self.port), "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1", "-c", "shared_preload_libraries=pg_stat_statements",
             "-c", "track_functions=all", "-c", f"max_connections={maxconn}", "-c", f"max_locks_per_transaction={locks}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "shared_buffers=256MB",
             # csvlog, for the floor: the statements the exporter ran, with their parameters.
             "-c", "logging_collector=on", "-c", "log_destination=stderr,csvlog",
             "-c", f"log_directory={self.dir}/log", "-c", "log_filename=pg.log"],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/postgres.log", "w"), preexec_fn=as_postgres())
        for _ in range(200):
            if subprocess.run([f"{self.bin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0:
                break
            time.sleep(0.1)

    def psql(self, sql, db="postgres", user="postgres", capture=True):
        psql = os.path.join(self.bin, "psql")
        if not os.path.exists(psql):
            psql = "/usr/bin/psql"
        r = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", user, "-d", db, "-c", sql], capture_output=capture, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout.strip() if capture else ""

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def build_schema(pg, scale):
    tables = 10000 if scale == "large" else 2000
    per_schema = tables // 4
    for s in range(4):
        pg.psql(f"""CREATE SCHEMA s{s};
DO $$ BEGIN FOR i IN 1..{per_schema} LOOP
  EXECUTE format('CREATE TABLE s{s}.t%s (id int PRIMARY KEY, a int, b text)', i);
  EXECUTE format('CREATE INDEX ON s{s}.t%s (a)', i);
  EXECUTE format('CREATE INDEX ON s{s}.t%s (b)', i);
END LOOP; END $$;""")
    for i in range(1, 21):
        pg.psql(f"INSERT INTO s0.t{i} SELECT g, g % 100, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE s0.t{i};")
    subprocess.run([f"{pg.bin}/pgbench", "-q", "-i", "-s", "10", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "postgres"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pg.psql("CREATE EXTENSION pg_stat_statements")
    pg.psql("VACUUM ANALYZE")
    for role in ["pgmig", "pgmig_fast", "pgmig_before", "pgmig_before_fast", "pgmig_floor", "pgexp_default", "pgexp_full"]:
        pg.psql(f"CREATE ROLE {role} LOGIN IN ROLE pg_monitor")
    return tables


def proc_cpu(pid):
    """CPU seconds of a process: every thread's time on CPU in nanoseconds
    (schedstat), since a few ms a minute is below the 10 ms ticks of stat."""
    total = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError):
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK


def proc_mem(pid):
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def scrape(port, timeout=60):
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            body = r.read()
        return time.perf_counter() - t, body
    except Exception:
        return time.perf_counter() - t, None


class Exporter:
    def __init__(self, name, cmd, env, port, role, scrape_based):
        self.name, self.port, self.role, self.scrape_based = name, port, role, scrape_based
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                     stderr=open(f"/tmp/pgmig-bench-{name}.log", "w"))
        # At most a minute: postgres_exporter's full setup may never answer
        # while a table is held in ACCESS EXCLUSIVE (the large scale holds ten).
        deadline = time.time() + 60
        while time.time() < deadline:
            d, b = scrape(port, 5)
            if b is not None:
                break
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def db_time(pg, role):
    """Execution + planning ms of a role's statements, and its backends' CPU seconds."""
    ms = float(pg.psql(f"SELECT coalesce(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements s "
                       f"JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '{role}'") or 0)
    pids = [p for p in pg.psql(f"SELECT pid FROM pg_stat_activity WHERE usename = '{role}'").split() if p]
    cpu = 0.0
    for p in pids:
        try:
            cpu += proc_cpu(int(p))
        except OSError:
            pass
    return ms, cpu


def measure(pg, e, window, scrapes_every):
    """One round: `window` seconds of normal operation, scraped every `scrapes_every` s."""
    ms0, bcpu0 = db_time(pg, e.role)
    floor0, _ = db_time(pg, FLOOR_ROLE)
    cpu0 = proc_cpu(e.proc.pid)
    times, sizes, series = [], [], []
    t_end = time.time() + window
    while time.time() < t_end:
        d, body = scrape(e.port)
        times.append(d)
        if body is not None:
            sizes.append(len(body))
            series.append(sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#")))
        time.sleep(max(0, scrapes_every - d))
    ms1, bcpu1 = db_time(pg, e.role)
    floor1, _ = db_time(pg, FLOOR_ROLE)
    cpu1 = proc_cpu(e.proc.pid)
    n = len(times)
    return {
        "scrapes": n,
        "db_ms_per_min": (ms1 - ms0) * 60 / window,
        "floor_db_ms_per_min": (floor1 - floor0) * 60 / window,
        "db_backend_cpu_ms_per_min": (bcpu1 - bcpu0) * 1000 * 60 / window,
        "exporter_cpu_ms_per_min": (cpu1 - cpu0) * 1000 * 60 / window,
        "db_ms_per_scrape": (ms1 - ms0) / n,
        "exporter_cpu_ms_per_scrape": (cpu1 - cpu0) * 1000 / n,
        "scrape_ms": times,
        "bytes": statistics.median(sizes) if sizes else 0,
        "series": statistics.median(series) if series else 0,
    }


def promtool_problems(port):
    _, body = scrape(port)
    if body is None or not shutil.which("promtool"):
        return None
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    out = (r.stdout + r.stderr).decode().strip()
    return len([l for l in out.splitlines() if l.strip()])


def default_timeouts():
    """Each built-in collector's default timeout in seconds, as the exporter
    itself reports it (`--check-config` without a config file)."""
    r = subprocess.run([EXPORTER, "--check-config"], capture_output=True, text=True,
                       env={"PATH": os.environ.get("PATH", ""), "PGMIG_DATABASE_URL": "postgres://bench@127.0.0.1/bench"})
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return {name: float(v) * units[u]
            for name, v, u in re.findall(r"^  (\w+): every \S+ \(timeout ([0-9.]+)(ms|s|m|h)\)", r.stdout, re.M)}


def collector_report(port, timeouts=None):
    """Per collector, from this exporter's own self-metrics: runs, mean and
    worst-case duration (the smallest histogram bucket holding every run),
    errors and timeouts, series dropped by a cardinality bound, and whether
    every run stayed within its default timeout (`timeouts`, by collector)."""
    _, body = scrape(port)
    if body is None:
        return None
    out = {}
    sample = re.compile(r'^(pgmig_collector_[a-z_]+)\{([^}]*)\} (\S+)$')
    for line in body.decode(errors="replace").splitlines():
        m = sample.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
        c = out.setdefault(labels.get("collector", "?"), {"runs": 0, "sum_s": 0.0, "buckets": [], "errors": 0, "timeouts": 0,
                                                          "series_dropped": 0, "success": None})
        if name == "pgmig_collector_duration_seconds_count":
            c["runs"] += value
        elif name == "pgmig_collector_duration_seconds_sum":
            c["sum_s"] += value
        elif name == "pgmig_collector_duration_seconds_bucket":
            c["buckets"].append((float(labels["le"]), value))
        elif name == "pgmig_collector_errors_total":
            c["timeouts" if labels.get("kind") == "timeout" else "errors"] += value
        elif name == "pgmig_collector_series_dropped":
            c["series_dropped"] += value
        elif name == "pgmig_collector_success":
            c["success"] = value if c["success"] is None else min(c["success"], value)
    for name, c in out.items():
        runs = c["runs"]
        worst = next((le for le, n in sorted(c.pop("buckets")) if n >= runs), None) if runs else None
        c["mean_ms"] = c.pop("sum_s") * 1000 / runs if runs else None
        c["worst_at_most_s"] = worst
        timeout = (timeouts or {}).get(name)
        c["default_timeout_s"] = timeout
        c["within_default_timeout"] = None if timeout is None or worst is None else (worst <= timeout and c["timeouts"] == 0)
    return out


FLOOR_ROLE = "pgmig_floor"
FLOOR_SQL = "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_catalog.pg_stat_activity;"


class Floor:
    """The floor for 1 s lock visibility: one aggregate over pg_stat_activity
    (the sessions waiting on a Lock) every second, on one session of its own
    role, so that pg_stat_statements gives its database time beside the
    exporters' in every round."""

    def __init__(self, pg):
        psql = os.path.join(pg.bin, "psql") if os.path.exists(os.path.join(pg.bin, "psql")) else "/usr/bin/psql"
        self.proc = subprocess.Popen([psql, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", FLOOR_ROLE, "-d", "postgres",
                                      "-o", "/dev/null"], stdin=subprocess.PIPE, text=True)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_event.wait(1.0):
            try:
                self.proc.stdin.write(FLOOR_SQL + "\n")
                self.proc.stdin.flush()
            except OSError:
                return

    def stop(self):
        self.stop_event.set()
        self.thread.join()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()


def lock_visibility(pg, port):
    """A lock queue forming on a table nobody waited on (beside the large
    scale's standing queues): a session idle in its transaction holds a
    lock on s1.t1, an ALTER TABLE queues behind it. Seconds from the DDL
    waiting (seen in pg_stat_activity) to /metrics naming it with its
    blocking root: pgmig_blocked_backend_wait_seconds for the DDL's pid with
    blocking_root_pid = the holder and mode AccessExclusiveLock, and the
    root's state (idle in transaction) and transaction age."""
    psql = os.path.join(pg.bin, "psql") if os.path.exists(os.path.join(pg.bin, "psql")) else "/usr/bin/psql"
    holder = subprocess.Popen([psql, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write("SET application_name = 'bench_holder'; BEGIN; SELECT count(*) FROM s1.t1; SELECT pg_backend_pid();\n")
    holder.stdin.flush()
    holder.stdout.readline()  # the count
    root = holder.stdout.readline().strip()
    ddl = subprocess.Popen([psql, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
                            "-c", "SET application_name = 'bench_ddl'", "-c", f"ALTER TABLE s1.t1 ADD COLUMN bench_note_{int(time.time() * 1000)} text"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    formed, ddl_pid = None, None
    for _ in range(500):
        r = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_ddl' AND wait_event_type = 'Lock'")
        if r:
            formed, ddl_pid = time.perf_counter(), r.split()[0]
            break
        time.sleep(0.02)
    seen = None
    while formed and time.perf_counter() - formed < 30:
        _, body = scrape(port)
        text = body.decode(errors="replace") if body else ""
        wait = re.search(r'^pgmig_blocked_backend_wait_seconds\{[^}]*pid="%s"[^}]*\}' % ddl_pid, text, re.M)
        ok = (wait and f'blocking_root_pid="{root}"' in wait.group(0) and 'mode="AccessExclusiveLock"' in wait.group(0)
              and re.search(r'^pgmig_blocking_root_blocked_backends\{[^}]*pid="%s"[^}]*state="idle in transaction"' % root, text, re.M)
              and any(float(v) > 0 for v in re.findall(
                  r'^pgmig_blocking_root_transaction_seconds\{[^}]*pid="%s"[^}]*\} (\S+)' % root, text, re.M))
              or None)
        if ok:
            seen = time.perf_counter() - formed
            break
        time.sleep(0.05)
    holder.stdin.write("ROLLBACK;\n")
    holder.stdin.close()
    holder.wait()
    ddl.wait()
    return seen


def under_lock(pg, exporters):
    """Scrape times and timeouts while s2.t5 is held in ACCESS EXCLUSIVE with a queue."""
    holder = subprocess.Popen([os.path.join(pg.bin, "psql") if os.path.exists(os.path.join(pg.bin, "psql")) else "/usr/bin/psql",
                               "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
                               "-c", "BEGIN; LOCK TABLE s2.t5 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(80); COMMIT;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    waiter = threading.Thread(target=lambda: pg.psql("SELECT count(*) FROM s2.t5"))
    waiter.start()
    out = {}
    for e in exporters:
        times = []
        for _ in range(5):
            d, body = scrape(e.port, timeout=35)
            times.append(d if body is not None else None)
        skipped = False
        if e.name == "pg_migration_exporter":
            # The tables collector runs every 60 s by default: wait for its
            # next run to report the locked table as skipped.
            deadline = time.time() + 70
            while time.time() < deadline and not skipped:
                _, body = scrape(e.port, timeout=35)
                text = body.decode(errors="replace") if body else ""
                skipped = any(l.startswith("pgmig_table_locked{") and 'table="t5"' in l and l.endswith(" 1")
                              for l in text.splitlines())
                if not skipped:
                    time.sleep(1)
        timeouts = None
        if e.name == "pg_migration_exporter":
            timeouts = sum(c["timeouts"] for c in (collector_report(e.port) or {}).values())
        out[e.name] = {"scrape_s": times, "locked_table_reported_skipped": skipped if e.name == "pg_migration_exporter" else None,
                       "collector_timeouts_total": timeouts}
    holder.wait()
    waiter.join()
    return out


def capture_statements(pg, role, seconds):
    """The statements `role` runs during `seconds`, from the csvlog with
    log_min_duration_statement = 0: {sql: parameters (list of literals)}."""
    pg.psql("ALTER SYSTEM SET log_min_duration_statement = 0")
    pg.psql("SELECT pg_reload_conf()")
    time.sleep(seconds)
    pg.psql("ALTER SYSTEM RESET log_min_duration_statement")
    pg.psql("SELECT pg_reload_conf()")
    time.sleep(1)
    found = {}
    path = os.path.join(pg.dir, "log", "pg.csv")
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) < 15 or row[1] != role:
                continue
            m = re.match(r"duration: [0-9.]+ ms  (execute [^:]+|statement): (.*)", row[13], re.S)
            if not m:
                continue
            sql = m.group(2)
            if re.match(r"\s*(SET|RESET|SHOW|BEGIN|COMMIT|ROLLBACK)\b", sql, re.I):
                continue  # session setup, not a collection
            params = []
            if row[14].startswith("parameters: "):
                params = re.findall(r"\$\d+ = ('(?:[^']|'')*'|NULL)", row[14])
            found.setdefault(sql, params)
    return found


def psql_floor(pg, role, sql, params, runs=5):
    """Median ms of one statement run in psql with \\timing, as `role`."""
    if params or "$1" in sql:
        script = f"PREPARE pgmig_floor AS {sql};\n" + "".join(
            f"EXECUTE pgmig_floor({', '.join(params)});\n" for _ in range(runs))
    else:
        script = "".join(f"{sql};\n" for _ in range(runs))
    psql = os.path.join(pg.bin, "psql") if os.path.exists(os.path.join(pg.bin, "psql")) else "/usr/bin/psql"
    r = subprocess.run([psql, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", role, "-d", "postgres",
                        "-o", "/dev/null", "-c", "\\timing on", "-f", "-"],
                       input=script, capture_output=True, text=True)
    times = [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", r.stdout + r.stderr)]
    if params or "$1" in sql:
        times = times[1:]  # the PREPARE
    if len(times) < runs:
        return None
    return statistics.median(times)


def sql_floor(pg, role):
    """This exporter's database time for one full cycle of every collector
    (pg_stat_statements: execution + planning per call, summed over its
    statements) against the floor: the same statements in psql."""
    cycle = float(pg.psql(
        "SELECT coalesce(sum((total_exec_time + total_plan_time) / calls), 0) FROM pg_stat_statements s "
        f"JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '{role}' AND calls > 0 "
        "AND query !~* '^\\s*(SET|RESET|SHOW|BEGIN|COMMIT|ROLLBACK)\\M'") or 0)
    statements = capture_statements(pg, role, 65)
    floors, failed = [], 0
    for sql, params in statements.items():
        t = psql_floor(pg, role, sql, params)
        if t is None:
            failed += 1
        else:
            floors.append(t)
    floor = sum(floors)
    return {"statements": len(statements), "not_replayed": failed, "cycle_db_ms": cycle,
            "floor_psql_ms": floor, "ratio": cycle / floor if floor else None}


def perf_profile(pid, seconds, out):
    """perf record on the exporter; the top of the report goes to `out`."""
    if not shutil.which("perf"):
        return None
    data = out + ".data"
    subprocess.run(["perf", "record", "-q", "-F", "4999", "-g", "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none",
                        "--percent-limit", "0.7"], capture_output=True, text=True)
    with open(out, "w") as f:
        f.write("".join(line.rstrip() + "\n" for line in r.stdout.splitlines()))
    os.unlink(data)
    return out


def pair_ratio(num, den, key="db_ms_per_min", den_key=None):
    """Median over rounds of num[key] / den[den_key or key], round by round."""
    pairs = list(zip(num, den))
    if not pairs:
        return None
    return statistics.median(n[key] / max(d[den_key or key], 1e-9) for n, d in pairs)


def ratios(rounds):
    """Database time ratios, each pair measured in the same round: this
    exporter at its defaults against postgres_exporter at its defaults, its
    every-second lane against the floor (measured during the same window),
    and the same for an earlier build when there is one."""
    out = {}
    ref = rounds.get("postgres_exporter_defaults", [])
    for name in ["pg_migration_exporter", "pg_migration_exporter_before"]:
        if name not in rounds:
            continue
        tag = "" if name == "pg_migration_exporter" else "_before"
        fast = rounds.get(name + "_fast_lane", [])
        out["default_vs_reference_default" + tag] = pair_ratio(rounds[name], ref)
        out["fast_lane_vs_floor" + tag] = pair_ratio(fast, fast, "db_ms_per_min", "floor_db_ms_per_min")
        out["fast_lane_db_ms_per_min" + tag] = statistics.median(r["db_ms_per_min"] for r in fast) if fast else None
        out["slow_lanes_db_ms_per_min" + tag] = (statistics.median(r["db_ms_per_min"] for r in rounds[name]) - out["fast_lane_db_ms_per_min" + tag]
                                                 if fast else None)
    floors = [r["floor_db_ms_per_min"] for rs in rounds.values() for r in rs]
    out["floor_db_ms_per_min"] = statistics.median(floors) if floors else None
    if "postgres_exporter_full" in rounds and "pg_migration_exporter" in rounds:
        out["default_vs_reference_full"] = pair_ratio(rounds["pg_migration_exporter"], rounds["postgres_exporter_full"])
    return out


def targets(results):
    """Issue 20's targets, met or not, from this run."""
    r, ours = results["ratios"], results["exporters"].get("pg_migration_exporter", {})
    check = lambda v, bound: None if v is None else v <= bound
    return {
        "db_time_at_most_1.0x_reference_defaults": check(r.get("default_vs_reference_default"), 1.0),
        "fast_lane_within_1.5x_floor": check(r.get("fast_lane_vs_floor"), 1.5),
        "lock_queue_named_within_2s": check(results.get("lock_visible_after_s"), 2.0),
        "metrics_median_at_most_10ms": check(ours.get("scrape_median_ms"), 10.0),
        "rss_at_most_30mb": check(ours.get("peak_rss_mb"), 30.0),
    }


def statements_by_role(pg, roles):
    """Each role's statements by total database time (pg_stat_statements,
    execution + planning): calls, total and mean ms, the start of the text."""
    out = {}
    for role in roles:
        rows = pg.psql("SELECT calls, round((total_exec_time + total_plan_time)::numeric, 1), "
                       "round(((total_exec_time + total_plan_time) / greatest(calls, 1))::numeric, 2), "
                       "regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements s "
                       f"JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '{role}' "
                       "ORDER BY 2 DESC LIMIT 12")
        out[role] = [dict(zip(["calls", "total_ms", "mean_ms", "query"], l.split("|", 3))) for l in rows.splitlines() if l]
    return out


EXTEND_QUERIES = """
pg_stat_user_tables_ext:
  query: "SELECT schemaname, relname, seq_scan, idx_scan, n_live_tup, n_dead_tup, pg_total_relation_size(relid) AS total_bytes FROM pg_stat_user_tables"
  metrics:
    - schemaname: {usage: LABEL, description: schema}
    - relname: {usage: LABEL, description: table}
    - seq_scan: {usage: COUNTER, description: seq scans}
    - idx_scan: {usage: COUNTER, description: index scans}
    - n_live_tup: {usage: GAUGE, description: live rows}
    - n_dead_tup: {usage: GAUGE, description: dead rows}
    - total_bytes: {usage: GAUGE, description: size}
pg_stat_user_indexes_ext:
  query: "SELECT schemaname, relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch, pg_relation_size(indexrelid) AS bytes FROM pg_stat_user_indexes"
  metrics:
    - schemaname: {usage: LABEL, description: schema}
    - relname: {usage: LABEL, description: table}
    - indexrelname: {usage: LABEL, description: index}
    - idx_scan: {usage: COUNTER, description: scans}
    - idx_tup_read: {usage: COUNTER, description: read}
    - idx_tup_fetch: {usage: COUNTER, description: fetched}
    - bytes: {usage: GAUGE, description: size}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=["default", "large"], default="default")
    ap.add_argument("--window", type=int, default=60, help="seconds per measurement round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/latest.json"))
    ap.add_argument("--profile", action="store_true", help="perf record this exporter during its first round")
    ap.add_argument("--no-sql-floor", action="store_true", help="skip the SQL floor (65 s of logged statements replayed in psql)")
    ap.add_argument("--before", metavar="BINARY",
                    help="an earlier build of this exporter, run beside it in the same run (its defaults and its fast lane alone)")
    a = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
    started = time.time()
    pg = Postgres(a.scale)
    load = None
    exporters = []
    try:
        print(f"bench: building the {a.scale} schema...", flush=True)
        tables = build_schema(pg, a.scale)
        load = subprocess.Popen([f"{pg.bin}/pgbench", "-c", "4", "-R", "200", "-T", "100000", "-h", "127.0.0.1",
                                 "-p", str(pg.port), "-U", "postgres", "postgres"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        holders = []
        if a.scale == "large":
            # 1,000 connected backends, 200 of them blocked in lock chains.
            for i in range(1, 11):
                holders.append(subprocess.Popen(["/usr/bin/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                                                 "-c", f"BEGIN; LOCK TABLE s3.t{i}; SELECT pg_sleep(100000);"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1)
            for i in range(1, 11):
                for _ in range(20):
                    holders.append(subprocess.Popen(["/usr/bin/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                                                     "-c", f"SELECT count(*) FROM s3.t{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for _ in range(790):
                holders.append(subprocess.Popen(["/usr/bin/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                                                 "-c", "SELECT pg_sleep(100000)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(5)

        cfg = os.path.join(pg.dir, "pgmig.yml")
        with open(cfg, "w") as f:
            f.write("collectors:\n  statements: {top_n: 50}\n")
            if a.scale == "large":
                # 8,000 indexes (7 series each) and 2,000 tables (9 each): about
                # 75,000 series, the size of the reference's full setup, for the
                # 75k-series targets. PGMIG_BENCH_MAX_INDEXES=30100 serves every
                # index (about 217,000 series).
                idx = os.environ.get("PGMIG_BENCH_MAX_INDEXES", "8000")
                tbl = os.environ.get("PGMIG_BENCH_MAX_TABLES", "2000")
                f.write(f"  indexes: {{max_indexes: {idx}}}\n  tables: {{max_tables: {tbl}}}\n")
        floor = Floor(pg)
        # Only the every-second lane (locks, activity, probe), on its own role:
        # what "who is blocked, what is running" costs the database by itself.
        fast_cfg = os.path.join(pg.dir, "pgmig-fast.yml")
        with open(fast_cfg, "w") as f:
            f.write("collectors:\n" + "".join(
                f"  {c}: {{enabled: false}}\n" for c in ["progress", "database", "statements", "indexes", "tables",
                                                      "functions", "expected_objects", "frameworks"]))
        builds = [("pg_migration_exporter", EXPORTER, "pgmig", "pgmig_fast")]
        if a.before:
            builds.append(("pg_migration_exporter_before", os.path.abspath(a.before), "pgmig_before", "pgmig_before_fast"))
        ours = None
        for name, binary, role, fast_role in builds:
            for suffix, config, r in [("", cfg, role), ("_fast_lane", fast_cfg, fast_role)]:
                port = free_port()
                e = Exporter(name + suffix, [binary, "--web.listen-address", f"127.0.0.1:{port}", "--config.file", config,
                                             "--log.level", "warn"],
                             {"PGMIG_DATABASE_URL": f"postgres://{r}@127.0.0.1:{pg.port}/postgres?sslmode=disable",
                              "PGMIG_TARGET_NAME": "bench"},
                             port, r, False)
                exporters.append(e)
                ours = ours or e
        ref = shutil.which("prometheus-postgres-exporter")
        if ref:
            qfile = os.path.join(pg.dir, "queries.yaml")
            with open(qfile, "w") as f:
                f.write(EXTEND_QUERIES)
            for name, role, extra in [("postgres_exporter_defaults", "pgexp_default", []),
                                      ("postgres_exporter_full", "pgexp_full", [f"--extend.query-path={qfile}"])]:
                port = free_port()
                exporters.append(Exporter(name, [ref, f"--web.listen-address=127.0.0.1:{port}"] + extra,
                                          {"DATA_SOURCE_NAME": f"postgresql://{role}@127.0.0.1:{pg.port}/postgres?sslmode=disable"},
                                          port, role, True))
        else:
            print("bench: prometheus-postgres-exporter is not installed (apt-get install prometheus-postgres-exporter): measuring this exporter alone", flush=True)

        print("bench: warming up (30s)...", flush=True)
        time.sleep(30)
        rounds = {e.name: [] for e in exporters}
        for r in range(a.rounds):
            for e in exporters:
                print(f"bench: round {r + 1}/{a.rounds}: {e.name} ({a.window}s)", flush=True)
                # Ours is polled in the background anyway: scrape it every 15 s like
                # Prometheus, plus a burst of timing scrapes below.
                profiling = None
                if a.profile and r == 0 and e is ours:
                    out = os.path.join(os.path.dirname(a.out), f"profile-{a.scale}.txt")
                    profiling = threading.Thread(target=perf_profile, args=(e.proc.pid, a.window, out))
                    profiling.start()
                rounds[e.name].append(measure(pg, e, a.window, 15))
                if profiling:
                    profiling.join()
        results = {"scale": a.scale, "tables": tables, "window_s": a.window, "rounds": a.rounds, "exporters": {}}
        for e in exporters:
            burst = []
            for _ in range(30 if not e.scrape_based else 10):
                d, body = scrape(e.port)
                burst.append(d)
                if body is None:
                    break  # one failed scrape (a timeout behind a lock) is enough to know
            rs = rounds[e.name]
            rss, hwm = proc_mem(e.proc.pid)
            all_times = [t for r in rs for t in r["scrape_ms"]] + burst
            results["exporters"][e.name] = {
                "series": rs[-1]["series"],
                "bytes": rs[-1]["bytes"],
                "scrape_median_ms": statistics.median(all_times) * 1000,
                "scrape_p90_ms": sorted(all_times)[int(len(all_times) * 0.9) - 1] * 1000,
                "scrape_max_ms": max(all_times) * 1000,
                "db_ms_per_min": statistics.median(r["db_ms_per_min"] for r in rs),
                "db_backend_cpu_ms_per_min": statistics.median(r["db_backend_cpu_ms_per_min"] for r in rs),
                "exporter_cpu_ms_per_min": statistics.median(r["exporter_cpu_ms_per_min"] for r in rs),
                "db_ms_per_scrape": statistics.median(r["db_ms_per_scrape"] for r in rs),
                "exporter_cpu_ms_per_scrape": statistics.median(r["exporter_cpu_ms_per_scrape"] for r in rs),
                "rss_mb": rss,
                "peak_rss_mb": hwm,
                "promtool_problems": promtool_problems(e.port),
                "rounds": rs,
            }
        timeouts = default_timeouts()
        results["collectors"] = {e.name: collector_report(e.port, timeouts) for e in exporters if not e.scrape_based}
        if not a.no_sql_floor:
            print("bench: the SQL floor (65 s of statements from the server log, replayed in psql)...", flush=True)
        results["sql_floor"] = None if a.no_sql_floor else sql_floor(pg, "pgmig")
        results["lock_visible_after_s"] = lock_visibility(pg, ours.port)
        if a.before:
            results["lock_visible_after_s_before"] = lock_visibility(pg, next(e for e in exporters if e.name == "pg_migration_exporter_before").port)
        results["statements_by_role"] = statements_by_role(pg, [e.role for e in exporters] + [FLOOR_ROLE])
        results["under_access_exclusive"] = under_lock(pg, exporters)
        # Pair-by-pair ratios against the reference's full setup, round by round.
        if "postgres_exporter_full" in rounds:
            pairs = list(zip(rounds["pg_migration_exporter"], rounds["postgres_exporter_full"]))
            results["ratios_vs_reference_full"] = {
                # Ours polls in the background; theirs costs per scrape at a 15 s scrape interval:
                # compare the cost per minute of each at that cadence.
                "db_time_per_min": statistics.median(o["db_ms_per_min"] / max(t["db_ms_per_min"], 1e-9) for o, t in pairs),
                "exporter_cpu_per_min": statistics.median(o["exporter_cpu_ms_per_min"] / max(t["exporter_cpu_ms_per_min"], 1e-9) for o, t in pairs),
            }
        results["ratios"] = ratios(rounds)
        results["targets"] = targets(results)
        results["elapsed_s"] = time.time() - started
    finally:
        if locals().get("floor"):
            floor.stop()
        for e in exporters:
            e.stop()
        if load:
            load.terminate()
        for h in locals().get("holders", []):
            h.terminate()
        pg.stop()

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2, default=str)
    print()
    short = lambda n: n.replace("pg_migration_exporter", "pgmig").replace("postgres_exporter", "pgexp")[:26]
    print(f"{'':34}" + "".join(f"{short(n):>28}" for n in results["exporters"]))
    rows = [("series", "series", "{:.0f}"), ("bytes", "bytes served", "{:.0f}"), ("scrape_median_ms", "/metrics median ms", "{:.1f}"),
            ("scrape_p90_ms", "/metrics p90 ms", "{:.1f}"), ("scrape_max_ms", "/metrics max ms", "{:.1f}"),
            ("db_ms_per_min", "DB exec+plan ms per minute", "{:.1f}"), ("db_backend_cpu_ms_per_min", "DB backend CPU ms per minute", "{:.0f}"),
            ("exporter_cpu_ms_per_min", "exporter CPU ms per minute", "{:.0f}"), ("db_ms_per_scrape", "DB ms per scrape", "{:.1f}"),
            ("exporter_cpu_ms_per_scrape", "exporter CPU ms per scrape", "{:.1f}"), ("rss_mb", "RSS MB", "{:.1f}"),
            ("peak_rss_mb", "peak RSS MB", "{:.1f}"), ("promtool_problems", "promtool problems", "{}")]
    for key, label, fmt in rows:
        print(f"{label:34}" + "".join(f"{fmt.format(v[key]) if v[key] is not None else '-':>28}" for v in results["exporters"].values()))
    for name, report in results.get("collectors", {}).items():
        print(f"\n{short(name)} collectors: runs, mean ms, worst run at most (s), default timeout (s), timeouts, errors, series dropped")
        for c, v in sorted((report or {}).items()):
            mean = f"{v['mean_ms']:.1f}" if v["mean_ms"] is not None else "-"
            print(f"  {c:18}{v['runs']:>7.0f}{mean:>10}{str(v['worst_at_most_s']):>8}{str(v['default_timeout_s']):>6}"
                  f"{v['timeouts']:>5.0f}{v['errors']:>5.0f}{v['series_dropped']:>7.0f}")
    print(f"\nlock queue visible on /metrics after: {results['lock_visible_after_s']}")
    print(f"SQL floor: {json.dumps(results['sql_floor'])}")
    print(f"under ACCESS EXCLUSIVE: {json.dumps(results['under_access_exclusive'])}")
    if "ratios_vs_reference_full" in results:
        print(f"ratios vs postgres_exporter full (pair by pair): {json.dumps(results['ratios_vs_reference_full'])}")
    print(f"ratios (pair by pair, round by round): {json.dumps(results.get('ratios'), indent=1)}")
    print(f"targets: {json.dumps(results.get('targets'), indent=1)}")
    print(f"\nwritten to {a.out}; elapsed {results['elapsed_s']:.0f}s")


if __name__ == "__main__":
    main()
