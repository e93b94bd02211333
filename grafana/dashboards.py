"""The Grafana dashboards as code, built with Grafana's own SDK (grafana-foundation-sdk).

    python grafana/dashboards.py            # write grafana/dashboards/*.json
    python grafana/dashboards.py --check    # exit 1 if a committed file differs

The JSON files are generated: edit this file, run it, then `python scripts/chart_gen.py`
(the chart carries copies). tests/deploy/test_dashboards.py checks that the committed JSON is
what this code produces, and the conventions: stable uids, `$datasource`, `$namespace` and
`$job` on every selector, `$__rate_interval` in every rate (or `$__range` in panels with a
fixed relative time), and only metrics from docs/METRICS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

OUT = Path(__file__).resolve().parent / "dashboards"
INFINITY = "yesoreyeram-infinity-datasource"
PROM = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
INF = dm.DataSourceRef(type_val=INFINITY, uid="${infinity}")
F = 'namespace=~"$namespace", job=~"$job"'
FC = F + ', component=~"$component"'
FK = F + ', check="$check"'
OBJECTIVE = 0.001  # the error budget of a 99.9% availability objective, as in the alerts
STATUS_TEXT = (
    "operational",
    "under maintenance",
    "degraded performance",
    "partial outage",
    "major outage",
)
STATUS_COLORS = ("green", "blue", "yellow", "orange", "red")
CHECK_URL = "/d/prober-check/prober-check?${namespace:queryparam}&${job:queryparam}"
CHECK_LINK_TITLE = "Checks of ${__field.labels.component}"


class _Raw:
    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def to_json(self) -> dict[str, Any]:
        return self.value


class RawQuery(cogbuilder.Builder[Any]):
    """A data query the SDK has no builder for (the Infinity data source)."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def build(self) -> _Raw:
        return _Raw(self.value)


def q(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> Any:
    target = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(PROM)
    return target.instant() if instant else target.range()


def steps(*pairs: tuple[str, float | None]) -> Any:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(color=c, value=v) for c, v in pairs])
    )


def value_map(options: dict[str, tuple[str, str]]) -> list[Any]:
    return [
        dm.ValueMap(
            options={
                k: dm.ValueMappingResult(text=t, color=c, index=i)
                for i, (k, (t, c)) in enumerate(options.items())
            }
        )
    ]


STATUS_MAP = value_map(
    {str(i): (t, c) for i, (t, c) in enumerate(zip(STATUS_TEXT, STATUS_COLORS, strict=True))}
)
STATUS_STEPS = steps(*((c, None if i == 0 else float(i)) for i, c in enumerate(STATUS_COLORS)))


def pos(x: int, y: int, w: int, h: int) -> dm.GridPos:
    return dm.GridPos(x=x, y=y, w=w, h=h)


def checks_link() -> list[Any]:
    """A data link from a component's series to the check dashboard, filtered on it."""
    return [
        db.DashboardLink(CHECK_LINK_TITLE)
        .url(CHECK_URL + "&var-component=${__field.labels.component}")
        .keep_time(True)
    ]


def stat_panel(
    pid: int,
    title: str,
    desc: str,
    grid: dm.GridPos,
    targets: list[Any],
    *,
    color: str = "value",
    graph: str = "none",
    text: str = "value",
) -> Any:
    return (
        stat.Panel()
        .id(pid)
        .title(title)
        .description(desc)
        .datasource(PROM)
        .grid_pos(grid)
        .targets(targets)
        .thresholds(steps(("green", None)))
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields(""))
        .color_mode(cm.BigValueColorMode(color))
        .graph_mode(cm.BigValueGraphMode(graph))
        .justify_mode(cm.BigValueJustifyMode.CENTER)
        .text_mode(cm.BigValueTextMode(text))
    )


def ts_panel(
    pid: int,
    title: str,
    desc: str,
    grid: dm.GridPos,
    targets: list[Any],
    *,
    unit: str = "",
    fill: int = 10,
    stack: bool = False,
    bars: bool = False,
) -> Any:
    panel = (
        timeseries.Panel()
        .id(pid)
        .title(title)
        .description(desc)
        .datasource(PROM)
        .grid_pos(grid)
        .targets(targets)
        .thresholds(steps(("green", None)))
        .draw_style(cm.GraphDrawStyle.BARS if bars else cm.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(fill)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(
            cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)
        )
    )
    if unit:
        panel = panel.unit(unit)
    if stack:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))
    return panel


