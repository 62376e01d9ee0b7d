#!/usr/bin/env python3
"""Generate pg_migration_exporter's Grafana dashboards (grafana/dashboards/*.json).

Python 3 standard library only. The JSON files are committed; edit this file,
not the JSON, and regenerate:

    python3 grafana/generate.py            # write grafana/dashboards/*.json
    python3 grafana/generate.py --check    # exit 1 when the committed JSON differs
    python3 grafana/generate.py --lint     # exit 1 when a dashboard breaks a convention
    python3 grafana/generate.py --queries  # every query: <uid>\t<panel title>\t<expr>
    python3 grafana/generate.py --conditions  # the queries empty by design unless ...:
                                              # <uid>\t<panel title>\t<expr>\t<condition>

Targets Grafana 10.4 and 11.x (schemaVersion 39). Conventions (checked by
--lint and by tests/dashboards.rs): a stable uid; a `datasource` variable of
type datasource (prometheus) used by every panel, target, variable and
annotation as ${datasource}, never a datasource uid; `job`, `instance`,
`target` and `datname` variables; a unit and a description on every panel;
links between the dashboards; only metric names from docs/metrics.md or
recording rules from alerts/*.yml. docs/dashboards.md describes the panels.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(HERE, "dashboards")

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}
TAGS = ["pg_migration_exporter", "postgresql", "migrations"]

# Selectors. Raw exporter series carry job and instance (added by the scrape)
# and target; per-database series also datname. Recording rules aggregate by
# target (job and instance are gone), ALERTS carry the rule's labels: both are
# filtered by target only. The pgmig:threshold:* rules have no labels at all.
S = 'job=~"$job", instance=~"$instance", target=~"$target"'
SD = S + ', datname=~"$datname"'
T = 'target=~"$target"'
TD = T + ', datname=~"$datname"'
PGMIG_ALERTS = 'ALERTS{alertname=~"PgMig.*", ' + T
RATE = "$__rate_interval"

WINDOW_UID = "pgmig-migration-window"
HEALTH_UID = "pgmig-index-table-health"

GREEN, YELLOW, ORANGE, RED, BLUE = "green", "yellow", "orange", "red", "blue"


def sel(extra=""):
    return S + (", " + extra if extra else "")


def seld(extra=""):
    return SD + (", " + extra if extra else "")


# ---------------------------------------------------------------------------
# Panel building blocks
# ---------------------------------------------------------------------------


def target(expr, legend="", instant=False, fmt=None):
    t = {"datasource": dict(DS), "editorMode": "code", "expr": expr}
    if fmt:
        t["format"] = fmt
    t["instant"] = instant
    t["legendFormat"] = legend if legend else "__auto"
    t["range"] = not instant
    return t


def table_target(expr):
    return target(expr, instant=True, fmt="table")


def thresholds(*steps):
    """steps: (color, value) pairs; the first value is the base (None)."""
    out = []
    for i, (color, value) in enumerate(steps):
        out.append({"color": color, "value": None if i == 0 else value})
    return {"mode": "absolute", "steps": out}


def value_map(mapping):
    """mapping: {value: (text, color)}"""
    opts = {}
    for i, (value, (text, color)) in enumerate(mapping.items()):
        opts[str(value)] = {"color": color, "index": i, "text": text}
    return [{"type": "value", "options": opts}]


def defaults(unit, thr=None, mappings=None, min_=None, max_=None, extra=None):
    d = {"unit": unit}
    d["color"] = {"mode": "thresholds"} if thr else {"mode": "palette-classic"}
    d["mappings"] = mappings or []
    d["thresholds"] = thr or thresholds((GREEN, None))
    if min_ is not None:
        d["min"] = min_
    if max_ is not None:
        d["max"] = max_
    if extra:
        d.update(extra)
    return d


def base(kind, title, description, unit, targets, field_defaults, options, overrides=None, **kw):
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": dict(DS),
        "fieldConfig": {"defaults": field_defaults, "overrides": overrides or []},
        "options": options,
        "targets": targets,
    }
    for k, v in kw.items():
        if v is not None:
            p[k] = v
    # Every field unit lives in defaults; make sure it is the one asked for.
    p["fieldConfig"]["defaults"]["unit"] = unit
    return p


def reduce_last():
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(title, description, unit, targets, thr=None, mappings=None, no_value=None,
         color_mode="background", graph="none", text_mode="auto", links=None):
    extra = {"noValue": no_value} if no_value is not None else None
    return base(
        "stat", title, description, unit, targets,
        defaults(unit, thr or thresholds((GREEN, None)), mappings, extra=extra),
        {
            "colorMode": color_mode,
            "graphMode": graph,
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": reduce_last(),
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
        links=links,
    )


def gauge(title, description, unit, targets, thr, min_=0, max_=1):
    return base(
        "gauge", title, description, unit, targets,
        defaults(unit, thr, min_=min_, max_=max_),
        {
            "minVizHeight": 75,
            "minVizWidth": 75,
            "orientation": "auto",
            "reduceOptions": reduce_last(),
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
            "sizing": "auto",
        },
    )


def timeseries(title, description, unit, targets, stack=False, min_=None, max_=None,
               overrides=None, thr=None, fill=10, calcs=("lastNotNull", "max"), draw="line"):
    custom = {
        "axisBorderShow": False,
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "axisLabel": "",
        "axisPlacement": "auto",
        "barAlignment": 0,
        "drawStyle": draw,
        "fillOpacity": fill,
        "gradientMode": "none",
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "insertNulls": False,
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "pointSize": 4,
        "scaleDistribution": {"type": "linear"},
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "line" if thr else "off"},
    }
    d = defaults(unit, None, min_=min_, max_=max_, extra={"custom": custom})
    if thr:
        d["thresholds"] = thr
    return base(
        "timeseries", title, description, unit, targets, d,
        {
            "legend": {
                "calcs": list(calcs),
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        overrides=overrides,
    )


def threshold_line(name, color):
    """Override that draws a threshold series (display names matching the regex) dashed."""
    return {
        "matcher": {"id": "byRegexp", "options": name},
        "properties": [
            {"id": "color", "value": {"fixedColor": color, "mode": "fixed"}},
            {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
            {"id": "custom.fillOpacity", "value": 0},
            {"id": "custom.stacking", "value": {"group": "A", "mode": "none"}},
        ],
    }


def bargauge(title, description, unit, targets, thr, min_=0, max_=1, mappings=None):
    return base(
        "bargauge", title, description, unit, targets,
        defaults(unit, thr, mappings, min_=min_, max_=max_),
        {
            "displayMode": "gradient",
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": "horizontal",
            "reduceOptions": reduce_last(),
            "showUnfilled": True,
            "sizing": "auto",
            "valueMode": "color",
        },
    )


def column(name, display=None, unit=None, cell=None, mappings=None, thr=None, width=None):
    props = []
    if display:
        props.append({"id": "displayName", "value": display})
    if unit:
        props.append({"id": "unit", "value": unit})
    if cell:
        props.append({"id": "custom.cellOptions", "value": {"type": cell}})
    if mappings:
        props.append({"id": "mappings", "value": mappings})
    if thr:
        props.append({"id": "thresholds", "value": thr})
        props.append({"id": "color", "value": {"mode": "thresholds"}})
    if width:
        props.append({"id": "custom.width", "value": width})
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


HIDDEN = ["Time", "__name__", "job", "instance"]


def table(title, description, unit, targets, columns=None, hide=(), order=(), sort_by=None,
          links=None):
    transformations = []
    if len(targets) > 1:
        transformations.append({"id": "merge", "options": {}})
    index = {name: i for i, name in enumerate(order)}
    transformations.append({
        "id": "organize",
        "options": {
            "excludeByName": {name: True for name in list(HIDDEN) + list(hide)},
            "includeByName": {},
            "indexByName": index,
            "renameByName": {},
        },
    })
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
    }
    if sort_by:
        options["sortBy"] = [{"desc": True, "displayName": sort_by}]
    d = defaults(unit, None, extra={
        "custom": {
            "align": "auto",
            "cellOptions": {"type": "auto"},
            "filterable": True,
            "inspect": False,
        }
    })
    return base("table", title, description, unit, targets, d, options,
                overrides=columns or [], transformations=transformations, links=links)


def heatmap(title, description, unit, y_unit, targets):
    return base(
        "heatmap", title, description, unit, targets,
        {"custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                    "scaleDistribution": {"type": "linear"}},
         "unit": unit},
        {
            "calculate": False,
            "cellGap": 1,
            "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme",
                      "reverse": False, "scale": "exponential", "scheme": "Oranges",
                      "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": y_unit},
        },
    )


def state_timeline(title, description, unit, targets, mappings, thr):
    return base(
        "state-timeline", title, description, unit, targets,
        defaults(unit, thr, mappings, extra={
            "custom": {"fillOpacity": 70, "hideFrom": {"legend": False, "tooltip": False,
                                                       "viz": False},
                       "insertNulls": False, "lineWidth": 0, "spanNulls": False}}),
        {
            "alignValue": "left",
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
            "mergeValues": True,
            "rowHeight": 0.9,
            "showValue": "never",
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )


# ---------------------------------------------------------------------------
# Dashboard assembly
# ---------------------------------------------------------------------------


class Dashboard:
    def __init__(self, uid, title, description):
        self.uid = uid
        self.title = title
        self.description = description
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1
        self.annotations = []

    def row(self, title):
        self._newline()
        self.panels.append({
            "type": "row",
            "title": title,
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "id": self.next_id,
            "panels": [],
        })
        self.next_id += 1
        self.y += 1

    def _newline(self):
        if self.x > 0:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self._newline()
        ordered = {"id": self.next_id, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}}
        ordered.update(panel)
        self.panels.append(ordered)
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        if self.x >= 24:
            self._newline()

    def annotate(self, name, expr, color, title, text, tags):
        self.annotations.append({
            "datasource": dict(DS),
            "enable": True,
            "expr": expr,
            "hide": False,
            "iconColor": color,
            "name": name,
            "step": "15s",
            "tagKeys": tags,
            "textFormat": text,
            "titleFormat": title,
            "useValueForTime": False,
        })

    def to_json(self, links):
        return {
            "annotations": {"list": self.annotations},
            "description": self.description,
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": links,
            "liveNow": False,
            "panels": self.panels,
            "refresh": "10s",
            "schemaVersion": SCHEMA_VERSION,
            "tags": TAGS,
            "templating": {"list": variables()},
            "time": {"from": "now-1h", "to": "now"},
            "timepicker": {"refresh_intervals": ["5s", "10s", "30s", "1m", "5m", "15m"]},
            "timezone": "browser",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }


def query_variable(name, label, query, description):
    return {
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": dict(DS),
        "definition": query,
        "description": description,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": query,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables():
    return [
        {
            "current": {},
            "description": "The Prometheus that scrapes pg_migration_exporter.",
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        query_variable("job", "Job", "label_values(pgmig_build_info, job)",
                       "Prometheus scrape job of the exporter."),
        query_variable("instance", "Instance",
                       'label_values(pgmig_build_info{job=~"$job"}, instance)',
                       "Exporter instance (host:port it is scraped at)."),
        query_variable("target", "Target",
                       'label_values(pgmig_up{job=~"$job", instance=~"$instance"}, target)',
                       "The monitored database: the exporter's configured target name."),
        query_variable("datname", "Database",
                       'label_values(pgmig_collector_success{job=~"$job", instance=~"$instance", target=~"$target"}, datname)',
                       "Database inside the target (per-database collectors)."),
    ]


def links_to(other_uid, other_title):
    return [
        {
            "asDropdown": False,
            "icon": "dashboard",
            "includeVars": True,
            "keepTime": True,
            "tags": [],
            "targetBlank": False,
            "title": other_title,
            "tooltip": "Same targets and time range",
            "type": "link",
            "url": "/d/" + other_uid,
        },
        {
            "asDropdown": True,
            "icon": "external link",
            "includeVars": True,
            "keepTime": True,
            "tags": ["pg_migration_exporter"],
            "targetBlank": False,
            "title": "pg_migration_exporter",
            "tooltip": "",
            "type": "dashboards",
            "url": "",
        },
    ]


def panel_link(uid, title):
    return [{"targetBlank": False, "title": title,
             "url": "/d/" + uid + "?${__url_time_range}&${__all_variables}"}]


# ---------------------------------------------------------------------------
# Dashboard 1: the migration window
# ---------------------------------------------------------------------------

DECISION_MAP = value_map({
    0: ("HEALTHY", GREEN),
    1: ("INVESTIGATE", ORANGE),
    2: ("ROLL BACK NOW", RED),
})
DECISION_THR = thresholds((GREEN, None), (ORANGE, 1), (RED, 2))


def first_of(*parts):
    """An `or` chain of label-less single values: the first non-empty wins."""
    return "\n  or ".join(parts)


def migration_window():
    d = Dashboard(
        WINDOW_UID,
        "pg_migration_exporter / Migration window",
        "For the person at the keyboard during a schema migration: the rollback decision "
        "now, what DDL runs and how far it is, who is blocked by whom, expected objects, "
        "the application's signals, connections and replication.",
    )

    # -- Decision ---------------------------------------------------------
    d.row("Decision")
    firing = PGMIG_ALERTS + ', alertstate="firing"'
    d.add(stat(
        "Decision now (alerts)",
        "From the firing PgMig* alerts (alerts/pgmig-alerts.yml) by their `decision` label: "
        "ROLL BACK NOW when a rollback_now alert fires; INVESTIGATE when any other PgMig alert "
        "fires (rollback_if_persists, schedule_rollback, watch); HEALTHY when none does. "
        "Alerts fire after their `for` duration: see the signals panel for the instant view.",
        "none",
        [target(
            "max(\n    (count(" + firing + ', decision="rollback_now"}) > 0) * 0 + 2\n  or '
            "(count(" + firing + "}) > 0) * 0 + 1\n  or vector(0)\n)",
            "decision", instant=True)],
        thr=DECISION_THR, mappings=DECISION_MAP,
    ), 6, 5)

    in_flight = "unless on (target) target:pgmig_migration_in_flight:max{" + T + "}"
    rollback_now_signals = [
        "(count(pgmig_up{" + S + "} == 0) > 0) * 0 + 2",
        "(count(pgmig_migration_failed{" + SD + "} > 0) > 0) * 0 + 2",
        "(count(pgmig_app_integrity_violations{" + SD + "} > 0) > 0) * 0 + 2",
        "(count(target_operation:pgmig_app_failure_ratio:rate5m{" + T + "} > scalar(pgmig:threshold:rollback_now_failure_ratio)) > 0) * 0 + 2",
        "(count((pgmig_index_invalid{" + SD + "} == 1) " + in_flight + ") > 0) * 0 + 2",
        "(count((pgmig_expected_object_present{" + seld('expected="present"') + "} == 0) " + in_flight + ") > 0) * 0 + 2",
        "(count((pgmig_expected_object_present{" + seld('expected="absent"') + "} == 1) " + in_flight + ") > 0) * 0 + 2",
    ]
    investigate_signals = [
        "(count(pgmig_migration_dirty{" + SD + "} > 0) > 0) * 0 + 1",
        "(count(pgmig_blocked_backends{" + S + "} > 0) > 0) * 0 + 1",
        "(count(target_operation:pgmig_app_success_ratio:rate5m{" + T + "} < scalar(pgmig:threshold:rollback_success_ratio)) > 0) * 0 + 1",
        "(count(target_operation:pgmig_app_failure_ratio:rate5m{" + T + "} > scalar(pgmig:threshold:rollback_error_ratio)) > 0) * 0 + 1",
        "(count(target:pgmig_probe_duration_seconds:p95_rate5m{" + T + "} > scalar(pgmig:threshold:rollback_response_seconds)) > 0) * 0 + 1",
    ]
    d.add(stat(
        "Decision now (signals)",
        "The same decision read straight from the signals, without the alerts' `for` "
        "durations. ROLL BACK NOW: the target is down, a migration failed, an integrity check "
        "is not 0, more than 90% of an operation fails, or (no migration in flight) an index "
        "is invalid or an expected object is not as expected. INVESTIGATE: a migration is "
        "dirty, backends are blocked on locks, success ratio under 50%, error ratio over 25%, "
        "or the probe's p95 over 500 ms. Thresholds are the pgmig:threshold:* rules.",
        "none",
        [target("max(\n    " + first_of(*(rollback_now_signals + investigate_signals + ["vector(0)"])) + "\n)",
                "signals", instant=True)],
        thr=DECISION_THR, mappings=DECISION_MAP,
    ), 6, 5)

    d.add(stat(
        "Firing alerts by decision",
        "Number of firing PgMig* alerts per decision label.",
        "none",
        [target("count by (decision) (" + firing + "})", "{{decision}}", instant=True)],
        thr=thresholds((ORANGE, None)), no_value="none firing", color_mode="value",
    ), 4, 5)

    d.add(stat(
        "Migration window",
        "pgmig_migration_window_open: OPEN while DDL runs, a migration tool's lock is held, a "
        "migration is dirty (and for window.close_after after), or after POST "
        "/api/v1/window/open.",
        "none",
        [target("max by (target) (pgmig_migration_window_open{" + S + "})", "{{target}}",
                instant=True)],
        thr=thresholds((GREEN, None), (BLUE, 1)),
        mappings=value_map({0: ("closed", GREEN), 1: ("OPEN", BLUE)}),
        no_value="no data",
    ), 4, 5)

    d.add(stat(
        "Window open for",
        "Time since the open migration window opened "
        "(time() - pgmig_migration_window_start_timestamp_seconds); empty while closed.",
        "s",
        [target("time() - max by (target) (pgmig_migration_window_start_timestamp_seconds{" + S
                + "} > 0)", "{{target}}", instant=True)],
        thr=thresholds((BLUE, None)), no_value="closed", color_mode="value",
    ), 4, 5)

    d.add(table(
        "Firing and pending alerts",
        "Every PgMig* alert now, firing or pending (pending: its condition holds but its `for` "
        "has not elapsed yet). docs/runbooks.md has one section per alert name.",
        "none",
        [table_target(PGMIG_ALERTS + "}")],
        columns=[column("alertstate", "state", cell="color-text",
                        mappings=value_map({"firing": ("firing", RED), "pending": ("pending", ORANGE)}))],
        hide=["Value"],
        order=["alertname", "decision", "severity", "alertstate", "target"],
    ), 16, 7)

    fw_by = "max by (target, datname, tool, schema, table) "
    d.add(table(
        "Migration framework state",
        "From the schema-history tables of migration tools (collector frameworks): failed "
        "migrations, dirty (half-applied) state, and whether the tool's migration lock is held "
        "now. Dirty while the lock is held is normal.",
        "none",
        [table_target(fw_by + "(pgmig_migration_failed{" + SD + "})"),
         table_target(fw_by + "(pgmig_migration_dirty{" + SD + "})"),
         table_target(fw_by + "(pgmig_migration_lock_held{" + SD + "})")],
        columns=[
            column("Value #A", "failed", cell="color-background", thr=thresholds((GREEN, None), (RED, 1))),
            column("Value #B", "dirty", cell="color-background", thr=thresholds((GREEN, None), (ORANGE, 1))),
            column("Value #C", "lock held", cell="color-background", thr=thresholds((GREEN, None), (BLUE, 1))),
        ],
    ), 8, 7)

    mig_by = "max by (target, datname, path, migration) "
    d.add(table(
        "Running migrations",
        "Your migration files, planned by the exporter (collector migrations, config section "
        "`migrations`): each migration running now, the statement a backend runs (statement i "
        "of n; 0: the tool sent the whole file as one query) and how many of its locks are "
        "stronger than its plan (pgmig_migration_lock_beyond_plan). The phase of an index build "
        "it runs is in the Progress panel below.",
        "none",
        [table_target(mig_by + "(pgmig_migration_running_statement{" + SD + "})"),
         table_target(mig_by + "(pgmig_migration_statements{" + SD + "})"),
         table_target("count by (target, datname, path, migration) (pgmig_migration_lock_beyond_plan{"
                      + SD + "})")],
        columns=[
            column("Value #A", "statement"),
            column("Value #B", "of"),
            column("Value #C", "locks beyond plan", cell="color-background",
                   thr=thresholds((GREEN, None), (ORANGE, 1))),
        ],
    ), 16, 7)

    d.add(state_timeline(
        "Alert timeline",
        "Which PgMig* alerts fired when, by decision: roll back now, roll back if it persists, "
        "schedule a rollback or watch.",
        "none",
        [target("max by (alertname) (" + firing + ', decision="rollback_now"}) * 4\n'
                "  or max by (alertname) (" + firing + ', decision="rollback_if_persists"}) * 3\n'
                "  or max by (alertname) (" + firing + ', decision="schedule_rollback"}) * 2\n'
                "  or max by (alertname) (" + firing + ', decision="watch"})',
                "{{alertname}}")],
        mappings=value_map({4: ("roll back now", RED), 3: ("roll back if it persists", ORANGE),
                            2: ("schedule a rollback", YELLOW), 1: ("watch", BLUE)}),
        thr=thresholds((BLUE, None), (YELLOW, 2), (ORANGE, 3), (RED, 4)),
    ), 24, 6)

    # -- DDL -------------------------------------------------------------
    d.row("What DDL is running, and how far it is")
    d.add(stat(
        "DDL running",
        "pgmig_ddl_running: running DDL statements by command (only commands with at least one).",
        "none",
        [target("sum by (command) (pgmig_ddl_running{" + S + "}) > 0", "{{command}}", instant=True)],
        thr=thresholds((BLUE, None)), no_value="no DDL running", color_mode="value",
    ), 6, 6)
    d.add(bargauge(
        "Progress",
        "pgmig_progress_done_ratio: progress within the current phase of each running CREATE "
        "INDEX, REINDEX, VACUUM, ANALYZE, CLUSTER or COPY (0 to 100%); a new phase starts again "
        "at 0. Absent when the phase has no known total.",
        "percentunit",
        [target("max by (command, phase, pid, datname, relation) (pgmig_progress_done_ratio{" + SD + "})",
                "{{command}} {{relation}} - {{phase}} (pid {{pid}})", instant=True)],
        thr=thresholds((BLUE, None)),
    ), 10, 6)
    d.add(table(
        "Running DDL",
        "pgmig_ddl_duration_seconds: every running DDL statement and how long it has run.",
        "s",
        [table_target("max by (command, pid, datname, usename, application_name) "
                      "(pgmig_ddl_duration_seconds{" + SD + "})")],
        columns=[column("Value", "running for", cell="color-text",
                        thr=thresholds((GREEN, None), (ORANGE, 60), (RED, 900)))],
        order=["command", "pid", "datname", "usename", "application_name", "Value"],
        sort_by="running for",
    ), 8, 6)
    d.add(timeseries(
        "DDL duration",
        "How long each running DDL statement has run, per command and backend.",
        "s",
        [target("max by (command, pid) (pgmig_ddl_duration_seconds{" + SD + "})",
                "{{command}} (pid {{pid}})")],
        min_=0,
    ), 12, 7)
    d.add(timeseries(
        "Progress over time",
        "pgmig_progress_done_ratio over time, per operation and phase.",
        "percentunit",
        [target("max by (command, phase, pid, relation) (pgmig_progress_done_ratio{" + SD + "})",
                "{{command}} {{relation}} - {{phase}} (pid {{pid}})")],
        min_=0, max_=1,
    ), 12, 7)

    # -- Locks -----------------------------------------------------------
    d.row("Locks: who is blocked by whom, and for how long")
    d.add(stat(
        "Blocked backends",
        "pgmig_blocked_backends: backends waiting for a heavyweight lock now.",
        "none",
        [target("sum by (target) (pgmig_blocked_backends{" + S + "})", "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1), (RED, 10)), graph="area",
    ), 4, 5)
    d.add(stat(
        "Longest lock wait now",
        "pgmig_lock_oldest_wait_seconds: the longest current lock wait; 0 when nobody waits. "
        "The seed runbook rolls back when lock waits persist over 15 minutes.",
        "s",
        [target("max by (target) (pgmig_lock_oldest_wait_seconds{" + S + "})", "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 5), (RED, 900)), graph="area",
    ), 4, 5)
    d.add(stat(
        "Queue behind AccessExclusiveLock",
        "Longest lock queue (pgmig_lock_queue_length) on a relation with an AccessExclusiveLock "
        "held or requested (pgmig_lock_access_exclusive): everything touching that relation "
        "waits, reads included.",
        "none",
        [target("max by (target) (pgmig_lock_queue_length{" + SD + "}\n  and on (target, datname, relation) "
                "(max by (target, datname, relation) (pgmig_lock_access_exclusive{" + SD + "}) == 1))",
                "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1), (RED, 10)), no_value="0",
    ), 4, 5)
    d.add(stat(
        "Blocking root backends",
        "Backends at the head of a blocking chain (they block others and wait for no lock), "
        "from pgmig_blocking_root_blocked_backends.",
        "none",
        [target("count by (target) (pgmig_blocking_root_blocked_backends{" + SD + "})",
                "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1)), no_value="0",
    ), 4, 5)
    d.add(stat(
        "Oldest transaction",
        "pgmig_oldest_transaction_seconds: age of the oldest open transaction (a long "
        "transaction holds locks the migration queues behind).",
        "s",
        [target("max by (target) (pgmig_oldest_transaction_seconds{" + SD + "})", "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 60), (RED, 300)),
    ), 4, 5)
    d.add(stat(
        "Longest idle in transaction",
        "pgmig_longest_idle_in_transaction_seconds: a session idle in an open transaction keeps "
        "its locks.",
        "s",
        [target("max by (target) (pgmig_longest_idle_in_transaction_seconds{" + SD + "})", "{{target}}",
                instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 30), (RED, 60)),
    ), 4, 5)

    d.add(table(
        "Blocked backends and their blocking root",
        "pgmig_blocked_backend_wait_seconds: each blocked backend, the lock it waits for, how long "
        "it has waited, and blocking_root_pid, the head of its blocking chain (terminate that one "
        "to release the chain); depth 1 = blocked directly by the root. Longest waits first, at "
        "most max_blocked_series.",
        "s",
        [table_target("max by (target, pid, blocking_root_pid, datname, usename, application_name, locktype, mode, relation) "
                      "(pgmig_blocked_backend_wait_seconds{" + SD + "})"),
         table_target("max by (target, pid, blocking_root_pid) (pgmig_blocked_backend_chain_depth{" + S + "})")],
        columns=[
            column("Value #A", "waiting for", cell="color-background",
                   thr=thresholds((GREEN, None), (ORANGE, 5), (RED, 60))),
            column("Value #B", "chain depth", unit="none"),
            column("blocking_root_pid", "blocking root pid"),
        ],
        order=["target", "pid", "blocking_root_pid", "Value #A", "Value #B", "relation", "mode",
               "locktype", "datname", "usename", "application_name"],
        sort_by="waiting for",
    ), 16, 8)
    d.add(table(
        "Blocking roots",
        "Each blocking root: how many backends it blocks (directly or through a chain) and how "
        "long its transaction has been open. pid 0 and state `prepared transaction` is a "
        "prepared transaction.",
        "none",
        [table_target("max by (target, pid, datname, usename, application_name, state) "
                      "(pgmig_blocking_root_blocked_backends{" + SD + "})"),
         table_target("max by (target, pid) (pgmig_blocking_root_transaction_seconds{" + S + "})")],
        columns=[
            column("Value #A", "blocks", cell="color-background",
                   thr=thresholds((ORANGE, None), (RED, 10))),
            column("Value #B", "transaction age", unit="s"),
        ],
        order=["target", "pid", "Value #A", "Value #B", "state", "datname", "usename", "application_name"],
        sort_by="blocks",
    ), 8, 8)

    d.add(timeseries(
        "Lock queue per relation",
        "pgmig_lock_queue_length: ungranted lock requests on each relation that has a queue or "
        "an AccessExclusiveLock (longest queues first, at most max_relations).",
        "none",
        [target("max by (datname, relation) (pgmig_lock_queue_length{" + SD + "})",
                "{{datname}} {{relation}}")],
        min_=0,
    ), 12, 8)
    d.add(state_timeline(
        "AccessExclusiveLock held / waiting",
        "pgmig_lock_access_exclusive: when an AccessExclusiveLock on a relation was held or "
        "requested (an ALTER TABLE, DROP, TRUNCATE, VACUUM FULL, LOCK TABLE).",
        "none",
        [target("max by (datname, relation, status) (pgmig_lock_access_exclusive{" + SD + "}) == 1",
                "{{relation}} ({{status}})")],
        mappings=value_map({1: ("AccessExclusiveLock", RED)}),
        thr=thresholds((RED, None)),
    ), 12, 8)
    d.add(heatmap(
        "Lock waits (heatmap)",
        "pgmig_lock_wait_seconds: completed lock waits by duration (observed when a poll no "
        "longer sees the wait; accurate to one poll interval). Cells count waits per interval.",
        "short", "s",
        [target("sum by (le) (increase(pgmig_lock_wait_seconds_bucket{" + S + "}[" + RATE + "]))",
                "{{le}}", fmt="heatmap")],
    ), 12, 8)
    d.add(timeseries(
        "Lock wait quantiles",
        "p50, p90 and p99 of completed lock waits (histogram_quantile over "
        "pgmig_lock_wait_seconds); empty while no wait completes.",
        "s",
        [target("histogram_quantile(" + q + ", sum by (target, le) (rate(pgmig_lock_wait_seconds_bucket{" + S
                + "}[" + RATE + "])))", "p" + q[2:].ljust(2, "0") + " {{target}}")
         for q in ("0.5", "0.9", "0.99")],
        min_=0,
    ), 12, 8)
    d.add(timeseries(
        "Long transactions",
        "Oldest open transaction, longest idle-in-transaction session and oldest running query "
        "(pgmig_oldest_transaction_seconds, pgmig_longest_idle_in_transaction_seconds, "
        "pgmig_oldest_query_seconds). Dashed: the watch thresholds of the alerts.",
        "s",
        [target("max by (target) (pgmig_oldest_transaction_seconds{" + SD + "})", "oldest transaction {{target}}"),
         target("max by (target) (pgmig_longest_idle_in_transaction_seconds{" + SD + "})",
                "idle in transaction {{target}}"),
         target("max by (target) (pgmig_oldest_query_seconds{" + SD + "})", "oldest query {{target}}"),
         target("pgmig:threshold:transaction_seconds", "transaction threshold"),
         target("pgmig:threshold:idle_in_transaction_seconds", "idle in transaction threshold")],
        min_=0,
        overrides=[threshold_line("transaction threshold", RED),
                   threshold_line("idle in transaction threshold", ORANGE)],
    ), 12, 7)
    d.add(timeseries(
        "Blocked backends over time",
        "pgmig_blocked_backends, and backends waiting on wait_event_type Lock "
        "(pgmig_backends_by_wait_event_type).",
        "none",
        [target("sum by (target) (pgmig_blocked_backends{" + S + "})", "blocked {{target}}"),
         target("sum by (target) (pgmig_backends_by_wait_event_type{" + sel('wait_event_type="Lock"') + "})",
                "waiting on Lock {{target}}")],
        min_=0,
    ), 12, 7)

    # -- Schema ----------------------------------------------------------
    d.row("Schema: expected objects and invalid indexes")
    as_expected = ("max by (target, datname, kind, name, expected, migration) (\n"
                   "    (pgmig_expected_object_present{" + seld('expected="present"') + "} == bool 1)\n"
                   "  or\n    (pgmig_expected_object_present{" + seld('expected="absent"') + "} == bool 0)\n)")
    d.add(stat(
        "Objects not as expected",
        "Expected objects (config `expected_objects`) that are not as the migration must leave "
        "them: missing (an invalid index or NOT VALID constraint counts as missing) or, with "
        "expect: absent, still present. Legitimately so while the migration is in flight.",
        "none",
        [target("count by (target) (" + as_expected + " == 0)", "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (RED, 1)), no_value="0",
    ), 6, 4)
    d.add(stat(
        "Invalid index count",
        "pgmig_index_invalid: invalid indexes (a failed CREATE INDEX CONCURRENTLY or REINDEX "
        "leaves one behind: it costs writes and serves no reads).",
        "none",
        [target("count by (target) (pgmig_index_invalid{" + SD + "} == 1)", "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (RED, 1)), no_value="0",
        links=panel_link(HEALTH_UID, "Index and table health"),
    ), 6, 4)
    d.add(stat(
        "Object checks failing",
        "pgmig_expected_object_check_failed: checks whose catalog query fails: those objects are "
        "not being verified.",
        "none",
        [target("count by (target) (pgmig_expected_object_check_failed{" + SD + "} == 1)", "{{target}}",
                instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1)), no_value="0",
    ), 6, 4)
    d.add(stat(
        "Migration in flight",
        "target:pgmig_migration_in_flight:max: a migration lock is held or schema-changing DDL "
        "runs; the expected-object and invalid-index alerts wait meanwhile.",
        "none",
        [target("max by (target) (target:pgmig_migration_in_flight:max{" + T + "})", "{{target}}",
                instant=True)],
        thr=thresholds((BLUE, None)), no_value="not in flight",
        mappings=value_map({1: ("IN FLIGHT", BLUE)}),
    ), 6, 4)
    d.add(table(
        "Expected objects",
        "Every object of `expected_objects`: as expected (present when expect: present, absent "
        "when expect: absent) or NOT, and whether its check fails.",
        "none",
        [table_target(as_expected),
         table_target("max by (target, datname, kind, name, expected, migration) "
                      "(pgmig_expected_object_check_failed{" + SD + "})")],
        columns=[
            column("Value #A", "state", cell="color-background",
                   mappings=value_map({0: ("NOT as expected", RED), 1: ("as expected", GREEN)})),
            column("Value #B", "check", cell="color-text",
                   mappings=value_map({0: ("ok", GREEN), 1: ("check failed", ORANGE)})),
        ],
        order=["Value #A", "kind", "name", "expected", "migration", "datname", "target", "Value #B"],
    ), 14, 9)
    d.add(table(
        "Invalid indexes",
        "Each invalid index and its size (pgmig_index_invalid, pgmig_index_size_bytes). Drop it "
        "(DROP INDEX CONCURRENTLY) and build it again, or roll back.",
        "bytes",
        [table_target("max by (target, datname, schema, table, index) (pgmig_index_size_bytes{" + SD + "}\n"
                      "  and on (target, datname, schema, table, index) (pgmig_index_invalid{" + SD + "} == 1))")],
        columns=[column("Value", "size")],
        order=["target", "datname", "schema", "table", "index", "Value"],
        links=panel_link(HEALTH_UID, "Index and table health"),
    ), 10, 9)

    # -- App signals -----------------------------------------------------
    d.row("Application signals (app_collectors)")
    d.add(timeseries(
        "Success ratio",
        "target_operation:pgmig_app_success_ratio:rate5m: share of each operation's calls that "
        "succeed (5m), and its pre-migration baseline. Dashed: below 50% roll back if it "
        "persists, below 90% for 30 minutes schedule a rollback (pgmig:threshold:*).",
        "percentunit",
        [target("target_operation:pgmig_app_success_ratio:rate5m{" + T + "}", "{{operation}} {{target}}"),
         target("target_operation:pgmig_app_success_ratio:rate5m_baseline{" + T + "}",
                "{{operation}} baseline {{target}}"),
         target("pgmig:threshold:rollback_success_ratio", "roll back if it persists"),
         target("pgmig:threshold:schedule_success_ratio", "schedule rollback")],
        min_=0, max_=1,
        overrides=[threshold_line("roll back if it persists", RED),
                   threshold_line("schedule rollback", ORANGE)],
    ), 12, 8)
    d.add(timeseries(
        "Failure ratio",
        "target_operation:pgmig_app_failure_ratio:rate5m: share of each operation's calls that "
        "fail (5m). Dashed: over 25% roll back if it persists (at once with error codes not "
        "listed as expected), over 90% roll back now.",
        "percentunit",
        [target("target_operation:pgmig_app_failure_ratio:rate5m{" + T + "}", "{{operation}} {{target}}"),
         target("pgmig:threshold:rollback_error_ratio", "roll back if it persists"),
         target("pgmig:threshold:rollback_now_failure_ratio", "roll back now")],
        min_=0, max_=1,
        overrides=[threshold_line("roll back if it persists", ORANGE),
                   threshold_line("roll back now", RED)],
    ), 12, 8)
    d.add(timeseries(
        "Operations by outcome",
        "rate(pgmig_app_operations_total): operations per second by outcome.",
        "ops",
        [target("sum by (operation, outcome) (rate(pgmig_app_operations_total{" + SD + "}[" + RATE + "]))",
                "{{operation}} {{outcome}}")],
        stack=True, min_=0,
        overrides=[{"matcher": {"id": "byRegexp", "options": ".* failure"},
                    "properties": [{"id": "color", "value": {"fixedColor": RED, "mode": "fixed"}}]}],
    ), 8, 8)
    d.add(timeseries(
        "Failures by error code",
        "rate(pgmig_app_operation_errors_total): failed operations per second by the error code "
        "the application recorded (SQLSTATE such as 42P10, 23505, 42P01).",
        "ops",
        [target("sum by (operation, code) (rate(pgmig_app_operation_errors_total{" + SD + "}[" + RATE + "]))",
                "{{operation}} {{code}}")],
        stack=True, min_=0,
    ), 8, 8)
    d.add(table(
        "Error codes in the time range",
        "Failed operations per error code over the dashboard's time range, and whether the "
        "config lists the code as expected for the operation (pgmig_app_expected_error_code). "
        "Unexpected codes with an error ratio over 25% mean roll back.",
        "short",
        [table_target("sum by (target, operation, code) (increase(pgmig_app_operation_errors_total{" + SD
                      + "}[$__range])) > 0"),
         table_target("max by (target, operation, code) (pgmig_app_expected_error_code{" + S + "})")],
        columns=[
            column("Value #A", "failures"),
            column("Value #B", "expected", cell="color-text",
                   mappings=value_map({1: ("expected", GREEN)})),
        ],
        order=["operation", "code", "Value #A", "Value #B", "target"],
        sort_by="failures",
    ), 8, 8)
    d.add(timeseries(
        "Operation duration",
        "p50, p95 and p99 of pgmig_app_operation_duration_seconds per operation, and the p95's "
        "pre-migration baseline (4x the baseline for 5 minutes: roll back if it persists).",
        "s",
        [target("histogram_quantile(" + q + ", sum by (operation, le) (rate(pgmig_app_operation_duration_seconds_bucket{"
                + SD + "}[" + RATE + "])))", "{{operation}} p" + q[2:].ljust(2, "0"))
         for q in ("0.5", "0.95", "0.99")]
        + [target("target_operation:pgmig_app_operation_duration_seconds:p95_rate5m_baseline{" + T + "}",
                  "{{operation}} p95 baseline")],
        min_=0,
    ), 12, 8)
    d.add(stat(
        "Integrity violations",
        "pgmig_app_integrity_violations: rows breaking a named check (duplicates on the new "
        "unique key, NULLs, orphans). Must be 0: anything else means roll back now.",
        "none",
        [target("max by (check) (pgmig_app_integrity_violations{" + SD + "})", "{{check}}", instant=True)],
        thr=thresholds((GREEN, None), (RED, 1)), no_value="no checks",
    ), 6, 8)
    d.add(stat(
        "Flags",
        "pgmig_app_flag: named application booleans (import enabled, maintenance mode).",
        "none",
        [target("max by (flag) (pgmig_app_flag{" + SD + "})", "{{flag}}", instant=True)],
        thr=thresholds((BLUE, None)),
        mappings=value_map({0: ("off", ORANGE), 1: ("on", GREEN)}), no_value="no flags",
    ), 6, 8)
    d.add(bargauge(
        "Backfill progress",
        "pgmig_app_backfill_ratio: share of rows a backfill has filled, per table and column "
        "(the seed runbooks require 100%).",
        "percentunit",
        [target("max by (table, column) (pgmig_app_backfill_ratio{" + SD + "})", "{{table}}.{{column}}",
                instant=True)],
        thr=thresholds((RED, None), (ORANGE, 0.5), (GREEN, 1)),
    ), 8, 8)
    d.add(bargauge(
        "Job progress",
        "target_batch_job:pgmig_app_job_items:progress_ratio: items done / items planned per "
        "application job, by its `batch_job` label (not `job`, which is Prometheus' scrape job).",
        "percentunit",
        [target("target_batch_job:pgmig_app_job_items:progress_ratio{" + S + "}", "{{batch_job}}",
                instant=True)],
        thr=thresholds((BLUE, None), (GREEN, 1)),
    ), 8, 8)
    jb = "max by (target, batch_job) "
    d.add(table(
        "Jobs",
        "Application jobs: active, items done and planned, speed and ETA (pgmig_app_job_*).",
        "none",
        [table_target(jb + "(pgmig_app_job_active{" + SD + "})"),
         table_target(jb + "(pgmig_app_job_items_done{" + SD + "})"),
         table_target(jb + "(pgmig_app_job_items_planned{" + SD + "})"),
         table_target(jb + "(pgmig_app_job_items_per_second{" + SD + "})"),
         table_target(jb + "(pgmig_app_job_eta_seconds{" + SD + "})")],
        columns=[
            column("batch_job", "job"),
            column("Value #A", "active", mappings=value_map({0: ("done", GREEN), 1: ("active", BLUE)}),
                   cell="color-text"),
            column("Value #B", "done", unit="short"),
            column("Value #C", "planned", unit="short"),
            column("Value #D", "items/s", unit="short"),
            column("Value #E", "ETA", unit="s"),
        ],
        order=["batch_job", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E", "target"],
    ), 8, 8)
    d.add(timeseries(
        "Function mean time (RPC)",
        "Mean time per call of each database function over the rate interval "
        "(pgmig_function_total_seconds_total / pgmig_function_calls_total; needs "
        "track_functions = pl or all).",
        "s",
        [target("sum by (datname, schema, function) (rate(pgmig_function_total_seconds_total{" + SD + "}[" + RATE + "]))\n"
                "  / (sum by (datname, schema, function) (rate(pgmig_function_calls_total{" + SD + "}[" + RATE + "])) > 0)",
                "{{schema}}.{{function}}")],
        min_=0,
    ), 12, 7)
    d.add(timeseries(
        "Function calls",
        "rate(pgmig_function_calls_total): calls per second of each database function.",
        "ops",
        [target("sum by (datname, schema, function) (rate(pgmig_function_calls_total{" + SD + "}[" + RATE + "]))",
                "{{schema}}.{{function}}")],
        min_=0,
    ), 12, 7)

    d.add(timeseries(
        "Server errors by SQLSTATE (PostgreSQL log)",
        "Errors PostgreSQL logged in the last 5 minutes, by SQLSTATE, from the exporter's "
        "server_log follower (recording rule target_code:pgmig_server_errors:increase5m, "
        "alerts/pgmig-serverlog-alerts.yml; empty unless server_log.follow lists the target's "
        "log, as the compose stack does). Class 23 (e.g. 23505) or 42P01 that no migration "
        "expects, or a code a migration forbids (e.g. 42P10 after its fix): roll back now.",
        "short",
        [target("sum by (code, code_class) (target_code:pgmig_server_errors:increase5m{" + T + "})",
                "{{code}}")],
        min_=0, calcs=("lastNotNull", "max"),
    ), 24, 7)

    # -- Database --------------------------------------------------------
    d.row("Database: connections, response time, replication")
    d.add(timeseries(
        "Connections vs max",
        "pgmig_connections (client backends, the exporter's included) against max_connections "
        "and max_connections minus the reserved slots.",
        "short",
        [target("sum by (target) (pgmig_connections{" + S + "})", "connections {{target}}"),
         target("max by (target) (pgmig_connections_max{" + S + "})", "max_connections {{target}}"),
         target("max by (target) (pgmig_connections_max{" + S + "}) - max by (target) (pgmig_connections_reserved{" + S + "})",
                "available to applications {{target}}")],
        min_=0,
        overrides=[threshold_line("max_connections .*", RED)],
    ), 8, 7)
    d.add(gauge(
        "Connections used",
        "target:pgmig_connections:used_ratio: connections / max_connections. Watch above 80%, "
        "critical above 95%.",
        "percentunit",
        [target("max by (target) (target:pgmig_connections:used_ratio{" + T + "})", "{{target}}", instant=True)],
        thresholds((GREEN, None), (ORANGE, 0.8), (RED, 0.95)),
    ), 4, 7)
    d.add(timeseries(
        "Backends by state",
        "pgmig_backends: client backends by state (active, idle in transaction, ...).",
        "short",
        [target("sum by (state) (pgmig_backends{" + S + "})", "{{state}}")],
        stack=True, min_=0,
    ), 12, 7)
    d.add(timeseries(
        "Database response time",
        "The exporter's 1 s `SELECT 1` probe (pgmig_probe_duration_seconds): p95 and mean, the "
        "p95's pre-migration baseline, and the 500 ms threshold of the decision tree.",
        "s",
        [target("histogram_quantile(0.95, sum by (target, le) (rate(pgmig_probe_duration_seconds_bucket{" + S
                + "}[" + RATE + "])))", "p95 {{target}}"),
         target("sum by (target) (rate(pgmig_probe_duration_seconds_sum{" + S + "}[" + RATE + "]))\n"
                "  / (sum by (target) (rate(pgmig_probe_duration_seconds_count{" + S + "}[" + RATE + "])) > 0)",
                "mean {{target}}"),
         target("target:pgmig_probe_duration_seconds:p95_rate5m_baseline{" + T + "}", "p95 baseline {{target}}"),
         target("pgmig:threshold:rollback_response_seconds", "threshold")],
        min_=0,
        overrides=[threshold_line("threshold", RED)],
    ), 12, 7)
    d.add(timeseries(
        "WAL rate",
        "rate(pgmig_wal_written_bytes_total): WAL written per second (a table rewrite or "
        "backfill shows here first, then as replication lag).",
        "Bps",
        [target("sum by (target) (rate(pgmig_wal_written_bytes_total{" + S + "}[" + RATE + "]))", "{{target}}")],
        min_=0,
    ), 12, 7)
    d.add(timeseries(
        "Replication lag (time)",
        "pgmig_replication_lag_seconds per standby and kind (write, flush, replay); absent while "
        "a standby is idle and caught up. Dashed: the watch threshold on replay lag.",
        "s",
        [target("max by (application_name, client_addr, kind) (pgmig_replication_lag_seconds{" + S + "})",
                "{{application_name}} {{client_addr}} {{kind}}"),
         target("pgmig:threshold:replication_lag_seconds", "threshold")],
        min_=0,
        overrides=[threshold_line("threshold", ORANGE)],
    ), 12, 7)
    d.add(timeseries(
        "Replication lag (bytes) and slots",
        "pgmig_replication_lag_bytes per standby (replay) and WAL retained by replication slots "
        "(pgmig_replication_slot_retained_bytes).",
        "bytes",
        [target("max by (application_name, client_addr) (pgmig_replication_lag_bytes{" + sel('kind="replay"') + "})",
                "{{application_name}} {{client_addr}} replay"),
         target("max by (slot_name) (pgmig_replication_slot_retained_bytes{" + S + "})", "slot {{slot_name}}")],
        min_=0,
    ), 12, 7)
    d.add(stat(
        "Exporter connected",
        "pgmig_up: 1 while every connection of the exporter to the target is established. While "
        "0, every other panel is blind.",
        "none",
        [target("min by (target) (pgmig_up{" + S + "})", "{{target}}", instant=True)],
        thr=thresholds((RED, None), (GREEN, 1)),
        mappings=value_map({0: ("DOWN", RED), 1: ("up", GREEN)}), no_value="no data",
    ), 6, 6)
    d.add(table(
        "Failing collectors",
        "Collectors whose last run failed (pgmig_collector_success 0): their signals are missing, "
        "not zero. Errors by kind over the time range.",
        "none",
        [table_target("max by (target, collector, datname) (pgmig_collector_success{" + SD + "}) == 0"),
         table_target("sum by (target, collector, datname) (increase(pgmig_collector_errors_total{" + SD
                      + "}[$__range])) > 0")],
        columns=[
            column("Value #A", "last run", cell="color-text",
                   mappings=value_map({0: ("FAILED", RED), 1: ("ok", GREEN)})),
            column("Value #B", "errors in range", unit="short"),
        ],
        order=["target", "collector", "datname", "Value #A", "Value #B"],
    ), 18, 6)

    # -- Annotations -----------------------------------------------------
    d.annotate("Migration window", "max by (target) (pgmig_migration_window_open{" + S + "}) == 1",
               "rgba(31, 120, 193, 0.4)", "Migration window open", "target {{target}}", "target")
    d.annotate("Migration failed", "max by (target, datname, tool) (pgmig_migration_failed{" + SD + "}) > 0",
               "red", "Migration failed ({{tool}})", "{{tool}} in {{datname}} on {{target}}", "target,tool")
    d.annotate("Migration dirty", "max by (target, datname, tool) (pgmig_migration_dirty{" + SD + "}) > 0",
               "orange", "Migration dirty ({{tool}})", "{{tool}} in {{datname}} on {{target}}", "target,tool")
    d.annotate("Migration lock held", "max by (target, datname, tool) (pgmig_migration_lock_held{" + SD + "}) > 0",
               "yellow", "Migration lock held ({{tool}})", "{{tool}} in {{datname}} on {{target}}", "target,tool")
    d.annotate("Roll back now alerts", "max by (alertname, target) (" + firing + ', decision="rollback_now"})',
               "dark-red", "{{alertname}}", "rollback_now on {{target}}", "alertname,target")
    return d


# ---------------------------------------------------------------------------
# Dashboard 2: index and table health, after the migration
# ---------------------------------------------------------------------------

IDX = "datname, schema, table, index"
TBL = "datname, schema, table"


def index_table_health():
    d = Dashboard(
        HEALTH_UID,
        "pg_migration_exporter / Index and table health",
        "After the migration: are the new indexes used, which indexes are unused or invalid, "
        "sequential vs index scans, dead tuples, and statements slower than before.",
    )

    d.row("Indexes")
    d.add(stat(
        "Invalid or not ready (count)",
        "Indexes with pg_index.indisvalid or indisready false (pgmig_index_valid, "
        "pgmig_index_ready): a failed or still running CREATE INDEX CONCURRENTLY.",
        "none",
        [target("count by (target) (\n    (max by (target, " + IDX + ") (pgmig_index_valid{" + SD + "}) == 0)\n"
                "  or (max by (target, " + IDX + ") (pgmig_index_ready{" + SD + "}) == 0)\n)",
                "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (RED, 1)), no_value="0",
    ), 6, 4)
    d.add(stat(
        "Indexes without scans in range",
        "Valid indexes with no scan over the dashboard's time range (increase of "
        "pgmig_index_scans_total is 0). Unique and constraint indexes can be unused and still "
        "needed.",
        "none",
        [target("count by (target) (increase(pgmig_index_scans_total{" + SD + "}[$__range]) == 0)",
                "{{target}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1)), no_value="0",
    ), 6, 4)
    d.add(stat(
        "pg_stat_statements",
        "pgmig_statements_available: whether pg_stat_statements is installed and loaded (the "
        "statement panels below need it).",
        "none",
        [target("min by (target) (pgmig_statements_available{" + S + "})", "{{target}}", instant=True)],
        thr=thresholds((ORANGE, None), (GREEN, 1)),
        mappings=value_map({0: ("missing", ORANGE), 1: ("available", GREEN)}), no_value="no data",
    ), 6, 4)
    d.add(stat(
        "Tables skipped",
        "pgmig_tables_skipped: tables left out of the last poll, because an AccessExclusiveLock "
        "was held or requested on them (locked) or beyond max_tables (limit).",
        "none",
        [target("sum by (reason) (pgmig_tables_skipped{" + SD + "})", "{{reason}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 1)), no_value="0",
    ), 6, 4)

    d.add(timeseries(
        "New indexes: scans per second",
        "rate(pgmig_index_scans_total) of indexes that had no series at the start of the "
        "dashboard's time range (offset $__range): the indexes the migration created. Set the "
        "time range to begin just before the migration. A flat 0 means the planner does not "
        "use the index.",
        "ops",
        [target("sum by (" + IDX + ") (rate(pgmig_index_scans_total{" + SD + "}[" + RATE + "]))\n"
                "  unless on (" + IDX + ") sum by (" + IDX + ") (pgmig_index_scans_total{" + SD + "} offset $__range)",
                "{{schema}}.{{index}} ({{table}})")],
        min_=0,
    ), 12, 8)
    d.add(timeseries(
        "Index scans per second (top 10)",
        "rate(pgmig_index_scans_total): the ten busiest indexes.",
        "ops",
        [target("topk(10, sum by (" + IDX + ") (rate(pgmig_index_scans_total{" + SD + "}[" + RATE + "])))",
                "{{schema}}.{{index}} ({{table}})")],
        min_=0,
    ), 12, 8)
    ib = "max by (target, " + IDX + ") "
    d.add(table(
        "Unused indexes",
        "Indexes without a scan over the time range, largest first: their size, and their scans "
        "since the statistics were reset (0 = never used).",
        "bytes",
        [table_target(ib + "(pgmig_index_size_bytes{" + SD + "})\n  and on (target, " + IDX
                      + ") (sum by (target, " + IDX + ") (increase(pgmig_index_scans_total{" + SD
                      + "}[$__range])) == 0)"),
         table_target(ib + "(pgmig_index_scans_total{" + SD + "})\n  and on (target, " + IDX
                      + ") (sum by (target, " + IDX + ") (increase(pgmig_index_scans_total{" + SD
                      + "}[$__range])) == 0)")],
        columns=[column("Value #A", "size"),
                 column("Value #B", "scans since reset", unit="short")],
        order=["datname", "schema", "table", "index", "Value #A", "Value #B", "target"],
        sort_by="size",
    ), 12, 9)
    d.add(table(
        "Index scans in the time range",
        "Scans of each index over the dashboard's time range, with tuples read and size.",
        "short",
        [table_target("sum by (target, " + IDX + ") (increase(pgmig_index_scans_total{" + SD + "}[$__range]))"),
         table_target("sum by (target, " + IDX + ") (increase(pgmig_index_tuples_read_total{" + SD + "}[$__range]))"),
         table_target(ib + "(pgmig_index_size_bytes{" + SD + "})")],
        columns=[column("Value #A", "scans"),
                 column("Value #B", "tuples read"),
                 column("Value #C", "size", unit="bytes")],
        order=["datname", "schema", "table", "index", "Value #A", "Value #B", "Value #C", "target"],
        sort_by="scans",
    ), 12, 9)
    d.add(table(
        "Invalid or not ready indexes",
        "Each index with indisvalid or indisready false. Invalid after CREATE INDEX "
        "CONCURRENTLY failed: drop it and build it again.",
        "none",
        [table_target(ib + "(pgmig_index_valid{" + SD + "})\n  and on (target, " + IDX + ") (" + ib
                      + "(pgmig_index_valid{" + SD + "}) == 0 or " + ib + "(pgmig_index_ready{" + SD + "}) == 0)"),
         table_target(ib + "(pgmig_index_ready{" + SD + "})")],
        columns=[
            column("Value #A", "valid", cell="color-text",
                   mappings=value_map({0: ("INVALID", RED), 1: ("valid", GREEN)})),
            column("Value #B", "ready", cell="color-text",
                   mappings=value_map({0: ("not ready", ORANGE), 1: ("ready", GREEN)})),
        ],
        order=["datname", "schema", "table", "index", "Value #A", "Value #B", "target"],
    ), 12, 7)
    d.add(timeseries(
        "Index size (top 10)",
        "pgmig_index_size_bytes (relpages * block size) of the ten largest indexes.",
        "bytes",
        [target("topk(10, max by (" + IDX + ") (pgmig_index_size_bytes{" + SD + "}))",
                "{{schema}}.{{index}} ({{table}})")],
        min_=0,
    ), 12, 7)

    d.row("Tables")
    d.add(timeseries(
        "Sequential scans per second (top 10)",
        "rate(pgmig_table_seq_scans_total) of the ten tables most scanned sequentially. A table "
        "that jumps here after the migration lost the index its queries used.",
        "ops",
        [target("topk(10, sum by (" + TBL + ") (rate(pgmig_table_seq_scans_total{" + SD + "}[" + RATE + "])))",
                "{{schema}}.{{table}}")],
        min_=0,
    ), 12, 8)
    d.add(timeseries(
        "Index scans per second by table (top 10)",
        "rate(pgmig_table_idx_scans_total) of the ten tables with the most index scans.",
        "ops",
        [target("topk(10, sum by (" + TBL + ") (rate(pgmig_table_idx_scans_total{" + SD + "}[" + RATE + "])))",
                "{{schema}}.{{table}}")],
        min_=0,
    ), 12, 8)
    seq_r = "sum by (" + TBL + ") (increase(pgmig_table_seq_scans_total{" + SD + "}[$__range]))"
    idx_r = "sum by (" + TBL + ") (increase(pgmig_table_idx_scans_total{" + SD + "}[$__range]))"
    d.add(bargauge(
        "Index scan share (time range)",
        "Index scans / (index scans + sequential scans) per table over the time range "
        "(pgmig_table_idx_scans_total, pgmig_table_seq_scans_total). Lowest first: tables read "
        "mostly by sequential scans.",
        "percentunit",
        [target("bottomk(15, " + idx_r + "\n  / (" + idx_r + " + " + seq_r + " > 0))",
                "{{schema}}.{{table}}", instant=True)],
        thr=thresholds((RED, None), (ORANGE, 0.5), (GREEN, 0.9)),
    ), 12, 9)
    tb = "max by (target, " + TBL + ") "
    d.add(table(
        "Sequential scans in the time range",
        "Sequential and index scans per table over the time range, with live tuples and size: "
        "many sequential scans on a large table is the regression to look for.",
        "short",
        [table_target("sum by (target, " + TBL + ") (increase(pgmig_table_seq_scans_total{" + SD + "}[$__range])) > 0"),
         table_target("sum by (target, " + TBL + ") (increase(pgmig_table_idx_scans_total{" + SD + "}[$__range]))"),
         table_target(tb + "(pgmig_table_live_tuples{" + SD + "})"),
         table_target(tb + "(pgmig_table_size_bytes{" + SD + "})")],
        columns=[column("Value #A", "seq scans"),
                 column("Value #B", "index scans"),
                 column("Value #C", "live tuples"),
                 column("Value #D", "size", unit="bytes")],
        order=["datname", "schema", "table", "Value #A", "Value #B", "Value #C", "Value #D", "target"],
        sort_by="seq scans",
    ), 12, 9)
    d.add(timeseries(
        "Dead tuples (top 10)",
        "pgmig_table_dead_tuples of the ten tables with the most dead rows (a backfill's "
        "UPDATEs leave one dead tuple per row until vacuum).",
        "short",
        [target("topk(10, max by (" + TBL + ") (pgmig_table_dead_tuples{" + SD + "}))", "{{schema}}.{{table}}")],
        min_=0,
    ), 12, 8)
    d.add(bargauge(
        "Dead tuple ratio",
        "dead / (live + dead) tuples per table (pgmig_table_dead_tuples, "
        "pgmig_table_live_tuples), highest first.",
        "percentunit",
        [target("topk(15, max by (" + TBL + ") (pgmig_table_dead_tuples{" + SD + "})\n  / (max by (" + TBL
                + ") (pgmig_table_live_tuples{" + SD + "}) + max by (" + TBL + ") (pgmig_table_dead_tuples{"
                + SD + "}) > 0))", "{{schema}}.{{table}}", instant=True)],
        thr=thresholds((GREEN, None), (ORANGE, 0.1), (RED, 0.2)),
    ), 12, 8)
    d.add(table(
        "Vacuum and analyze",
        "Per table: dead tuples, rows modified since the last analyze (stale planner "
        "statistics after a backfill), and time since the last (auto)vacuum and (auto)analyze.",
        "short",
        [table_target(tb + "(pgmig_table_dead_tuples{" + SD + "})"),
         table_target(tb + "(pgmig_table_modified_since_analyze{" + SD + "})"),
         table_target("time() - " + tb + "(pgmig_table_last_vacuum_timestamp_seconds{" + SD + "})"),
         table_target("time() - " + tb + "(pgmig_table_last_analyze_timestamp_seconds{" + SD + "})"),
         table_target(tb + "(pgmig_table_locked{" + SD + "})")],
        columns=[column("Value #A", "dead tuples"),
                 column("Value #B", "modified since analyze"),
                 column("Value #C", "since vacuum", unit="s"),
                 column("Value #D", "since analyze", unit="s"),
                 column("Value #E", "skipped (locked)", cell="color-text",
                        mappings=value_map({1: ("locked", ORANGE)}))],
        order=["datname", "schema", "table", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E", "target"],
        sort_by="dead tuples",
    ), 24, 8)

    d.row("Statements (pg_stat_statements)")
    qb = "max by (target, datname, queryid) "
    d.add(table(
        "Statements slower than before the migration",
        "Recent mean time per call (5m rate) of each statement against its pre-migration "
        "baseline (recording rules target_datname_queryid:pgmig_statement_exec_seconds:*). "
        "Ratio over 1.1 for 30 minutes: schedule a rollback; over 4: roll back if it persists.",
        "none",
        [table_target(qb + "(target_datname_queryid:pgmig_statement_exec_seconds:mean_vs_baseline{" + TD + "})"),
         table_target(qb + "(target_datname_queryid:pgmig_statement_exec_seconds:mean_rate5m{" + TD + "})"),
         table_target(qb + "(target_datname_queryid:pgmig_statement_exec_seconds:mean_rate5m_baseline{" + TD + "})")],
        columns=[column("Value #A", "now / baseline", unit="none", cell="color-background",
                        thr=thresholds((GREEN, None), (ORANGE, 1.1), (RED, 4))),
                 column("Value #B", "mean now", unit="s"),
                 column("Value #C", "mean baseline", unit="s")],
        order=["datname", "queryid", "Value #A", "Value #B", "Value #C", "target"],
        sort_by="now / baseline",
    ), 24, 9)
    qbq = "max by (target, datname, queryid, query) "
    d.add(table(
        "Mean time per call: now vs start of range",
        "pgmig_statement_mean_exec_seconds (pg_stat_statements.mean_exec_time, cumulative since "
        "the statistics reset) now and at the start of the time range, and their ratio. "
        "Cumulative means move slowly: a ratio above 1 is a strong regression.",
        "s",
        [table_target(qbq + "(pgmig_statement_mean_exec_seconds{" + SD + ', queryid!="other"})'),
         table_target(qbq + "(pgmig_statement_mean_exec_seconds{" + SD + ', queryid!="other"} offset $__range)'),
         table_target(qbq + "(pgmig_statement_mean_exec_seconds{" + SD + ', queryid!="other"})\n  / '
                      + qbq + "(pgmig_statement_mean_exec_seconds{" + SD + ', queryid!="other"} offset $__range)')],
        columns=[column("Value #A", "mean now"),
                 column("Value #B", "mean at range start"),
                 column("Value #C", "ratio", unit="none", cell="color-background",
                        thr=thresholds((GREEN, None), (ORANGE, 1.1), (RED, 4)))],
        order=["datname", "queryid", "Value #C", "Value #A", "Value #B", "query", "target"],
        sort_by="ratio",
    ), 12, 9)
    d.add(timeseries(
        "Mean time per call (top 10)",
        "pgmig_statement_mean_exec_seconds of the ten slowest statements on average.",
        "s",
        [target("topk(10, max by (datname, queryid) (pgmig_statement_mean_exec_seconds{" + SD + ', queryid!="other"}))',
                "{{datname}} {{queryid}}")],
        min_=0,
    ), 12, 9)
    d.add(timeseries(
        "Statement calls per second (top 10)",
        "rate(pgmig_statement_calls_total) of the ten most called statements (queryid "
        "\"other\" sums the statements outside top_n).",
        "ops",
        [target("topk(10, sum by (datname, queryid) (rate(pgmig_statement_calls_total{" + SD + "}[" + RATE + "])))",
                "{{datname}} {{queryid}}")],
        min_=0,
    ), 12, 8)
    d.add(timeseries(
        "Execution time per second (top 10)",
        "rate(pgmig_statement_exec_seconds_total): seconds of execution per second, the "
        "statements that cost the database most.",
        "s",
        [target("topk(10, sum by (datname, queryid) (rate(pgmig_statement_exec_seconds_total{" + SD + "}[" + RATE + "])))",
                "{{datname}} {{queryid}}")],
        min_=0,
    ), 12, 8)

    d.annotate("Migration window", "max by (target) (pgmig_migration_window_open{" + S + "}) == 1",
               "rgba(31, 120, 193, 0.4)", "Migration window open", "target {{target}}", "target")
    return d


# ---------------------------------------------------------------------------
# When a query returns nothing by design
# ---------------------------------------------------------------------------
# (dashboard uid, panel title, refId) -> the condition under which the query
# returns data. Every other query returns data whenever Prometheus scrapes the
# exporter (its collectors have run once) and loads alerts/*.yml. Printed by
# --conditions; --lint fails on an entry that names no query.
C_ANY_ALERT = "a PgMig alert fires"
C_DDL = "DDL runs"
C_BLOCKED = "a backend waits for a heavyweight lock"
C_ROOT = "a backend blocks another"
C_INVALID = "an index is invalid"
C_NEED_RATE = "an operation runs at least pgmig:threshold:min_operations_per_second over 5m"
C_BASELINE = "the signal had a value before the migration window opened (baseline rule)"
C_FRAMEWORK = "the frameworks collector finds a migration tool's history table"
C_JOBS = "an app collector feeds the job_* signals"
C_NO_SCAN = "an index had no scan in the time range"
C_HISTORY = "Prometheus holds data from the start of the time range"
CONDITIONS = {
    (WINDOW_UID, "Firing alerts by decision", "A"): C_ANY_ALERT,
    (WINDOW_UID, "Window open for", "A"): "a migration window is open",
    (WINDOW_UID, "Firing and pending alerts", "A"): "a PgMig alert fires or is pending",
    (WINDOW_UID, "Migration framework state", "A"): C_FRAMEWORK,
    (WINDOW_UID, "Migration framework state", "B"): C_FRAMEWORK + " that records a dirty state",
    (WINDOW_UID, "Migration framework state", "C"): C_FRAMEWORK + " that has a lock",
    (WINDOW_UID, "Running migrations", "A"): "a migration of the config's migrations section runs",
    (WINDOW_UID, "Running migrations", "B"): "a migration of the config's migrations section runs",
    (WINDOW_UID, "Running migrations", "C"): "a running migration takes a lock stronger than its plan",
    (WINDOW_UID, "Alert timeline", "A"): C_ANY_ALERT,
    (WINDOW_UID, "DDL running", "A"): C_DDL,
    (WINDOW_UID, "Progress", "A"): "CREATE INDEX, REINDEX, VACUUM, ANALYZE, CLUSTER or COPY runs, in a phase with a known total",
    (WINDOW_UID, "Running DDL", "A"): C_DDL,
    (WINDOW_UID, "DDL duration", "A"): C_DDL,
    (WINDOW_UID, "Progress over time", "A"): "CREATE INDEX, REINDEX, VACUUM, ANALYZE, CLUSTER or COPY runs, in a phase with a known total",
    (WINDOW_UID, "Queue behind AccessExclusiveLock", "A"): "a relation with an AccessExclusiveLock held or requested has a lock queue",
    (WINDOW_UID, "Blocking root backends", "A"): C_ROOT,
    (WINDOW_UID, "Blocked backends and their blocking root", "A"): C_BLOCKED,
    (WINDOW_UID, "Blocked backends and their blocking root", "B"): C_BLOCKED,
    (WINDOW_UID, "Blocking roots", "A"): C_ROOT,
    (WINDOW_UID, "Blocking roots", "B"): C_ROOT,
    (WINDOW_UID, "Lock queue per relation", "A"): "a relation has a lock queue or an AccessExclusiveLock",
    (WINDOW_UID, "AccessExclusiveLock held / waiting", "A"): "an AccessExclusiveLock is held or requested",
    (WINDOW_UID, "Objects not as expected", "A"): "an expected object is not as expected",
    (WINDOW_UID, "Invalid index count", "A"): C_INVALID,
    (WINDOW_UID, "Object checks failing", "A"): "an expected-object check fails",
    (WINDOW_UID, "Migration in flight", "A"): "a migration lock is held or schema-changing DDL runs",
    (WINDOW_UID, "Expected objects", "A"): "the config lists expected_objects",
    (WINDOW_UID, "Expected objects", "B"): "the config lists expected_objects",
    (WINDOW_UID, "Invalid indexes", "A"): C_INVALID,
    (WINDOW_UID, "Success ratio", "A"): C_NEED_RATE,
    (WINDOW_UID, "Success ratio", "B"): C_BASELINE,
    (WINDOW_UID, "Failure ratio", "A"): C_NEED_RATE,
    (WINDOW_UID, "Operations by outcome", "A"): "an app collector feeds the operations signal",
    (WINDOW_UID, "Failures by error code", "A"): "an app collector feeds the operation_errors signal",
    (WINDOW_UID, "Error codes in the time range", "A"): "an operation error was recorded in the time range",
    (WINDOW_UID, "Error codes in the time range", "B"): "expected_error_codes lists a code",
    (WINDOW_UID, "Operation duration", "A"): "an app collector feeds the operation_duration signal",
    (WINDOW_UID, "Operation duration", "B"): "an app collector feeds the operation_duration signal",
    (WINDOW_UID, "Operation duration", "C"): "an app collector feeds the operation_duration signal",
    (WINDOW_UID, "Operation duration", "D"): C_BASELINE + " and " + C_NEED_RATE,
    (WINDOW_UID, "Integrity violations", "A"): "an app collector feeds the integrity_violations signal",
    (WINDOW_UID, "Flags", "A"): "an app collector feeds the flag signal",
    (WINDOW_UID, "Backfill progress", "A"): "an app collector feeds the backfill_ratio signal",
    (WINDOW_UID, "Job progress", "A"): C_JOBS + " with items planned > 0",
    (WINDOW_UID, "Jobs", "A"): C_JOBS,
    (WINDOW_UID, "Jobs", "B"): C_JOBS,
    (WINDOW_UID, "Jobs", "C"): C_JOBS,
    (WINDOW_UID, "Jobs", "D"): C_JOBS,
    (WINDOW_UID, "Jobs", "E"): C_JOBS,
    (WINDOW_UID, "Function mean time (RPC)", "A"): "track_functions is on and a function was called within the rate interval",
    (WINDOW_UID, "Function calls", "A"): "track_functions is on and a function was called",
    (WINDOW_UID, "Server errors by SQLSTATE (PostgreSQL log)", "A"): "server_log.follow lists the target's log and it holds an error of the last 5 minutes",
    (WINDOW_UID, "Database response time", "C"): C_BASELINE,
    (WINDOW_UID, "Replication lag (time)", "A"): "a standby is connected and not idle and caught up (the lag is NULL then)",
    (WINDOW_UID, "Replication lag (bytes) and slots", "A"): "a standby is connected",
    (WINDOW_UID, "Replication lag (bytes) and slots", "B"): "a replication slot exists",
    (WINDOW_UID, "Failing collectors", "A"): "a collector's last run failed",
    (WINDOW_UID, "Failing collectors", "B"): "a collector failed within the time range",
    (WINDOW_UID, "annotation: Migration window", "A"): "a migration window is open",
    (WINDOW_UID, "annotation: Migration failed", "A"): C_FRAMEWORK + " recording a failed migration",
    (WINDOW_UID, "annotation: Migration dirty", "A"): C_FRAMEWORK + " recording a dirty state",
    (WINDOW_UID, "annotation: Migration lock held", "A"): C_FRAMEWORK + " whose lock is held",
    (WINDOW_UID, "annotation: Roll back now alerts", "A"): "a rollback_now PgMig alert fires",
    (HEALTH_UID, "Invalid or not ready (count)", "A"): "an index is invalid or not ready",
    (HEALTH_UID, "Indexes without scans in range", "A"): C_NO_SCAN,
    (HEALTH_UID, "New indexes: scans per second", "A"): "an index appeared within the time range (or Prometheus' data is younger than it)",
    (HEALTH_UID, "Unused indexes", "A"): C_NO_SCAN,
    (HEALTH_UID, "Unused indexes", "B"): C_NO_SCAN,
    (HEALTH_UID, "Invalid or not ready indexes", "A"): "an index is invalid or not ready",
    (HEALTH_UID, "Index scan share (time range)", "A"): "a table was scanned in the time range",
    (HEALTH_UID, "Sequential scans in the time range", "A"): "a table was scanned sequentially in the time range",
    (HEALTH_UID, "Dead tuple ratio", "A"): "a table has live or dead tuples",
    (HEALTH_UID, "Vacuum and analyze", "C"): "a table was vacuumed",
    (HEALTH_UID, "Vacuum and analyze", "D"): "a table was analyzed",
    (HEALTH_UID, "Vacuum and analyze", "E"): "a table is skipped because of an AccessExclusiveLock",
    (HEALTH_UID, "Statements slower than before the migration", "A"): "a statement's recent mean is above pgmig:threshold:performance_floor_seconds and it had a baseline before the migration window",
    (HEALTH_UID, "Statements slower than before the migration", "B"): "a statement runs at least pgmig:threshold:min_operations_per_second",
    (HEALTH_UID, "Statements slower than before the migration", "C"): C_BASELINE,
    (HEALTH_UID, "Mean time per call: now vs start of range", "B"): C_HISTORY,
    (HEALTH_UID, "Mean time per call: now vs start of range", "C"): C_HISTORY,
    (HEALTH_UID, "annotation: Migration window", "A"): "a migration window is open",
}


def conditions(dashboards):
    """(uid, title, expr, condition) of the queries that return nothing unless their condition holds."""
    out = []
    for uid, title, ref, expr in query_refs(dashboards):
        c = CONDITIONS.get((uid, title, ref))
        if c:
            out.append((uid, title, expr, c))
    return out


def query_refs(dashboards):
    out = []
    for _, d in sorted(dashboards.items()):
        for p in d["panels"]:
            for t in p.get("targets", []):
                out.append((d["uid"], p["title"], t["refId"], one_line(t["expr"])))
        for a in d["annotations"]["list"]:
            out.append((d["uid"], "annotation: " + a["name"], "A", one_line(a["expr"])))
    return out


DASHBOARDS = [
    ("migration-window.json", migration_window, "Migration window"),
    ("index-table-health.json", index_table_health, "Index and table health"),
]


def build():
    """{file name: dashboard dict}"""
    built = [(name, fn()) for name, fn, _ in DASHBOARDS]
    titles = {d.uid: short for (name, d), (_, _, short) in zip(built, DASHBOARDS)}
    out = {}
    for name, d in built:
        links = []
        for uid, short in titles.items():
            if uid != d.uid:
                links.extend(links_to(uid, short))
        # One dashboards dropdown is enough.
        seen = False
        dedup = []
        for link in links:
            if link["type"] == "dashboards":
                if seen:
                    continue
                seen = True
            dedup.append(link)
        out[name] = d.to_json(dedup)
    return out


def render(dashboard):
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# Queries and lint
# ---------------------------------------------------------------------------


def one_line(expr):
    return re.sub(r"\s+", " ", expr).strip()


def queries(dashboards):
    """(uid, title, expr) of every panel target and annotation, in order."""
    out = []
    for _, d in sorted(dashboards.items()):
        for p in d["panels"]:
            for t in p.get("targets", []):
                out.append((d["uid"], p["title"], one_line(t["expr"])))
        for a in d["annotations"]["list"]:
            out.append((d["uid"], "annotation: " + a["name"], one_line(a["expr"])))
    return out


def documented_metrics():
    """{name: (type, set of labels)} from docs/metrics.md."""
    out = {}
    with open(os.path.join(ROOT, "docs", "metrics.md"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| `pgmig_"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            labels = {l.strip() for l in cells[2].split(",") if l.strip() and l.strip() != "-"}
            out[cells[0].strip("`")] = (cells[1], labels)
    return out


def recording_rules():
    names = set()
    alerts = os.path.join(ROOT, "alerts")
    for fn in sorted(os.listdir(alerts)):
        if fn.endswith((".yml", ".yaml")):
            with open(os.path.join(alerts, fn), encoding="utf-8") as f:
                for line in f:
                    m = re.match(r"^\s*-?\s*record:\s*['\"]?([A-Za-z0-9_:]+)", line)
                    if m:
                        names.add(m.group(1))
    return names


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_:][A-Za-z0-9_:]*|\S')
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def selectors(expr):
    """(metric name, {label: (op, value)}) for every metric referenced in a PromQL expr."""
    out = []
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            pos += 1
            continue
        tok = m.group(0)
        pos = m.end()
        if tok[0] in "\"'" or not (tok[0].isalpha() or tok[0] in "_:"):
            continue
        rest = expr[pos:].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if "pgmig" not in tok and tok != "ALERTS" and ":" not in tok and not rest.startswith("{"):
            continue  # label names, keywords
        matchers = {}
        if rest.startswith("{"):
            start = expr.index("{", pos)
            end = expr.index("}", start)
            body = expr[start + 1:end]
            i = 0
            while i < len(body):
                mm = MATCHER.match(body, i)
                if not mm:
                    raise ValueError("cannot parse matchers {%s} in %s" % (body, expr))
                matchers[mm.group(1)] = (mm.group(2), mm.group(3))
                i = mm.end()
            pos = end + 1
        out.append((tok, matchers))
    return out


HIST_SUFFIXES = ("_bucket", "_sum", "_count")


def lint(dashboards):
    errors = []
    metrics = documented_metrics()
    rules = recording_rules()

    def err(where, msg):
        errors.append("%s: %s" % (where, msg))

    def check_ds(where, ds):
        if ds != DS:
            err(where, "datasource must be %s, not %s" % (json.dumps(DS), json.dumps(ds)))

    def walk_ds(where, node):
        # No hard-coded datasource anywhere: every "datasource" is ${datasource}.
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "datasource":
                    check_ds(where, v)
                else:
                    walk_ds(where, v)
        elif isinstance(node, list):
            for v in node:
                walk_ds(where, v)

    def check_expr(where, expr):
        try:
            sels = selectors(expr)
        except ValueError as e:
            err(where, str(e))
            return
        if not sels:
            err(where, "no metric in %r" % expr)
        for name, matchers in sels:
            if name == "ALERTS":
                if matchers.get("alertname") != ("=~", "PgMig.*"):
                    err(where, 'ALERTS must be filtered by alertname=~"PgMig.*"')
                if matchers.get("target") != ("=~", "$target"):
                    err(where, 'ALERTS must be filtered by target=~"$target"')
                continue
            if ":" in name:
                if name not in rules:
                    err(where, "%s is not a recording rule in alerts/*.yml" % name)
                elif name.startswith("pgmig:threshold:"):
                    if matchers:
                        err(where, "%s has no labels to filter on" % name)
                elif matchers.get("target") != ("=~", "$target"):
                    err(where, '%s must be filtered by target=~"$target"' % name)
                continue
            if not name.startswith("pgmig_"):
                err(where, "%s is not a pg_migration_exporter metric" % name)
                continue
            base_name, labels = name, None
            if name in metrics:
                labels = set(metrics[name][1])
            else:
                for suffix in HIST_SUFFIXES:
                    b = name[: -len(suffix)]
                    if name.endswith(suffix) and b in metrics and metrics[b][0] == "histogram":
                        base_name, labels = b, set(metrics[b][1])
                        if suffix == "_bucket":
                            labels.add("le")
            if labels is None:
                err(where, "%s is not in docs/metrics.md" % name)
                continue
            for label in ("job", "instance", "target"):
                if matchers.get(label) != ("=~", "$" + label):
                    err(where, '%s must be filtered by %s=~"$%s"' % (name, label, label))
            if "datname" in labels and matchers.get("datname") != ("=~", "$datname"):
                err(where, '%s has datname: filter it by datname=~"$datname"' % name)
            for label in matchers:
                if label not in labels and label not in ("job", "instance"):
                    err(where, "%s has no label %s (docs/metrics.md)" % (base_name, label))

    uids = set()
    for fname, d in sorted(dashboards.items()):
        where = fname
        for key in ("uid", "title", "description"):
            if not d.get(key):
                err(where, "missing " + key)
        if d.get("uid") in uids:
            err(where, "duplicate uid " + d.get("uid"))
        uids.add(d.get("uid"))
        if d.get("id") is not None:
            err(where, "id must be null (provisioned dashboards get their own)")
        if d.get("schemaVersion") != SCHEMA_VERSION:
            err(where, "schemaVersion must be %d" % SCHEMA_VERSION)
        walk_ds(where, d)

        variables_ = {v["name"]: v for v in d["templating"]["list"]}
        dsv = variables_.get("datasource")
        if not dsv or dsv.get("type") != "datasource" or dsv.get("query") != "prometheus":
            err(where, "needs a `datasource` variable of type datasource, query prometheus")
        for name in ("job", "instance", "target", "datname"):
            v = variables_.get(name)
            if not v or v.get("type") != "query" or not str(v.get("query", "")).startswith("label_values("):
                err(where, "needs a `%s` query variable with label_values()" % name)
                continue
            check_ds(where + " variable " + name, v.get("datasource"))
            inner = re.match(r"label_values\((.*),\s*(\w+)\)$", v["query"])
            if not inner or inner.group(2) != name:
                err(where, "variable %s: query must be label_values(<selector>, %s)" % (name, name))
            else:
                for metric, _ in selectors(inner.group(1)):
                    if metric not in metrics:
                        err(where, "variable %s uses %s, not in docs/metrics.md" % (name, metric))

        links = d.get("links", [])
        other = {u for u in ALL_UIDS if u != d.get("uid")}
        linked = {l.get("url", "")[3:] for l in links if l.get("url", "").startswith("/d/")}
        if not other <= linked:
            err(where, "must link to the other dashboards %s" % sorted(other - linked))

        titles = set()
        ids = set()
        for p in d["panels"]:
            pw = "%s panel %r" % (where, p.get("title"))
            if p.get("id") in ids:
                err(pw, "duplicate panel id")
            ids.add(p.get("id"))
            if p["type"] == "row":
                continue
            if p["title"] in titles:
                err(pw, "duplicate panel title")
            titles.add(p["title"])
            if not p.get("description"):
                err(pw, "missing description")
            if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                err(pw, "missing fieldConfig.defaults.unit")
            check_ds(pw, p.get("datasource"))
            if not p.get("targets"):
                err(pw, "no targets")
            refs = set()
            for t in p.get("targets", []):
                check_ds(pw, t.get("datasource"))
                if t.get("refId") in refs:
                    err(pw, "duplicate refId")
                refs.add(t.get("refId"))
                check_expr(pw, t.get("expr", ""))
            gp = p.get("gridPos", {})
            if gp.get("x", 0) + gp.get("w", 0) > 24:
                err(pw, "wider than the grid")
        for a in d["annotations"]["list"]:
            aw = "%s annotation %r" % (where, a.get("name"))
            check_ds(aw, a.get("datasource"))
            check_expr(aw, a.get("expr", ""))
    refs = {(uid, title, ref) for uid, title, ref, _ in query_refs(dashboards)}
    for key in sorted(set(CONDITIONS) - refs):
        err("CONDITIONS", "%r names no query" % (key,))
    return errors


ALL_UIDS = [WINDOW_UID, HEALTH_UID]


def add_ref_ids(dashboards):
    for d in dashboards.values():
        for p in d["panels"]:
            for i, t in enumerate(p.get("targets", [])):
                t["refId"] = chr(ord("A") + i)
    return dashboards


def load_committed():
    out = {}
    if os.path.isdir(OUT_DIR):
        for fn in sorted(os.listdir(OUT_DIR)):
            if fn.endswith(".json"):
                with open(os.path.join(OUT_DIR, fn), encoding="utf-8") as f:
                    out[fn] = f.read()
    return out


def main(argv):
    modes = {"--check", "--lint", "--queries", "--conditions", "--write"}
    args = argv[1:] or ["--write"]
    if len(args) != 1 or args[0] not in modes:
        sys.stderr.write("usage: generate.py [--write | --check | --lint | --queries | --conditions]\n")
        return 2
    mode = args[0]
    dashboards = add_ref_ids(build())
    rendered = {name: render(d) for name, d in dashboards.items()}

    if mode == "--write":
        os.makedirs(OUT_DIR, exist_ok=True)
        for name, text in rendered.items():
            with open(os.path.join(OUT_DIR, name), "w", encoding="utf-8") as f:
                f.write(text)
        for name in load_committed():
            if name not in rendered:
                os.remove(os.path.join(OUT_DIR, name))
                print("removed grafana/dashboards/" + name)
        for name in sorted(rendered):
            print("wrote grafana/dashboards/" + name)
        return 0

    if mode == "--check":
        committed = load_committed()
        bad = False
        for name in sorted(set(committed) | set(rendered)):
            if committed.get(name) != rendered.get(name):
                what = ("missing" if name not in committed else
                        "not generated by generate.py" if name not in rendered else "differs")
                sys.stderr.write("grafana/dashboards/%s: %s\n" % (name, what))
                bad = True
        if bad:
            sys.stderr.write("run: python3 grafana/generate.py\n")
            return 1
        print("grafana/dashboards: %d dashboards up to date" % len(rendered))
        return 0

    if mode == "--lint":
        committed = {}
        for name, text in load_committed().items():
            try:
                committed[name] = json.loads(text)
            except ValueError as e:
                sys.stderr.write("grafana/dashboards/%s: not JSON: %s\n" % (name, e))
                return 1
        errors = lint(committed)
        for e in errors:
            sys.stderr.write("lint: " + e + "\n")
        if errors:
            return 1
        print("grafana/dashboards: %d dashboards, %d queries, conventions hold"
              % (len(committed), len(queries(committed))))
        return 0

    if mode == "--conditions":
        for uid, title, expr, cond in conditions(dashboards):
            sys.stdout.write("%s\t%s\t%s\t%s\n" % (uid, title, expr, cond))
        return 0

    # --queries
    for uid, title, expr in queries(dashboards):
        sys.stdout.write("%s\t%s\t%s\n" % (uid, title, expr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
