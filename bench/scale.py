#!/usr/bin/env python3
"""The many-databases story, measured: one exporter for N databases against
one exporter per database (docs/scale.md).

Usage: bench/scale.py [--clusters 2] [--databases 200] [--single 20]
                      [--window 60] [--out bench/results/scale.json]

Starts --clusters local PostgreSQL clusters and spreads --databases
databases over them (each a copy of a template with 20 tables, 40 indexes
and pg_stat_statements). Then, one after the other, with the default
collectors and intervals:

- many: one exporter whose config file lists every database as a target
  (role pgmig_many);
- single: --single exporters, one per database (role pgmig_single), whose
  totals are scaled to --databases linearly (each exporter is independent:
  same queries, own process), which the output says;

and for each measures, over --window seconds scraped every 15 s as a
Prometheus would: connections held (pg_stat_activity by role), database
time (pg_stat_statements execution + planning, by role) and backend CPU
(/proc), exporter CPU (/proc schedstat) and RSS, /metrics bytes, series and
scrape time. Last, what fails together: one cluster is stopped under the
many-targets exporter and the other cluster's targets are checked (still
up, scrape time).

Standard library only; uses bench/run.py's helpers. The exporter binary is
target/release/pg_migration_exporter (cargo build --release).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark harness's helpers)

TEMPLATE_SQL = """
CREATE EXTENSION pg_stat_statements;
DO $$ BEGIN FOR i IN 1..20 LOOP
  EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, a int, b text)', i);
  EXECUTE format('CREATE INDEX ON t%s (a)', i);
  EXECUTE format('INSERT INTO t%s SELECT g, g %% 100, md5(g::text) FROM generate_series(1, 1000) g', i);
