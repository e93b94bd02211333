"""Helpers for the deploy tests: where dashboards and rules live, their PromQL, metric names.

`metric_names(expr)` pulls metric names out of a PromQL expression with regexes: strings,
label matchers, grouping clauses, functions, keywords, numbers and durations are removed,
and what is left are metric names. Good enough for the expressions we write, and strict:
an unknown identifier shows up as an unknown metric.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "grafana" / "dashboards"
RULES = ROOT / "grafana" / "alerts" / "prober.rules.yaml"
RULE_TESTS = Path(__file__).resolve().parent / "prober.rules.test.yaml"
METRICS_DOC = ROOT / "docs" / "METRICS.md"
CHART = ROOT / "helm" / "prober"

_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
    # aggregation operators, also written `max by (x) (...)`
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
}
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def documented_metrics() -> dict[str, str]:
    """Metric name -> type, from the tables of docs/METRICS.md."""
    found: dict[str, str] = {}
    for line in METRICS_DOC.read_text().splitlines():
        m = re.match(r"^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*(\w+)\s*\|", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def series_names() -> set[str]:
    """Every series name the documented metrics expose (histograms add _bucket/_sum/_count)."""
    names: set[str] = set()
    for name, kind in documented_metrics().items():
        names.add(name)
        if kind == "histogram":
            names.update(name + s for s in _HISTOGRAM_SUFFIXES)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # range and subquery selectors
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", s)
    s = re.sub(r"\boffset\s+\S+", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load_dashboard(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def dashboard_exprs(path: Path) -> list[tuple[str, str]]:
    """(where, expr) for every Prometheus query of a dashboard: panels and variables."""
    dash = load_dashboard(path)
    out: list[tuple[str, str]] = []
    for p in _panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f"{path.name}: panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
    for a in dash.get("annotations", {}).get("list", []):
        if "expr" in a:
            out.append((f"{path.name}: annotation {a.get('name')!r}", a["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q.strip())
            assert m, f"{path.name}: variable {v['name']}: expected label_values(expr, label)"
            out.append((f"{path.name}: variable {v['name']}", m.group(1)))
    return out


def load_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


# How Grafana would expand the variables our dashboards use, for running them in Prometheus.
def substitute(
    expr: str,
    check: str = ".+",
    rate_interval: str = "1m",
    *,
    namespace: str = ".*",
    job: str = ".*",
) -> str:
    """`$namespace` and `$job` are regex matchers (multi-value variables, All is `.*`)."""
    out = expr.replace("$__rate_interval", rate_interval).replace("$__interval", "15s")
    out = out.replace("$__range", "1h").replace('"$check"', json.dumps(check))
    out = out.replace("$component", ".+")
    out = out.replace("$namespace", namespace).replace("$job", job)
    assert "$" not in out, f"unsubstituted variable in {out}"
    return out
