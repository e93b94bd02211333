"""End to end with a real Prometheus: prober probes a local target, Prometheus scrapes prober
and evaluates the real alert rules; breaking the target fires the component-outage alert,
and every PromQL expression of every dashboard and rule parses and returns data.

Processes: an aiohttp target on 127.0.0.1 (switchable to HTTP 500), `python -m prober run`
(1 s check interval), and `/usr/bin/prometheus` (1 s scrape and evaluation interval). Each
waits is a bounded poll of a real endpoint; teardown kills every process.

The rules Prometheus loads are the chart's PrometheusRule groups (rendered by the real Helm
engine from grafana/alerts/prober.rules.yaml, with runbookBaseUrl set and ProberAbsent
scoped to the release's job and namespace; the scrape job is named and labelled as the
ServiceMonitor would: job "prober", namespace "e2e"), with one documented transformation,
`shorten_for()`: every rule's `for:` becomes 2s (instead of 1m and more), so that the
alert fires within seconds; expressions, labels and annotations are the real ones.

Dashboards run with their variables set to this job and namespace, and the overview's
incident table (Infinity data source) is checked against prober's real API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from tests.e2e.harness import prometheus_url

from .chart import by_kind, objects, render
from .promql import (
    ROOT,
    RULES,
    dashboard_exprs,
    dashboard_files,
    load_dashboard,
    metric_names,
    substitute,
)

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERT_TIMEOUT = 90.0
CHECK = "billing-health"
COMPONENT = "billing"
JOB = "prober"  # the release's Service name, which is the ServiceMonitor's job
NAMESPACE = "e2e"
RUNBOOK_BASE = "https://docs.example.com/prober/DEPLOY.md"
OUTAGE_ALERTS = {"ProberComponentMajorOutage", "ProberComponentPartialOutage"}
# Metrics that legitimately have no series in this scenario: a plain-http target has no
# certificate, nothing fails in the store, no webhook is configured.
MAY_BE_ABSENT = {
    "prober_check_tls_cert_expiry_timestamp_seconds",
    "prober_store_errors_total",
    "prober_webhook_deliveries_total",
}
# Alert expressions that must select nothing while prober is healthy and scraped.
QUIET_RULES = {
    "ProberAbsent",
    "ProberConfigReloadFailed",
    "ProberStoreUnhealthy",
    "ProberStoreErrors",
    "ProberCertificateExpiringSoon",
    "ProberNotProbing",
}


def shorten_for(rules_text: str, duration: str = "2s") -> str:
    """The documented transformation: the real rule file with every `for:` set to `duration`."""
    doc = yaml.safe_load(rules_text)
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = duration
    return yaml.safe_dump(doc, sort_keys=False)


def chart_rules_text() -> str:
    """The PrometheusRule's groups, as the chart renders them for this release."""
    values = {
        "prometheusRule": {"enabled": True, "runbookBaseUrl": RUNBOOK_BASE},
        "serviceMonitor": {"enabled": True},
    }
    rule = by_kind(objects(render(values, name=JOB, namespace=NAMESPACE)), "PrometheusRule")[0]
    return yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False)


def chart_rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(chart_rules_text())["groups"] for r in g["rules"]]


def config_text(target: str, prom: str) -> str:
    # The traffic block reads prober's own probe counters back from this Prometheus: a
    # real-traffic signal that agrees with the probes, and its families for the rules.
    return f"""
page:
  name: e2e
components:
  - id: {COMPONENT}
    name: Billing
    group: Product
    traffic:
      prometheus: {prom}
      ratio: >-
        sum(rate(prober_probe_failures_total{{check="{CHECK}"}}[5s]))
        / sum(rate(prober_probes_total{{check="{CHECK}"}}[5s]))
      requests: sum(rate(prober_probes_total{{check="{CHECK}"}}[5s]))
      interval: 1s
checks:
  - id: {CHECK}
    component: {COMPONENT}
    url: {target}/{COMPONENT}/health
    interval: 1s
    timeout: 500ms
    requests_per_round: 5
"""


def prometheus_config(prober: str | None, rules: Path) -> str:
    """prometheus.yml scraping `prober` (None: nothing yet)."""
    targets = f'["{prober}"]' if prober else "[]"
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: {targets}
        labels:
          namespace: {NAMESPACE}
"""


class Target:
    """GET /<component>/health: 200 while healthy, 500 once broken."""

    def __init__(self) -> None:
        self.failing = False

    async def health(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.json_response({"status": "error"}, status=500)
        return web.json_response({"status": "ok"})


@pytest.fixture
async def target() -> AsyncIterator[tuple[Target, str]]:
    t = Target()
    app = web.Application()
    app.router.add_get("/{component}/health", t.health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield t, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def process(args: list[str], log: Path, **kw: Any) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kw)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def wait_until_ready(
    session: aiohttp.ClientSession,
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    limit: float = 60.0,
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} not ready in {limit}s:\n{tail(log)}")


async def query(session: aiohttp.ClientSession, prom: str, expr: str) -> dict[str, Any]:
    async with session.get(f"{prom}/api/v1/query", params={"query": expr}) as r:
        body: dict[str, Any] = await r.json()
    return body


async def poll(session: aiohttp.ClientSession, prom: str, expr: str, limit: float) -> None:
    """Wait until `expr` returns at least one sample."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        body = await query(session, prom, expr)
        if body.get("status") == "success" and body["data"]["result"]:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"no data for {expr} within {limit}s")