END LOOP; END $$;
ANALYZE;
"""


class Cluster:
    def __init__(self, max_connections):
        self.bin = run.pg_bin()
        self.dir = tempfile.mkdtemp(prefix="pgmig-scale-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            import shutil
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = run.free_port()
        subprocess.run([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=run.as_postgres())
        self.proc = subprocess.Popen(
            [f"{self.bin}/postgres", "-D", f"{self.dir}/data", "-p", str(self.port), "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1", "-c", "shared_preload_libraries=pg_stat_statements",
             "-c", f"max_connections={max_connections}", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "shared_buffers=128MB"],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/postgres.log", "w"), preexec_fn=run.as_postgres())
        for _ in range(300):
            if subprocess.run([f"{self.bin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0:
                break
            time.sleep(0.1)

    psql = run.Postgres.psql

    def stop(self, mode="fast"):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
            self.proc.wait()

    def remove(self):
        self.stop()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def db_time(clusters, role):
    """Execution + planning ms of a role's statements and its backends' CPU s, over all clusters."""
    ms, cpu = 0.0, 0.0
    for c in clusters:
        if c.proc.poll() is not None:
            continue
        m, b = run.db_time(c, role)
        ms, cpu = ms + m, cpu + b
    return ms, cpu


def connections(clusters, role):
    return sum(int(c.psql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'"))
               for c in clusters if c.proc.poll() is None)


def start_exporter(name, env):
    port = run.free_port()
    cmd = [run.EXPORTER, "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"]
    proc = subprocess.Popen(cmd, env={**{k: v for k, v in os.environ.items() if not k.startswith("PG")}, **env},
                            stdout=subprocess.DEVNULL, stderr=open(f"/tmp/pgmig-scale-{name}.log", "w"))
    return proc, port


def wait_ready(port, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"exporter on {port} not ready after {timeout}s")


def measure(clusters, role, exporters, window, warmup):
    """`exporters`: [(proc, port)]. Totals over all of them."""
    for _, port in exporters:
        wait_ready(port)
    time.sleep(warmup)
    ms0, b0 = db_time(clusters, role)
    cpu0 = sum(run.proc_cpu(p.pid) for p, _ in exporters)
    times, sizes, series, conns = [], [], [], []
    t_end = time.time() + window
    while time.time() < t_end:
        t_round = time.time()
        for _, port in exporters:
            d, body = run.scrape(port)
            times.append(d * 1000)
            if body is not None:
                sizes.append(len(body))
                series.append(sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#")))
        conns.append(connections(clusters, role))
        time.sleep(max(0, 15 - (time.time() - t_round)))
    ms1, b1 = db_time(clusters, role)
    cpu1 = sum(run.proc_cpu(p.pid) for p, _ in exporters)
    rss = [run.proc_mem(p.pid) for p, _ in exporters]
    n_scrapes = len(times) // max(1, len(exporters))
    return {
        "exporters": len(exporters),
        "rounds": n_scrapes,
        "connections_max": max(conns),
        "connections_median": statistics.median(conns),
        "db_ms_per_min": (ms1 - ms0) * 60 / window,
        "db_backend_cpu_ms_per_min": (b1 - b0) * 1000 * 60 / window,
        "exporter_cpu_ms_per_min": (cpu1 - cpu0) * 1000 * 60 / window,
        "rss_mib_total": sum(r for r, _ in rss),
        "rss_mib_max_one": max(r for r, _ in rss),
        "hwm_mib_max_one": max(h for _, h in rss),
        "bytes_per_scrape_median": statistics.median(sizes),
        "bytes_total_per_round": statistics.median(sizes) * len(exporters),
        "series_per_scrape_median": statistics.median(series),
        "series_total_per_round": statistics.median(series) * len(exporters),
        "scrape_ms_median": statistics.median(times),
        "scrape_ms_max": max(times),
    }


def fails_together(clusters, port, names_by_cluster):
    """Stop the last cluster; check the others' targets stay up and scrapes stay fast."""
    victim = clusters[-1]
    victim.stop("immediate")
    time.sleep(20)
    times, up = [], {}
    body = None
    for _ in range(5):
        d, b = run.scrape(port)
        times.append(d * 1000)
        body = b if b is not None else body
        time.sleep(1)
    for line in (body or b"").decode().splitlines():
        if line.startswith("pgmig_up{"):
            target = line.split('target="', 1)[1].split('"', 1)[0]
            up[target] = float(line.rsplit(" ", 1)[1])
    result = {}
    for i, names in enumerate(names_by_cluster):
        vals = [up.get(n) for n in names]
        result[f"cluster{i}"] = {
            "stopped": i == len(clusters) - 1,
            "targets": len(names),
            "up_1": sum(1 for v in vals if v == 1.0),
            "up_0": sum(1 for v in vals if v == 0.0),
        }
    result["scrape_ms_median_after"] = statistics.median(times)
    result["scrape_ms_max_after"] = max(times)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=2)
    ap.add_argument("--databases", type=int, default=200)
    ap.add_argument("--single", type=int, default=20)
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=70,
                    help="seconds after /readyz before measuring: every collector (1 min intervals) has run")
    ap.add_argument("--out", default=os.path.join(run.ROOT, "bench/results/scale.json"))
    a = ap.parse_args()
    if not os.path.exists(run.EXPORTER):
        sys.exit(f"{run.EXPORTER} missing: cargo build --release")
    started = time.time()
    per = -(-a.databases // a.clusters)
    # Two connections per target for the many-targets exporter and each single exporter, plus slack.
    clusters = [Cluster(max_connections=2 * per + 2 * a.single + 20) for _ in range(a.clusters)]
    started_exporters, cleanup = [], []
    try:
        names_by_cluster, dsns = [], {}
        for i, c in enumerate(clusters):
            c.psql(TEMPLATE_SQL, db="template1")
            # The harness reads pg_stat_statements from the maintenance database.
            c.psql("CREATE EXTENSION pg_stat_statements")
            for role in ("pgmig_many", "pgmig_single"):
                c.psql(f"CREATE ROLE {role} LOGIN IN ROLE pg_monitor")
            names = []
            for k in range(per if i < a.clusters - 1 else a.databases - per * (a.clusters - 1)):
                db = f"db{i}_{k:03d}"
                c.psql(f"CREATE DATABASE {db}")
                names.append(db)
                dsns[db] = (c.port, db)
            names_by_cluster.append(names)
        print(f"{a.databases} databases on {a.clusters} clusters in {time.time() - started:.0f}s", flush=True)

        workdir = tempfile.mkdtemp(prefix="pgmig-scale-cfg-")
        cleanup.append(workdir)
        config = os.path.join(workdir, "config.yml")
        with open(config, "w") as f:
            f.write("targets:\n")
            for db, (port, name) in dsns.items():
                f.write(f"  - name: {db}\n    dsn: postgres://pgmig_many@127.0.0.1:{port}/{name}?sslmode=disable\n")

        proc, port = start_exporter("many", {"PGMIG_CONFIG_FILE": config})
        started_exporters.append(proc)
        many = measure(clusters, "pgmig_many", [(proc, port)], a.window, a.warmup)
        print("many:", json.dumps(many), flush=True)

        # One exporter per database for a subset, spread over the clusters like the targets.
        subset = [names_by_cluster[i % a.clusters][i // a.clusters] for i in range(a.single)]
        singles = []
        for db in subset:
            p, n = dsns[db]
            singles.append(start_exporter(f"single-{db}", {
                "PGMIG_DATABASE_URL": f"postgres://pgmig_single@127.0.0.1:{p}/{n}?sslmode=disable",
                "PGMIG_TARGET_NAME": db}))
            started_exporters.append(singles[-1][0])
        single = measure(clusters, "pgmig_single", singles, a.window, a.warmup)
        for p, _ in singles:
            p.terminate()
            p.wait()
        scale = a.databases / a.single
        keys = ["connections_median", "db_ms_per_min", "db_backend_cpu_ms_per_min", "exporter_cpu_ms_per_min",
                "rss_mib_total", "bytes_total_per_round", "series_total_per_round"]
        single_extrapolated = {k: single[k] * scale for k in keys}
        print("single:", json.dumps(single), flush=True)

        failed = fails_together(clusters, port, names_by_cluster)
        print("fails together:", json.dumps(failed), flush=True)
        proc.terminate()
        proc.wait()
        results = {
            "clusters": a.clusters, "databases": a.databases, "single_measured": a.single,
            "window_s": a.window, "warmup_s": a.warmup,
            "loadavg_at_end": open("/proc/loadavg").read().split()[:3], "nproc": os.cpu_count(),
            "many_targets": many, "one_per_database_measured": single,
            "one_per_database_extrapolated_linearly": single_extrapolated,
            "fails_together": failed, "elapsed_s": time.time() - started,
        }
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)
        print(f"written to {a.out}; elapsed {results['elapsed_s']:.0f}s")
    finally:
        for p in started_exporters:
            if p.poll() is None:
                p.terminate()
                p.wait()
        for c in clusters:
            c.remove()
        for d in cleanup:
            import shutil
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