def query_var(name: str, label: str, expr: str, *, multi: bool = True) -> Any:
    var = (
        db.QueryVariable(name)
        .label(label)
        .datasource(PROM)
        .query({"query": f"label_values({expr}, {name})", "refId": f"{name}-var"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    return var.all_value(".*") if multi else var


def common_vars() -> list[Any]:
    return [
        db.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        query_var("namespace", "Namespace", "prober_build_info"),
        query_var("job", "Job (prober release)", 'prober_build_info{namespace=~"$namespace"}'),
    ]


def incident_annotation() -> Any:
    """Incident openings from the counters, on every time panel of the dashboard."""
    return (
        db.AnnotationQuery()
        .name("Incidents opened")
        .datasource(PROM)
        .enable(True)
        .icon_color("red")
        .expr(
            f"sum by (impact) (increase(prober_incidents_opened_total{{{F}}}"
            "[$__rate_interval])) > 0"
        )
    )


def dashboard(uid: str, title: str, desc: str, time_from: str) -> Any:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(desc)
        .tags(["prober"])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time(time_from, "now")
        .refresh("30s")
        .timezone("")
        .version(1)
        .annotation(incident_annotation())
    )


def ratio(window: str, by: str = "component", extra: str = "") -> str:
    failing = f'prober_component_probes_total{{{FC}, reason!="ok"{extra}}}'
    every = f"prober_component_probes_total{{{FC}{extra}}}"
    fn = "increase" if window == "$__range" else "rate"
    return f"sum by ({by}) ({fn}({failing}[{window}]))\n/\nsum by ({by}) ({fn}({every}[{window}]))"


def overview() -> Any:
    d = dashboard(
        "prober-overview",
        "prober / overview",
        "Component status, error budgets, incidents and probe volume from prober's "
        "metrics (docs/METRICS.md).",
        "now-3h",
    )
    d = d.link(
        db.DashboardLink("Check detail")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags(["prober"])
        .keep_time(True)
        .as_dropdown(False)
        .include_vars(False)
    )
    for var in (
        common_vars()[0],
        db.DatasourceVariable("infinity")
        .label("Status API (Infinity)")
        .type(INFINITY)
        .description("An Infinity data source whose URL is prober's Service (docs/DEPLOY.md)."),
        *common_vars()[1:],
        query_var("component", "Component", f"prober_component_status{{{F}}}"),
    ):
        d = d.with_variable(var)
    status_expr = f"max by (component) (prober_component_status{{{FC}}})"
    d = d.with_row(db.Row("Components").id(1).grid_pos(pos(0, 0, 24, 1)))
    d = d.with_panel(
        stat_panel(
            2,
            "Component status",
            "Current status of every component "
            "(prober_component_status: 0 operational ... 4 major outage). Click a "
            "component for its checks.",
            pos(0, 1, 24, 5),
            [q(status_expr, "{{component}}", instant=True)],
            color="background",
            text="value_and_name",
        )
        .mappings(STATUS_MAP)
        .thresholds(STATUS_STEPS)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .data_links(checks_link())
    )
    d = d.with_panel(
        statetimeline.Panel()
        .id(3)
        .title("Status timeline")
        .description("Status of each component over time. Click a component for its checks.")
        .datasource(PROM)
        .grid_pos(pos(0, 6, 24, 9))
        .targets([q(status_expr, "{{component}}")])
        .mappings(STATUS_MAP)
        .thresholds(STATUS_STEPS)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .fill_opacity(80)
        .line_width(0)
        .merge_values(True)
        .show_value(cm.VisibilityMode.NEVER)
        .align_value(cm.TimelineValueAlignment.LEFT)
        .row_height(0.8)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.SINGLE).sort(cm.SortOrder.NONE))
        .data_links(checks_link())
    )
    d = d.with_panel(
        ts_panel(
            4,
            "Failure ratio over the status window",
            "Share of failing probe requests over "
            "each component's status window (what the status is computed from).",
            pos(0, 15, 12, 8),
            [q(f"max by (component) (prober_component_failure_ratio{{{FC}}})", "{{component}}")],
            unit="percentunit",
        )
        .min(0)
        .max(1)
    )
    d = d.with_panel(
        ts_panel(
            5,
            "Failing probe requests (rate)",
            "Share of probe requests that did not end with reason ok, from the probe counters.",
            pos(12, 15, 12, 8),
            [q(ratio("$__rate_interval"), "{{component}}")],
            unit="percentunit",
        )
        .min(0)
        .max(1)
    )
    d = d.with_panel(
        ts_panel(
            6,
            "Latency p95 over the status window",
            "95th percentile probe latency per component over its status window.",
            pos(0, 23, 12, 8),
            [
                q(
                    "max by (component) "
                    f'(prober_component_latency_seconds{{{FC}, quantile="0.95"}})',
                    "{{component}}",
                )
            ],
            unit="s",
        )
    )
    d = d.with_panel(
        ts_panel(
            7,
            "Probe latency p95 (histogram)",
            "95th percentile of whole-request latency from the per-component probe histogram.",
            pos(12, 23, 12, 8),
            [
                q(
                    "histogram_quantile(0.95, sum by (component, le) (rate("
                    f"prober_component_probe_duration_seconds_bucket{{{FC}}}[$__rate_interval])))",
                    "{{component}}",
                )
            ],
            unit="s",
        )
    )
    d = _error_budget(d)
    d = _traffic(d)
    d = _incidents(d)
    d = d.with_row(db.Row("Probes").id(12).grid_pos(pos(0, 63, 24, 1)))
    d = d.with_panel(
        ts_panel(
            13,
            "Probe volume by result",
            "Probe requests finished per second, by result reason.",
            pos(0, 64, 12, 8),
            [
                q(
                    f"sum by (reason) (rate(prober_component_probes_total{{{FC}}}"
                    "[$__rate_interval]))",
                    "{{reason}}",
                )
            ],
            unit="reqps",
            fill=40,
            stack=True,
        )
    )
    d = d.with_panel(
        ts_panel(
            14,
            "Probe volume by component",
            "Probe requests finished per second, by component.",
            pos(12, 64, 12, 8),
            [
                q(
                    f"sum by (component) (rate(prober_component_probes_total"
                    f"{{{FC}}}[$__rate_interval]))",
                    "{{component}}",
                )
            ],
            unit="reqps",
        )
    )
    return _self(d)