async def firing_alerts(session: aiohttp.ClientSession, prom: str) -> list[dict[str, Any]]:
    async with session.get(f"{prom}/api/v1/alerts") as r:
        body = await r.json()
    assert body["status"] == "success"
    return [a for a in body["data"]["alerts"] if a["state"] == "firing"]


def test_shorten_for_changes_only_for() -> None:
    original = yaml.safe_load(RULES.read_text())
    short = yaml.safe_load(shorten_for(RULES.read_text()))
    for g_orig, g_short in zip(original["groups"], short["groups"], strict=True):
        for r_orig, r_short in zip(g_orig["rules"], g_short["rules"], strict=True):
            assert r_short.pop("for") == "2s"
            r_orig.pop("for")
            assert r_short == r_orig


def setup(tmp_path: Path) -> tuple[list[str], Path]:
    """Write the transformed rules and a first prometheus.yml (no target yet: prober's
    address is known once it runs); the Prometheus command (port 0) and its config."""
    assert Path(PROMETHEUS).exists(), "Debian package prometheus is required"
    rules = tmp_path / "prober.rules.yaml"
    rules.write_text(shorten_for(chart_rules_text()))
    prom_yml = tmp_path / "prometheus.yml"
    prom_yml.write_text(prometheus_config(None, rules))
    prom_cmd = [
        PROMETHEUS,
        f"--config.file={prom_yml}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        "--web.listen-address=127.0.0.1:0",
        "--log.level=info",
    ]
    return prom_cmd, prom_yml


def prober_command(tmp_path: Path, target_url: str, prom: str) -> tuple[list[str], dict[str, str]]:
    """Write checks.yaml (its traffic signal reads this Prometheus); prober on port 0."""
    checks = tmp_path / "checks.yaml"
    checks.write_text(config_text(target_url, prom))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROBER_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    env["PYTHONUNBUFFERED"] = "1"
    # --metrics-detail: the check dashboard's latency, phase and status-code panels need it
    return [
        sys.executable,
        "-m",
        "prober",
        "run",
        "--metrics-detail",
        "--config",
        str(checks),
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--db",
        str(tmp_path / "prober.db"),
        "--log-format",
        "json",
    ], env


def _lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines() if log.exists() else []


