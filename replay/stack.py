"""The stack that scripts/replay and scripts/demo both run: throwaway PostgreSQL
servers, the webhook receiver that records every Alertmanager notification
with its arrival time, one Alertmanager running the shipped
alerts/alertmanager.yml (only its webhook URLs pointed at the receiver and its
waits shortened), one Prometheus loading the shipped alerts/pgmig-*.yml
unchanged, and the process bookkeeping that stops all of it (each child in its
own process group).

Imported by path (sys.path gets replay/): it owns no scenario logic."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_BIN = os.environ.get("PGMIG_TEST_PG_BIN", "/usr/lib/postgresql/15/bin")
# psql and pgbench: from the server's directory when it has them (a server-only
# build, such as the npm PostgreSQL 18 of scripts/test-pg-versions, may not).
CLIENT_BIN = next((d for d in (PG_BIN, "/usr/lib/postgresql/15/bin")
                   if os.path.exists(os.path.join(d, "pgbench"))), PG_BIN)


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def as_postgres():
    """initdb and postgres refuse to run as root: drop to the postgres user then."""
    if os.geteuid() != 0:
        return {}
    import pwd
    pw = pwd.getpwnam("postgres")

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return {"preexec_fn": drop}


_taken = set()


def free_port():
    """A free port below the kernel's ephemeral range (32768+), so that no
    outgoing connection takes it between this check and the server's bind."""
    import random
    while True:
        port = random.randint(20000, 32000)
        if port in _taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port


def wait_http(url, deadline, what):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return r.read().decode()
        except Exception:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready at {url} within {deadline}s")


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
class Postgres:
    def __init__(self, work, name):
        self.dir = os.path.join(work, name)
        self.sock = os.path.join(work, name + "-sock")
        os.makedirs(self.sock)
        if os.geteuid() == 0:
            os.chmod(work, 0o777)
            shutil.chown(self.sock, "postgres")
        self.port = free_port()
        subprocess.run(
            [f"{PG_BIN}/initdb", "-D", self.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            **as_postgres())
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.sock}'\nmax_connections = 100\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "shared_buffers = 16MB\n")

    def start(self):
        subprocess.run([f"{PG_BIN}/pg_ctl", "-D", self.dir, "-w", "-t", "60", "-l",
                        self.dir + ".log", "start"], check=True, stdout=subprocess.DEVNULL,
                       **as_postgres())

    def stop(self, mode="fast"):
        subprocess.run([f"{PG_BIN}/pg_ctl", "-D", self.dir, "-w", "-m", mode, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_postgres())

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def psql_args(self, db):
        return [f"{CLIENT_BIN}/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", "postgres", "-d", db]


# --------------------------------------------------------------------------
# The webhook receiver: every notification, with its arrival time
# --------------------------------------------------------------------------
class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.notes = []  # (time, receiver path, status, labels, annotations)
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                now = time.time()
                with rec.lock:
                    # The route's receiver as Alertmanager names it; one
                    # receiver may post to several webhook URLs.
                    receiver = body.get("receiver") or self.path.strip("/")
                    for a in body.get("alerts", []):
                        rec.notes.append((now, receiver, a.get("status"),
                                          a.get("labels", {}), a.get("annotations", {})))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_target(self, target):
        with self.lock:
            return [n for n in self.notes if n[3].get("target") == target]


# --------------------------------------------------------------------------
# Prometheus and Alertmanager
# --------------------------------------------------------------------------
def alertmanager_config(receiver_port):
    """The shipped config with receivers pointed here and shorter waits; routes,
    grouping and inhibitions are left as shipped."""
    with open(os.path.join(ROOT, "alerts/alertmanager.yml")) as f:
        text = f.read()
    text = re.sub(r"https?://[^\s]*PLACEHOLDER-([\w-]+)",
                  lambda m: f"http://127.0.0.1:{receiver_port}/{m.group(1)}", text)
    text = re.sub(r"(group_wait:)\s*\S+", r"\1 1s", text)
    text = re.sub(r"(group_interval:)\s*\S+", r"\1 5s", text)
    text = re.sub(r"(resolve_timeout:)\s*\S+", r"\1 1m", text)
    return text


def prometheus_config(am_port, exporter_ports):
    rules = sorted(os.path.join(ROOT, "alerts", f) for f in os.listdir(os.path.join(ROOT, "alerts"))
                   if re.match(r"pgmig-.*\.yml$", f))
    targets = ", ".join(f"'127.0.0.1:{p}'" for p in exporter_ports)
    return (
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "rule_files:\n" + "".join(f"  - {r}\n" for r in rules) +
        f"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n"
        f"scrape_configs:\n  - job_name: pgmig\n    static_configs:\n      - targets: [{targets}]\n"
    )


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, logfile, env=None):
        p = subprocess.Popen(args, stdout=open(logfile, "ab"), stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def monitoring_binaries():
    """(prometheus, alertmanager) paths, either None when not installed."""
    am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    return shutil.which("prometheus"), am


def start_monitoring(work, procs, receiver_port, exporter_ports, prom_bin, am_bin):
    """Alertmanager then Prometheus, configured as above, both ready on return.
    Returns (alertmanager port, prometheus port)."""
    am_port, prom_port = free_port(), free_port()
    with open(os.path.join(work, "alertmanager.yml"), "w") as f:
        f.write(alertmanager_config(receiver_port))
    procs.start([am_bin, f"--config.file={work}/alertmanager.yml", f"--storage.path={work}/am",
                 f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                 "--log.level=warn"], os.path.join(work, "alertmanager.log"))
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write(prometheus_config(am_port, exporter_ports))
    procs.start([prom_bin, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/prom",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                os.path.join(work, "prometheus.log"))
    wait_http(f"http://127.0.0.1:{am_port}/-/ready", 60, "alertmanager")
    wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 60, "prometheus")
    return am_port, prom_port