def _error_budget(d: Any) -> Any:
    """30-day availability and error budget per component (objective 99.9%, as the alerts)."""
    d = d.with_row(
        db.Row("Error budget (30 days, 99.9% objective)").id(26).grid_pos(pos(0, 31, 24, 1))
    )
    availability = f"1 - (\n{ratio('$__range')}\n)"
    budget = f"1 - (\n{ratio('$__range')}\n) / {OBJECTIVE}"
    d = d.with_panel(
        stat_panel(
            27,
            "Availability, last 30 days",
            "Share of each component's probe "
            "requests that ended ok over the last 30 days (the SLI of the error-budget "
            "alerts).",
            pos(0, 32, 12, 6),
            [q(availability, "{{component}}", instant=True)],
            color="background",
            text="value_and_name",
        )
        .time_from("30d")
        .unit("percentunit")
        .decimals(3)
        .thresholds(steps(("red", None), ("orange", 0.995), ("green", 1 - OBJECTIVE)))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .data_links(checks_link())
    )
    d = d.with_panel(
        stat_panel(
            28,
            "Error budget left, last 30 days",
            "Share of the 30-day error budget "
            "(0.1% of requests failing) not yet spent; negative when overspent.",
            pos(12, 32, 12, 6),
            [q(budget, "{{component}}", instant=True)],
            color="background",
            text="value_and_name",
        )
        .time_from("30d")
        .unit("percentunit")
        .decimals(1)
        .thresholds(steps(("red", None), ("orange", 0.0), ("green", 0.25)))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .data_links(checks_link())
    )
    return d.with_panel(
        ts_panel(
            29,
            "Burn rate",
            "How fast each component spends its error budget: 1 spends exactly "
            "the 30-day budget in 30 days; the fast-burn alert pages above 14.4 (1 h) or 6 (6 h), "
            "the slow-burn alert tickets above 3 (1 d) or 1 (3 d).",
            pos(0, 38, 24, 7),
            [q(f"(\n{ratio('$__rate_interval')}\n) / {OBJECTIVE}", "{{component}}")],
        )
    )


