"""Dashboards and alert rules use only documented metrics; dashboards follow our conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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
INFINITY = "yesoreyeram-infinity-datasource"
API_SCHEMAS = ROOT / "tests" / "api" / "schemas"
FILTERS = ('namespace=~"$namespace"', 'job=~"$job"')


def test_metric_name_parser() -> None:
    expr = (
        'sum by (component, le) (rate(prober_probe_duration_seconds_bucket{component=~"a|b",'
        ' reason!="ok"}[$__rate_interval])) / on (job) group_left(version) prober_build_info'
        " > 14 * 86400 and bool time() - foo_bar offset 5m"
    )
    assert metric_names(expr) == {
        "prober_probe_duration_seconds_bucket",
        "prober_build_info",
        "foo_bar",
    }


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
        # Prometheus panels use $datasource, status-API panels $infinity; nothing else.
        uid = {"prometheus": "${datasource}", INFINITY: "${infinity}"}[p["datasource"]["type"]]
        assert p["datasource"]["uid"] == uid, p["title"]
        if uid == "${infinity}":
            assert variables["infinity"]["query"] == INFINITY
        for t in p.get("targets", []):
            assert t["datasource"] == p["datasource"], p["title"]
            if "expr" not in t:
                continue
            # $__rate_interval, or $__range in a panel with a fixed relative time (30 days)
            window = "$__range" if p.get("timeFrom") else "$__rate_interval"
            for fn in re.finditer(r"\b(rate|irate|increase)\s*\(([^\[]*)\[([^\]]*)\]", t["expr"]):
                assert fn.group(3) == window, f"{p['title']}: {fn.group(0)}"
    ids = [p["id"] for p in _walk(dash["panels"])]
    assert len(ids) == len(set(ids)), "panel ids are unique"


def test_overview_has_status_mappings_for_every_status() -> None:
    dash = load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-overview.json"))
    kinds = {p["type"] for p in _walk(dash["panels"])}
    assert {"stat", "state-timeline", "timeseries"} <= kinds
    timeline = next(p for p in _walk(dash["panels"]) if p["type"] == "state-timeline")
    options = timeline["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {options[str(i)]["text"] for i in range(5)} == {
        "operational",
        "under maintenance",
        "degraded performance",
        "partial outage",
        "major outage",
    }


def test_check_dashboard_has_check_variable() -> None:
    dash = load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-check.json"))
    names = {v["name"] for v in dash["templating"]["list"]}
    assert "check" in names
    exprs = " ".join(e for _, e in dashboard_exprs(DASHBOARDS[0].parent / "prober-check.json"))
    for metric in (
        "prober_probe_phase_seconds",
        "prober_check_tls_cert_expiry_timestamp_seconds",
        "prober_check_last_status_code",
        "prober_probes_total",
    ):
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
        # the chart replaces the token with prometheusRule.runbookBaseUrl (test_chart.py)
        assert anchor == f"__RUNBOOK_BASE_URL__#{rule['alert'].lower()}", rule["alert"]
        assert f"\n#### {rule['alert']}\n" in DEPLOY_DOC.read_text(), "runbook section"


def _walk(panels):  # type: ignore[no-untyped-def]
    for p in panels:
        yield p
        yield from _walk(p.get("panels", []))


def _selectors(expr: str) -> list[tuple[str, str]]:
    """(metric, label matchers) of every prober series selector in an expression."""
    return [
        (m.group(1), m.group(2) or "")
        for m in re.finditer(r"\b(prober_[a-z0-9_]+)(\{[^}]*\})?", expr)
    ]


def test_selectors_parser() -> None:
    expr = 'max(a{x="1"}) + prober_b{job=~"$job"} / prober_c and on (job) prober_d_bucket'
    assert _selectors(expr) == [
        ("prober_b", '{job=~"$job"}'),
        ("prober_c", ""),
        ("prober_d_bucket", ""),
    ]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_filters_on_namespace_and_job(path) -> None:  # type: ignore[no-untyped-def]
    """Two prober releases in one Prometheus never merge: every selector of every panel
    and variable (but $namespace's own) is filtered on $namespace and $job."""
    variables = {v["name"]: v for v in load_dashboard(path)["templating"]["list"]}
    for name, query in (
        ("namespace", "label_values(prober_build_info, namespace)"),
        ("job", 'label_values(prober_build_info{namespace=~"$namespace"}, job)'),
    ):
        var = variables[name]
        assert var["type"] == "query"
        assert var["query"]["query"] == query
        assert var["datasource"]["uid"] == "${datasource}"
        assert var["includeAll"] and var["multi"] and var["allValue"] == ".*"
    checked = 0
    for where, expr in dashboard_exprs(path):
        if where.endswith("variable namespace"):
            continue
        selectors = _selectors(expr)
        assert selectors, where
        for metric, matchers in selectors:
            checked += 1
            for f in FILTERS:
                if where.endswith("variable job") and f.startswith("job"):
                    continue
                assert f in matchers, f"{where}: {metric} not filtered on {f}"
    assert checked >= 8


def _overview() -> dict[str, Any]:
    return load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-overview.json"))


def incident_table() -> dict[str, Any]:
    tables = [
        p
        for p in _walk(_overview()["panels"])
        if p["type"] == "table" and p["datasource"]["type"] == INFINITY
    ]
    assert len(tables) == 1, "one incident table from the status API"
    return tables[0]


INCIDENT_COLUMNS = ["name", "status", "impact", "started_at", "resolved_at", "shortlink"]


def test_overview_has_the_incident_table_from_the_status_api() -> None:
    variables = {v["name"]: v for v in _overview()["templating"]["list"]}
    assert variables["infinity"]["type"] == "datasource"
    assert variables["infinity"]["query"] == INFINITY
    panel = incident_table()
    assert panel["datasource"] == {"type": INFINITY, "uid": "${infinity}"}
    (target,) = panel["targets"]
    assert target["datasource"] == panel["datasource"]
    assert (target["type"], target["source"], target["parser"]) == ("json", "url", "backend")
    assert target["url"] == "/api/v2/incidents.json"
    assert target["url_options"]["method"] == "GET"
    assert target["root_selector"] == "incidents"
    columns = {c["selector"]: c for c in target["columns"]}
    assert list(columns) == INCIDENT_COLUMNS
    for field in ("started_at", "resolved_at"):
        assert columns[field]["type"] == "timestamp", field
    link = next(
        o
        for o in panel["fieldConfig"]["overrides"]
        if o["matcher"]["options"] == columns["shortlink"]["text"]
    )
    (links,) = [p["value"] for p in link["properties"] if p["id"] == "links"]
    assert links[0]["url"] == "${__value.raw}", "shortlink is a link"
    # The metrics-based stat stays, next to the table.
    stats = [
        p
        for p in _walk(_overview()["panels"])
        if p["type"] == "stat"
        and any("prober_incidents_open" in t.get("expr", "") for t in p["targets"])
    ]
    assert len(stats) == 1


def test_incident_columns_are_fields_of_the_api() -> None:
    """The table's URL and columns against the API's own schema (tests/api/schemas)."""
    page = json.loads((API_SCHEMAS / "incidents.json").read_text())
    assert "/api/v2/incidents.json" in page["title"]
    assert page["properties"]["incidents"]["type"] == "array"
    common = json.loads((API_SCHEMAS / "common.json").read_text())
    item = page["properties"]["incidents"]["items"]["$ref"]
    assert item == "common.json#/$defs/incident"
    base = common["$defs"]["incident_base"]
    assert {"$ref": "#/$defs/incident_base"} in common["$defs"]["incident"]["allOf"]
    properties = {**base["properties"], **common["$defs"]["incident"]["properties"]}
    target = incident_table()["targets"][0]
    for column in target["columns"]:
        field = column["selector"]
        assert field in properties and field in base["required"], field
        ref = properties[field].get("$ref", "")
        if column["type"] == "timestamp":
            assert ref.endswith("datetime"), field


def test_deploy_doc_sets_up_the_infinity_data_source() -> None:
    text = DEPLOY_DOC.read_text()
    assert INFINITY in text
    assert "yesoreyram" not in text, "the plugin id is yesoreyeram-infinity-datasource"
    assert "allowedHosts" in text
    for column in INCIDENT_COLUMNS:
        assert f"`{column}`" in text, column


# -- dashboards as code (grafana/dashboards.py, grafana-foundation-sdk) ------------------


def _generator() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "grafana_dashboards", ROOT / "grafana" / "dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_json_is_what_the_code_generates() -> None:
    rendered = _generator().render()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS)
    for path in DASHBOARDS:
        assert path.read_text() == rendered[path.name], (
            f"{path.name} differs from grafana/dashboards.py: run python grafana/dashboards.py"
        )


