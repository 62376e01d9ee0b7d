#!/usr/bin/env python3
"""Apply alerts/config.yml, the one place of the rules' deployment settings, to alerts/pgmig-*.yml.

Python 3 standard library only.

    python3 alerts/generate.py           # rewrite alerts/pgmig-*.yml in place
    python3 alerts/generate.py --check   # exit 1 when a file differs from what the config gives
    python3 alerts/generate.py --config mine.yml --rules DIR  # your settings, on copies in DIR

The rule files stay the source: they are edited by hand (new groups, new alerts: anything), and
this script owns only the parts the config sets, wherever they are, so a rule added by hand is
covered at once and nothing else is touched:

  runbook_url_base   every annotation `runbook_url: <base>#<anchor>` gets this base (the anchor,
                     the alert's section of docs/runbooks.md, stays)
  job_selector       a matcher on the scrape job (e.g. job="pg-migration-exporter"), put first in
                     every selector of a raw pgmig_* series in the rules' `expr` (not in the
                     annotations' queries); empty: none
  cluster_label      a label that tells clusters apart in one Prometheus (e.g. cluster), put in
                     front of `target` in every `by (...)` and `on (...)` of the rules' `expr`, so
                     aggregations and joins never mix two clusters' targets; empty: none
  thresholds         the value of each `pgmig:threshold:<name>` recording rule (`expr: vector(N)`):
                     the defaults every operation and target falls back to (the exporter's
                     `thresholds` config overrides them per operation and target)

Each edit is undone and redone from the file alone (the previous job matcher and cluster label
are recognised), so the script can run any number of times and with a changed config.
The config is a small YAML subset: `key: value` lines, and `name: value` lines indented under
`thresholds:`; `#` starts a comment.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ("runbook_url_base", "job_selector", "cluster_label", "thresholds")


def fail(msg):
    sys.exit(f"alerts/generate.py: {msg}")


def scalar(text, where):
    text = text.strip()
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0]:
            fail(f"{where}: unterminated quoted string {text!r}")
        return text[1:-1]
    return text.split(" #", 1)[0].strip()


def read_config(path):
    cfg = {"thresholds": {}}
    section = None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            where = f"{path}:{n}"
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indented = line.startswith(" ")
            key, sep, value = line.strip().partition(":")
            if not sep:
                fail(f"{where}: expected 'key: value', found {line.strip()!r}")
            if not indented:
                if key not in KEYS:
                    fail(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
                section = key if key == "thresholds" else None
                if key != "thresholds":
                    cfg[key] = scalar(value, where)
            elif section == "thresholds":
                v = scalar(value, where)
                try:
                    float(v)
                except ValueError:
                    fail(f"{where}: thresholds.{key}: {v!r} is not a number")
                cfg["thresholds"][key] = v
            else:
                fail(f"{where}: unexpected indented line {line.strip()!r}")
    for k in ("runbook_url_base",):
        if not cfg.get(k):
            fail(f"{path}: {k} is missing")
    sel = cfg.get("job_selector", "")
    if sel and not re.fullmatch(r'job(=|!=|=~|!~)"[^"]*"', sel):
        fail(f'{path}: job_selector: {sel!r} must be one matcher on the job label, e.g. job="pg-migration-exporter"')
    lab = cfg.get("cluster_label", "")
    if lab and not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", lab):
        fail(f"{path}: cluster_label: {lab!r} is not a label name")
    return cfg


# A raw exporter series: pgmig_<name>, not part of a recording rule's name
# (those contain ':'), not a word inside another one.
RAW = re.compile(r"(?<![\w:])(pgmig_[a-z0-9_]+)(?![\w:(])(\{[^}]*\})?")
OLD_JOB = re.compile(r'^job(=|!=|=~|!~)"[^"]*"(, )?')
BY_ON = re.compile(r"\b(by|on) \((?:[a-zA-Z_]\w*, )?target\b")


def rewrite_expr(line, cfg):
    def sel(m):
        name, matchers = m.group(1), (m.group(2) or "{}")[1:-1]
        matchers = OLD_JOB.sub("", matchers)
        job = cfg.get("job_selector", "")
        parts = [p for p in (job, matchers) if p]
        return name + ("{" + ", ".join(parts) + "}" if parts else "")

    line = RAW.sub(sel, line)
    lab = cfg.get("cluster_label", "")
    return BY_ON.sub(lambda m: f"{m.group(1)} ({lab + ', ' if lab else ''}target", line)


def apply(text, cfg, name, seen):
    out = []
    lines = text.split("\n")
    in_expr = None  # indentation of the expr key while inside its block
    record = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if in_expr is not None and stripped and indent <= in_expr:
            in_expr = None
        m = re.match(r"^(\s*)(- )?record: (\S+)\s*$", line)
        if m:
            record = m.group(3)
        m = re.match(r"^(\s*)runbook_url: (\S*?)#([\w-]+)\s*$", line)
        if m:
            line = f"{m.group(1)}runbook_url: {cfg['runbook_url_base']}#{m.group(3)}"
        elif in_expr is not None:
            line = rewrite_expr(line, cfg)
        else:
            m = re.match(r"^(\s*)(- )?expr: (.*)$", line)
            if m:
                head = line[: len(line) - len(m.group(3))]
                body = m.group(3)
                if body.strip() in ("|", "|-", ">", ">-"):
                    in_expr = indent
                elif record and record.startswith("pgmig:threshold:"):
                    key = record[len("pgmig:threshold:"):]
                    if key not in cfg["thresholds"]:
                        fail(f"alerts/{name}: {record} has no value in the config's thresholds")
                    seen.add(key)
                    body = f"vector({cfg['thresholds'][key]})"
                else:
                    body = rewrite_expr(body, cfg)
                line = head + body
        if stripped.startswith("- alert:"):
            record = None
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a file differs from what the config gives")
    ap.add_argument("--config", default=os.path.join(HERE, "config.yml"))
    ap.add_argument("--rules", default=HERE, help="directory of the pgmig-*.yml rule files, rewritten in place")
    args = ap.parse_args()
    cfg = read_config(args.config)
    names = sorted(f for f in os.listdir(args.rules) if f.startswith("pgmig-") and f.endswith(".yml"))
    seen = set()
    stale = []
    for name in names:
        with open(os.path.join(args.rules, name), encoding="utf-8") as f:
            text = f.read()
        new = apply(text, cfg, name, seen)
        if args.check:
            if new != text:
                stale.append(name)
        else:
            if new != text:
                with open(os.path.join(args.rules, name), "w", encoding="utf-8") as f:
                    f.write(new)
    unused = sorted(set(cfg["thresholds"]) - seen)
    if unused:
        fail(f"{args.config}: thresholds with no pgmig:threshold:<name> rule: {', '.join(unused)}")
    if stale:
        print("alerts/generate.py --check: differ from alerts/config.yml: " + ", ".join(stale)
              + " (run python3 alerts/generate.py)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