def _traffic(d: Any) -> Any:
    """Real-traffic signals (components with a `traffic:` block)."""
    d = d.with_row(db.Row("Real traffic (from Prometheus)").id(30).grid_pos(pos(0, 84, 24, 1)))
    d = d.with_panel(
        ts_panel(
            31,
            "Real-traffic failure ratio",
            "Failing share of each component's real traffic "
            "at the last evaluation with data (prober_traffic_failure_ratio).",
            pos(0, 85, 12, 7),
            [q(f"max by (component) (prober_traffic_failure_ratio{{{FC}}})", "{{component}}")],
            unit="percentunit",
        )
        .min(0)
        .max(1)
    )
    return d.with_panel(
        ts_panel(
            32,
            "Real-traffic evaluations without data",
            "Evaluations per second that got no "
            "data: too few requests (no_data) or Prometheus unreachable or erroring (error). "
            "Neither ever opens an incident.",
            pos(12, 85, 12, 7),
            [
                q(
                    "sum by (component, outcome) (rate(prober_traffic_evaluations_total"
                    f'{{{FC}, outcome!="ok"}}[$__rate_interval]))',
                    "{{component}} {{outcome}}",
                )
            ],
            unit="reqps",
        )
    )


def _incidents(d: Any) -> Any:
    d = d.with_row(db.Row("Incidents").id(8).grid_pos(pos(0, 45, 24, 1)))
    d = d.with_panel(
        stat_panel(
            9,
            "Open incidents",
            "Incidents not yet resolved, from "
            "prober_incidents_open. The table below lists them from the status API.",
            pos(0, 46, 6, 6),
            [q(f"sum(prober_incidents_open{{{F}}})", "open", instant=True)],
            color="background",
            graph="area",
        ).thresholds(steps(("green", None), ("red", 1.0)))
    )
    d = d.with_panel(
        ts_panel(
            10,
            "Incidents opened, by impact",
            "Incidents opened per interval, by the impact they were opened with.",
            pos(6, 46, 9, 6),
            [
                q(
                    f"sum by (impact) (increase(prober_incidents_opened_total{{{F}}}"
                    "[$__rate_interval]))",
                    "{{impact}}",
                )
            ],
            fill=60,
            bars=True,
        ).decimals(0)
    )
    d = d.with_panel(
        ts_panel(
            11,
            "Time to detect and incident duration (p50)",
            "From an episode's first failing "
            "probe to the incident opening; from an incident's start to its resolution.",
            pos(15, 46, 9, 6),
            [
                q(
                    "histogram_quantile(0.5, sum by (le) (rate("
                    f"prober_incident_time_to_detect_seconds_bucket{{{F}}}[$__rate_interval])))",
                    "time to detect p50",
                ),
                q(
                    "histogram_quantile(0.5, sum by (le) (rate("
                    f"prober_incident_duration_seconds_bucket{{{F}}}[$__rate_interval])))",
                    "duration p50",
                    "B",
                ),
            ],
            unit="s",
        )
    )
    return d.with_panel(_incident_table())


def _incident_table() -> Any:
    columns = [
        ("name", "Incident", "string"),
        ("status", "Status", "string"),
        ("impact", "Impact", "string"),
        ("started_at", "Started", "timestamp"),
        ("resolved_at", "Resolved", "timestamp"),
        ("shortlink", "Link", "string"),
    ]
    target = RawQuery(
        {
            "datasource": {"type": INFINITY, "uid": "${infinity}"},
            "refId": "A",
            "type": "json",
            "source": "url",
            "parser": "backend",
            "format": "table",
            "url": "/api/v2/incidents.json",
            "url_options": {"method": "GET", "data": ""},
            "root_selector": "incidents",
            "columns": [{"selector": s, "text": t, "type": k} for s, t, k in columns],
            "filters": [],
        }
    )
    statuses = value_map(
        {
            "resolved": ("resolved", "green"),
            "postmortem": ("postmortem", "green"),
            "monitoring": ("monitoring", "yellow"),
            "identified": ("identified", "orange"),
            "investigating": ("investigating", "red"),
        }
    )
    return (
        table.Panel()
        .id(25)
        .title("Open and recent incidents")
        .description(
            "Incidents from prober's status API (/api/v2/incidents.json, newest "
            "first) through the Infinity data source ($infinity): set its URL to "
            "prober's Service and allow that host (docs/DEPLOY.md, 'Incident "
            "table')."
        )
        .datasource(INF)
        .grid_pos(pos(0, 52, 24, 8))
        .targets([target])
        .override_by_name(
            "Status",
            [
                dm.DynamicConfigValue(id_val="mappings", value=statuses),
                dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ],
        )
        .override_by_name(
            "Link",
            [
                dm.DynamicConfigValue(
                    id_val="links",
                    value=[
                        {
                            "title": "Open the incident on the status page",
                            "url": "${__value.raw}",
                            "targetBlank": True,
                        }
                    ],
                )
            ],
        )
        .show_header(True)
        .cell_height(cm.TableCellHeight.SM)
        .sort_by([cb.TableSortByFieldState().display_name("Started").desc(True)])
    )


