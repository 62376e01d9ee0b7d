#!/usr/bin/env python3
"""Resident memory of the exporter before, during and 60 s after a burst of
idle HTTP connections (issue 18). Usage:

    bench/idle_connections.py BINARY [N_CONNECTIONS] [extra exporter flags...]

The exporter runs with no reachable database (the HTTP side is what is
measured). Connections are opened from two helper processes (the file
descriptor limit is per process), held idle for 20 s, then closed.
"""
import os
import re
import resource
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hold(addr, n, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(addr, timeout=5)
            socks.append(s)
        except OSError:
            break
    print(f"helper {os.getpid()}: opened {len(socks)}", flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()


def main():
    if sys.argv[1] == "--hold":
        hold((sys.argv[2], int(sys.argv[3])), int(sys.argv[4]), float(sys.argv[5]))
        return
    binary = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    extra = sys.argv[3:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGMIG_DATABASE_URL"] = "postgres://x@127.0.0.1:1/x?sslmode=disable"
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)
    exp = subprocess.Popen([binary, "--web.listen-address", "127.0.0.1:0", *extra],
                           env=env, stderr=subprocess.PIPE, text=True)
    addr = None
    for line in exp.stderr:
        m = re.search(r"address=(\S+):(\d+)", line)
        if m and "listening" in line:
            addr = (m.group(1), int(m.group(2)))
            break
    time.sleep(3)
    base = rss_kib(exp.pid)
    helpers = [subprocess.Popen([sys.executable, __file__, "--hold", addr[0], str(addr[1]),
                                 str(total // 2), "20"]) for _ in range(2)]
    peak = base
    t0 = time.time()
    while any(h.poll() is None for h in helpers):
        peak = max(peak, rss_kib(exp.pid))
        time.sleep(0.2)
    print(f"burst of {total} idle connections held 20 s (took {time.time() - t0:.0f} s)")
    time.sleep(60)
    after = rss_kib(exp.pid)
    exp.kill()
    print(f"flags {' '.join(extra) or '(defaults)'}: RSS baseline {base / 1024:.1f} MiB, "
          f"peak during {peak / 1024:.1f} MiB, 60 s after {after / 1024:.1f} MiB "
          f"({after / base:.2f}x baseline)")


if __name__ == "__main__":
    main()