def test_generator_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    gen = _generator()
    gen.OUT = tmp_path
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0
    (tmp_path / "prober-check.json").write_text("{}\n")
    assert gen.main(["--check"]) == 1


def test_component_panels_link_to_the_checks_of_the_component() -> None:
    overview = _overview()
    linked = [
        p
        for p in _walk(overview["panels"])
        if any(
            "component" in link.get("title", "")
            for link in p.get("fieldConfig", {}).get("defaults", {}).get("links", [])
        )
    ]
    titles = {p["title"] for p in linked}
    assert {"Component status", "Status timeline", "Availability, last 30 days"} <= titles
    for p in linked:
        (link,) = p["fieldConfig"]["defaults"]["links"]
        assert link["url"].startswith("/d/prober-check/")
        assert "var-component=${__field.labels.component}" in link["url"]
        assert "${namespace:queryparam}" in link["url"] and "${job:queryparam}" in link["url"]
    check = load_dashboard(next(p for p in DASHBOARDS if p.name == "prober-check.json"))
    variables = {v["name"]: v for v in check["templating"]["list"]}
    assert "$component" in variables["check"]["query"]["query"], "check follows component"
    table = next(p for p in check["panels"] if p["title"] == "Checks of the component")
    assert "$component" in table["targets"][0]["expr"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_incident_annotations(path: Path) -> None:
    annotations = load_dashboard(path)["annotations"]["list"]
    (incidents,) = [a for a in annotations if a.get("name") == "Incidents opened"]
    assert incidents["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert "prober_incidents_opened_total" in incidents["expr"] and incidents["enable"]


def test_thirty_day_availability_and_error_budget_per_component() -> None:
    panels = {p["title"]: p for p in _walk(_overview()["panels"])}
    for title in ("Availability, last 30 days", "Error budget left, last 30 days"):
        panel = panels[title]
        assert panel["timeFrom"] == "30d"
        (target,) = panel["targets"]
        assert "sum by (component)" in target["expr"] and "[$__range]" in target["expr"]
        assert target["instant"] is True
    assert "/ 0.001" in panels["Error budget left, last 30 days"]["targets"][0]["expr"]
    assert "/ 0.001" in panels["Burn rate"]["targets"][0]["expr"]