def _self(d: Any) -> Any:
    d = d.with_row(db.Row("prober itself").id(15).grid_pos(pos(0, 72, 24, 1)))
    for pid, x, title, metric, agg, states in (
        (16, 0, "Checks", "prober_checks", "sum", None),
        (17, 4, "Probes in flight", "prober_probes_in_flight", "sum", None),
        (18, 8, "Config loaded", "prober_config_last_reload_successful", "min", "FAILED"),
        (19, 12, "Network", "prober_network_healthy", "min", "UNHEALTHY"),
        (20, 16, "Store", "prober_store_healthy", "min", "FAILING"),
    ):
        panel = stat_panel(
            pid,
            title,
            f"{agg}({metric})",
            pos(x, 73, 4, 4),
            [q(f"{agg}({metric}{{{F}}})", title, instant=True)],
        )
        if states:
            panel = panel.mappings(value_map({"0": (states, "red"), "1": ("ok", "green")}))
        d = d.with_panel(panel)
    d = d.with_panel(
        stat_panel(
            21,
            "Version",
            "prober_build_info",
            pos(20, 73, 4, 4),
            [q(f"max by (version) (prober_build_info{{{F}}})", "{{version}}", instant=True)],
            text="name",
        )
    )
    d = d.with_panel(
        ts_panel(
            22,
            "Scheduler lag p99",
            "How late probe rounds start against their schedule.",
            pos(0, 77, 8, 7),
            [
                q(
                    "histogram_quantile(0.99, sum by (le) (rate("
                    f"prober_scheduler_lag_seconds_bucket{{{F}}}[$__rate_interval])))",
                    "p99",
                )
            ],
            unit="s",
        )
    )
    d = d.with_panel(
        ts_panel(
            23,
            "Store errors",
            "Failed store operations per interval.",
            pos(8, 77, 8, 7),
            [
                q(
                    f"sum by (operation) (increase(prober_store_errors_total{{{F}}}"
                    "[$__rate_interval]))",
                    "{{operation}}",
                )
            ],
        ).decimals(0)
    )
    return d.with_panel(
        ts_panel(
            24,
            "Webhook deliveries",
            "Webhook delivery attempts per second, by outcome.",
            pos(16, 77, 8, 7),
            [
                q(
                    f"sum by (webhook, outcome) (rate(prober_webhook_deliveries_total{{{F}}}"
                    "[$__rate_interval]))",
                    "{{webhook}} {{outcome}}",
                )
            ],
            unit="reqps",
        )
    )