async def prober_urls(
    log: Path, proc: subprocess.Popen[bytes], limit: float = 60.0
) -> tuple[str, str]:
    """prober's public and admin URLs, from its `listening` and `admin_listening` lines."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        urls: dict[str, str] = {}
        for raw in _lines(log):
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if isinstance(line, dict) and line.get("event") in ("listening", "admin_listening"):
                    urls[line["event"]] = str(line["url"]).rstrip("/")
        if len(urls) == 2:
            return urls["listening"], urls["admin_listening"]
        if proc.poll() is not None:
            raise AssertionError(f"prober exited {proc.returncode}:\n{tail(log)}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"prober reported no addresses within {limit}s:\n{tail(log)}")


def point_prometheus_at(
    prom_yml: Path, rules: Path, admin: str, proc: subprocess.Popen[bytes]
) -> None:
    """Scrape prober's admin listener (as the chart's ServiceMonitor does): rewrite the
    config, check it with promtool and reload Prometheus (SIGHUP)."""
    prom_yml.write_text(prometheus_config(admin.removeprefix("http://"), rules))
    check = subprocess.run(
        ["promtool", "check", "config", str(prom_yml)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    proc.send_signal(signal.SIGHUP)


async def test_alert_fires_and_every_expression_runs(
    target: tuple[Target, str], tmp_path: Path
) -> None:
    tgt, target_url = target
    prom_cmd, prom_yml = setup(tmp_path)
    prober_log, prom_log = tmp_path / "prober.log", tmp_path / "prometheus.log"

    timeout = aiohttp.ClientTimeout(total=10)
    with process(prom_cmd, prom_log, cwd=tmp_path) as prom_proc:
        prom = await prometheus_url(prom_log, prom_proc)
        prober_cmd, env = prober_command(tmp_path, target_url, prom)
        with process(prober_cmd, prober_log, env=env, cwd=tmp_path) as prober_proc:
            prober_url, admin_url = await prober_urls(prober_log, prober_proc)
            point_prometheus_at(prom_yml, tmp_path / "prober.rules.yaml", admin_url, prom_proc)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await wait_until_ready(session, f"{prober_url}/-/ready", prober_proc, prober_log)
                await wait_until_ready(session, f"{prom}/-/ready", prom_proc, prom_log)
                await _alert_fires(session, tgt, prom, prober_url, prober_proc, prober_log)


async def _alert_fires(
    session: aiohttp.ClientSession,
    tgt: Target,
    prom: str,
    prober_url: str,
    prober_proc: subprocess.Popen[bytes],
    prober_log: Path,
) -> None:
    # Healthy first: prober is scraped and reports the component operational.
    await poll(session, prom, f'prober_probes_total{{check="{CHECK}"}} > 0', limit=60)
    await poll(session, prom, f'prober_component_status{{component="{COMPONENT}"}} == 0', limit=60)
    assert not [
        a for a in await firing_alerts(session, prom) if a["labels"]["alertname"] in OUTAGE_ALERTS
    ]

    # Break the target: the component-outage alert must fire.
    tgt.failing = True
    deadline = time.monotonic() + ALERT_TIMEOUT
    fired: list[dict[str, Any]] = []
    while not fired:
        assert time.monotonic() < deadline, (
            f"no outage alert within {ALERT_TIMEOUT}s; alerts: "
            f"{await firing_alerts(session, prom)}; prober log:\n"
            f"{tail(prober_log)}"
        )
        assert prober_proc.poll() is None, tail(prober_log)
        fired = [
            a
            for a in await firing_alerts(session, prom)
            if a["labels"]["alertname"] in OUTAGE_ALERTS
            and a["labels"].get("component") == COMPONENT
        ]
        if not fired:
            await asyncio.sleep(0.5)
    alert = fired[0]
    assert alert["labels"]["severity"] in {"critical", "warning"}
    assert alert["labels"]["group"] == "Product"
    assert COMPONENT in alert["annotations"]["summary"]
    assert alert["annotations"]["runbook"]
    assert alert["annotations"]["runbook_url"] == (
        f"{RUNBOOK_BASE}#{alert['labels']['alertname'].lower()}"
    )
    assert (alert["labels"]["job"], alert["labels"]["namespace"]) == (JOB, NAMESPACE)

    # Let the failure show in counters and an incident open, then run every query.
    await poll(session, prom, f'prober_probe_failures_total{{check="{CHECK}"}} > 0', limit=30)
    await poll(session, prom, "prober_incidents_open > 0", limit=60)
    await _every_expression_runs(session, prom)
    await _incident_table_reads_the_api(session, prober_url)


async def _incident_table_reads_the_api(session: aiohttp.ClientSession, prober: str) -> None:
    """The overview's Infinity table: its URL, root and columns against the real API."""
    dash = load_dashboard(next(p for p in dashboard_files() if p.name == "prober-overview.json"))
    (panel,) = [p for p in dash["panels"] if p["type"] == "table"]
    (target,) = panel["targets"]
    async with session.get(prober + target["url"]) as r:
        assert r.status == 200
        body = await r.json()
    rows = body[target["root_selector"]]
    assert rows, "an incident is open"
    for row in rows:
        for column in target["columns"]:
            assert column["selector"] in row, column
            value = row[column["selector"]]
            if column["type"] == "timestamp" and value is not None:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert rows[0]["resolved_at"] is None
    assert rows[0]["shortlink"].endswith(f"/incidents/{rows[0]['id']}")


async def _every_expression_runs(session: aiohttp.ClientSession, prom: str) -> None:
    problems: list[str] = []
    checked = 0
    for path in dashboard_files():
        for where, expr in dashboard_exprs(path):
            promql = substitute(expr, check=CHECK, namespace=NAMESPACE, job=JOB)
            body = await query(session, prom, promql)
            checked += 1
            if body.get("status") != "success":
                problems.append(f"{where}: {promql}: {body.get('error')}")
            elif not body["data"]["result"] and not metric_names(expr) & MAY_BE_ABSENT:
                problems.append(f"{where}: no data for {promql}")
    rules = chart_rules()
    assert "ProberAbsent" in {r["alert"] for r in rules}
    for rule in rules:
        name, expr = rule["alert"], rule["expr"]
        body = await query(session, prom, expr)
        checked += 1
        if body.get("status") != "success":
            problems.append(f"rule {name}: {body.get('error')}")
            continue
        result = body["data"]["result"]
        if name in QUIET_RULES and result:
            problems.append(f"rule {name} selects {result} while prober is healthy")
        for metric in sorted(metric_names(expr) - MAY_BE_ABSENT):
            base = metric.removesuffix("_bucket")
            present = await query(session, prom, f'count({{__name__=~"{base}(_bucket)?"}})')
            if not present["data"]["result"]:
                problems.append(f"rule {name}: no series for {metric}")
    firing = await query(
        session, prom, next(r["expr"] for r in rules if r["alert"] == "ProberComponentMajorOutage")
    )
    if not firing["data"]["result"]:
        problems.append("ProberComponentMajorOutage expression selects nothing during the outage")
    assert checked >= 30
    assert not problems, "\n".join(problems)
