"""Dashboards and alert rules use only documented metrics; dashboards follow our conventions."""

from __future__ import annotations

import re

import pytest

from .promql import (
    ROOT,
    dashboard_exprs,
    dashboard_files,
    documented_metrics,
    load_dashboard,
    load_rules,
    metric_names,
    series_names,
)

DASHBOARDS = dashboard_files()
DEPLOY_DOC = ROOT / "docs" / "DEPLOY.md"


def test_metric_name_parser() -> None:
    expr = (
        'sum by (component, le) (rate(prober_probe_duration_seconds_bucket{component=~"a|b",'
        ' reason!="ok"}[$__rate_interval])) / on (job) group_left(version) prober_build_info'
        " > 14 * 86400 and bool time() - foo_bar offset 5m"
    )
    assert metric_names(expr) == {
        "prober_probe_duration_seconds_bucket", "prober_build_info", "foo_bar"}


def test_metrics_doc_parsed() -> None:
    docs = documented_metrics()
    assert docs["prober_probes_total"] == "counter"
    assert docs["prober_scheduler_lag_seconds"] == "histogram"
    assert len(docs) >= 20


def test_both_dashboards_exist() -> None:
    assert {p.name for p in DASHBOARDS} >= {"prober-overview.json", "prober-check.json"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_uses_only_documented_metrics(path) -> None:  # type: ignore[no-untyped-def]
    allowed = series_names()
    exprs = dashboard_exprs(path)
    assert len(exprs) >= 5
    for where, expr in exprs:
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = names - allowed
        assert not unknown, f"{where}: undocumented metric(s) {sorted(unknown)} in {expr!r}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_conventions(path) -> None:  # type: ignore[no-untyped-def]
    dash = load_dashboard(path)
    assert re.fullmatch(r"prober-[a-z-]+", dash["uid"]), "stable, readable uid"
    assert dash["uid"] == path.stem, "uid matches the file name"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in _walk(dash["panels"]) if p.get("type") != "row"]
    assert panels
    for p in panels:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            for fn in re.finditer(r"\b(rate|irate|increase)\s*\(([^\[]*)\[([^\]]*)\]", t["expr"]):
                assert fn.group(3) == "$__rate_interval", f"{p['title']}: {fn.group(0)}"
    ids = [p["id"] for p in _walk(dash["panels"])]
    assert len(ids) == len(set(ids)), "panel ids are unique"


def test_overview_has_status_mappings_for_every_status() -> None:
    dash = load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-overview.json"))
    kinds = {p["type"] for p in _walk(dash["panels"])}
    assert {"stat", "state-timeline", "timeseries"} <= kinds
    timeline = next(p for p in _walk(dash["panels"]) if p["type"] == "state-timeline")
    options = timeline["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {options[str(i)]["text"] for i in range(5)} == {
        "operational", "under maintenance", "degraded performance", "partial outage",
        "major outage"}


def test_check_dashboard_has_check_variable() -> None:
    dash = load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-check.json"))
    names = {v["name"] for v in dash["templating"]["list"]}
    assert "check" in names
    exprs = " ".join(e for _, e in dashboard_exprs(DASHBOARDS[0].parent / "prober-check.json"))
    for metric in ("prober_probe_phase_seconds", "prober_check_tls_cert_expiry_timestamp_seconds",
                   "prober_check_last_status_code", "prober_probes_total"):
        assert metric in exprs


def test_rules_use_only_documented_metrics() -> None:
    allowed = series_names()
    rules = load_rules()
    assert len(rules) >= 8
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert not names - allowed, f"{rule['alert']}: undocumented {sorted(names - allowed)}"


def test_rules_have_severity_and_annotations() -> None:
    for rule in load_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        for key in ("summary", "description", "runbook", "runbook_url"):
            assert rule["annotations"].get(key), f"{rule['alert']}: missing {key}"
        anchor = rule["annotations"]["runbook_url"]
        assert anchor == f"docs/DEPLOY.md#{rule['alert'].lower()}", rule["alert"]
        assert f"\n#### {rule['alert']}\n" in DEPLOY_DOC.read_text(), "runbook section"


def _walk(panels):  # type: ignore[no-untyped-def]
    for p in panels:
        yield p
        yield from _walk(p.get("panels", []))