def check() -> Any:
    d = dashboard(
        "prober-check",
        "prober / check",
        "The checks of a component, and one check in detail: requests and "
        "failures, phase timings, latency, status code, certificate expiry.",
        "now-1h",
    )
    d = d.link(
        db.DashboardLink("Overview")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags(["prober"])
        .keep_time(True)
        .as_dropdown(False)
        .include_vars(False)
    )
    for var in (
        *common_vars(),
        query_var("component", "Component", f"prober_check_info{{{F}}}"),
        query_var(
            "check", "Check", f'prober_check_info{{{F}, component=~"$component"}}', multi=False
        ),
    ):
        d = d.with_variable(var)
    detail = (
        "Needs prober --metrics-detail (chart: metrics.detail) for per-check latency "
        "histograms, phases and status codes."
    )
    d = d.with_panel(
        table.Panel()
        .id(10)
        .title("Checks of the component")
        .description(
            "Every check of $component: last round up (1) or failing (0). Click a "
            "check to show it below."
        )
        .datasource(PROM)
        .grid_pos(pos(0, 0, 24, 6))
        .targets(
            [
                q(
                    f"max by (check) (prober_check_up{{{F}}} and on (namespace, job, "
                    "instance, check) "
                    f'prober_check_info{{{F}, component=~"$component"}})',
                    "{{check}}",
                    instant=True,
                ).format(pm.PromQueryFormat.TABLE)
            ]
        )
        .mappings(value_map({"0": ("failing", "red"), "1": ("up", "green")}))
        .override_by_name(
            "check",
            [
                dm.DynamicConfigValue(
                    id_val="links",
                    value=[
                        {
                            "title": "Show this check",
                            "url": CHECK_URL
                            + "&var-component=${component}&var-check=${__value.raw}",
                        }
                    ],
                )
            ],
        )
        .show_header(True)
        .cell_height(cm.TableCellHeight.SM)
    )
    d = d.with_panel(
        stat_panel(
            1,
            "Last round",
            "1 when every request of the last round succeeded.",
            pos(0, 6, 4, 5),
            [q(f"max(prober_check_up{{{FK}}})", "Last round", instant=True)],
        ).mappings(value_map({"0": ("failing", "red"), "1": ("up", "green")}))
    )
    d = d.with_panel(
        stat_panel(
            2,
            "Last status code",
            "HTTP status code of the last response. " + detail,
            pos(4, 6, 4, 5),
            [q(f"max(prober_check_last_status_code{{{FK}}})", "Last status code", instant=True)],
        )
        .decimals(0)
        .thresholds(steps(("red", None), ("green", 100.0), ("orange", 400.0), ("red", 500.0)))
    )
    d = d.with_panel(
        stat_panel(
            3,
            "Since last success",
            "Time since the last successful probe request.",
            pos(8, 6, 5, 5),
            [
                q(
                    f"time() - max(prober_check_last_success_timestamp_seconds{{{FK}}})",
                    "Since last success",
                    instant=True,
                )
            ],
        )
        .unit("s")
        .thresholds(steps(("green", None), ("orange", 60.0), ("red", 300.0)))
    )
    d = d.with_panel(
        stat_panel(
            4,
            "Certificate expires in",
            "Time left on the leaf certificate (https).",
            pos(13, 6, 5, 5),
            [
                q(
                    f"min(prober_check_tls_cert_expiry_timestamp_seconds{{{FK}}}) - time()",
                    "Certificate expires in",
                    instant=True,
                )
            ],
        )
        .unit("dtdurations")
        .thresholds(steps(("red", None), ("orange", 3 * 86400.0), ("green", 14 * 86400.0)))
    )
    d = d.with_panel(
        stat_panel(
            5,
            "Component status",
            "Status of the check's component.",
            pos(18, 6, 6, 5),
            [
                q(
                    f"max by (component) (prober_component_status{{{F}}} and on (namespace, "
                    f"job, component) prober_check_info{{{FK}}})",
                    "{{component}}",
                    instant=True,
                )
            ],
            color="background",
            text="value_and_name",
        )
        .mappings(STATUS_MAP)
        .thresholds(STATUS_STEPS)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
    )
    d = d.with_panel(
        ts_panel(
            6,
            "Probe requests and failures",
            "Requests and failed requests per second. Failure "
            'reasons are counted per component (prober-overview, "Probe volume by result").',
            pos(0, 11, 12, 9),
            [
                q(f"sum(rate(prober_probes_total{{{FK}}}[$__rate_interval]))", "requests"),
                q(
                    f"sum(rate(prober_probe_failures_total{{{FK}}}[$__rate_interval]))",
                    "failures",
                    "B",
                ),
            ],
            unit="reqps",
        )
    )
    d = d.with_panel(
        ts_panel(
            7,
            "Phase timings of the last probe",
            "dns, connect, tls, processing and transfer of the last request. " + detail,
            pos(12, 11, 12, 9),
            [q(f"max by (phase) (prober_probe_phase_seconds{{{FK}}})", "{{phase}}")],
            unit="s",
            fill=40,
            stack=True,
        )
    )
    d = d.with_panel(
        ts_panel(
            8,
            "Latency quantiles",
            "Whole-request latency quantiles from the check's histogram. " + detail,
            pos(0, 20, 12, 8),
            [
                q(
                    f"histogram_quantile({p}, sum by (le) (rate("
                    f"prober_probe_duration_seconds_bucket{{{FK}}}[$__rate_interval])))",
                    f"p{int(p * 100)}",
                    ref,
                )
                for p, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
            ],
            unit="s",
        )
    )
    return d.with_panel(
        ts_panel(
            9,
            "Status code and up",
            "Last status code and last round up over time. " + detail,
            pos(12, 20, 12, 8),
            [
                q(f"max(prober_check_last_status_code{{{FK}}})", "status code"),
                q(f"max(prober_check_up{{{FK}}})", "up", "B"),
            ],
        )
    )


DASHBOARDS = {"prober-overview.json": overview, "prober-check.json": check}


def render() -> dict[str, str]:
    """File name -> JSON text, as committed under grafana/dashboards/."""
    out = {}
    for name, build in DASHBOARDS.items():
        text = JSONEncoder(sort_keys=True, indent=2).encode(build().build())
        out[name] = json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report stale files")
    args = ap.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    for name in stale:
        print(
            f"grafana/dashboards/{name}: out of date (run python grafana/dashboards.py)",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
