"""The /metrics contract: docs/METRICS.md, promtool, values, stale series, no secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from prober.config.model import Check
from prober.domain.snapshot import ComponentView
from prober.domain.status import ComponentStatus
from prober.metrics import Metrics, MetricsOptions
from prober.metrics.fastexpo import BLOCK
from prober.probes.result import ProbeResult, Reason

DOCS = Path(__file__).resolve().parent.parent / "docs" / "METRICS.md"
SECRET = "s3cr3t-token-value"


def check(check_id: str = "api-health", component: str = "api", **kw: object) -> Check:
    return Check(  # type: ignore[arg-type]
        id=check_id,
        component=component,
        url=f"https://user.example.test/health?token={SECRET}",
        headers=(("Authorization", f"Bearer {SECRET}"),),
        **kw,
    )


def result(
    c: Check,
    reason: Reason = Reason.OK,
    duration: float = 0.12,
    at: float = 1_780_000_000.5,
    code: int | None = 200,
    **kw: object,
) -> ProbeResult:
    return ProbeResult(c.id, c.component, at, reason, duration, code, **kw)  # type: ignore[arg-type]


def view(cid: str, status: ComponentStatus, group: str | None = None) -> ComponentView:
    return ComponentView(
        id=cid,
        name=cid.title(),
        group=group,
        description=None,
        position=1,
        status=status,
        failure_ratio=0.25,
        samples=40,
        latency_p95=0.3,
        created_at=0.0,
        updated_at=0.0,
    )


ALL = MetricsOptions(detail=True, blackbox=True)
OPTIONS = [MetricsOptions(d, b) for d, b in itertools.product((False, True), repeat=2)]


def full_metrics(options: MetricsOptions = ALL) -> Metrics:
    """A Metrics with every family holding at least one sample."""
    m = Metrics(CollectorRegistry(), options=options)
    a, b = check("api-health", "api"), check("login", "auth")
    m.set_checks([a, b])
    phases = {"dns": 0.001, "connect": 0.002, "tls": 0.01, "processing": 0.05, "transfer": 0.001}
    m.record_round(a, [result(a, phases=phases, cert_expiry=1_790_000_000.0)], 0.004)
    m.record_round(b, [result(b, Reason.HTTP_5XX, code=503), result(b)], 0.0)
    m.set_components(
        [
            view("api", ComponentStatus.OPERATIONAL, "Platform"),
            view("auth", ComponentStatus.MAJOR_OUTAGE),
        ],
        {"api": "Platform", "auth": None},
    )
    m.config_reloaded(True, 1_780_000_000.0)
    m.store_error("write")
    m.store_healthy(False)
    m.webhook_delivery("slack-sre", "delivered")
    m.incident_opened("major", 95.0)
    m.incident_resolved(1800.0)
    m.incidents_open(1)
    m.network_healthy(True)
    m.in_flight(3)
    m.set_traffic_components(["api"])
    m.traffic_reading("api", "ok", 0.3, 12.5)
    return m


def families(text: bytes) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def documented(options: MetricsOptions = ALL) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (type, labels) from the markdown tables of docs/METRICS.md: the rows of the
    sections headed "(opt-in: detail)" / "(opt-in: blackbox)" only with that option on."""
    rows: dict[str, tuple[str, frozenset[str]]] = {}
    group = "lean"
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            m = re.search(r"\(opt-in: (\w+)\)", line)
            group = m.group(1) if m else "lean"
        m = re.match(
            r"^\|\s*`(probe_[a-z0-9_]+|prober_[a-z0-9_]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", line
        )
        if m and (group == "lean" or getattr(options, group)):
            labels = frozenset(re.findall(r"`([a-z_]+)`", m.group(3)))
            rows[m.group(1)] = (m.group(2), labels)
    return rows


def exposed(text: bytes) -> dict[str, tuple[str, frozenset[str]]]:
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for fam in text_string_to_metric_families(text.decode()):
        name = fam.name + "_total" if fam.type == "counter" else fam.name
        labels = {k for s in fam.samples for k in s.labels} - (
            {"le"} if fam.type == "histogram" else set()
        )
        out[name] = (fam.type, frozenset(labels))
    return out


def test_docs_table_is_parsed() -> None:
    docs = documented()
    assert len(docs) >= 35
    assert docs["prober_probes_total"] == ("counter", frozenset({"check"}))
    assert docs["prober_checks"] == ("gauge", frozenset())
    assert docs["probe_http_duration_seconds"] == (
        "gauge",
        frozenset({"instance", "check", "phase"}),
    )
    lean = documented(MetricsOptions())
    assert "probe_success" not in lean and "prober_probe_phase_seconds" not in lean


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_exposition_matches_docs_exactly(options: MetricsOptions) -> None:
    assert exposed(full_metrics(options).render()) == documented(options)


def test_default_is_at_most_eight_series_per_check() -> None:
    """Every per-check shape at once (https, cert, failures of several reasons, phases)."""
    m = Metrics(CollectorRegistry())
    c = check()
    m.set_checks([c])
    phases = {"dns": 0.001, "connect": 0.002, "tls": 0.01, "processing": 0.05, "transfer": 0.001}
    for reason in Reason:
        m.record_round(c, [result(c, reason, phases=phases, cert_expiry=1_790_000_000.0)], 0.0)
    per_check = [k for k in samples(m.render()) if ("check", "api-health") in k[1]]
    assert len(per_check) == 6 <= 8
    assert len({k[0] for k in samples(m.render()) if k[0].startswith("probe_")}) == 0


def test_quantiles_are_labels_not_names() -> None:
    for name, _ in samples(full_metrics().render()):
        assert not re.search(r"_p\d+(_|$)", name), name


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_openmetrics_exposition_parses_and_matches_text(options: MetricsOptions) -> None:
    m = full_metrics(options)
    text = m.render(openmetrics=True)
    assert text.endswith(b"# EOF\n") and text.count(b"# EOF") == 1
    om = {f.name: f.type for f in openmetrics_families(text.decode())}
    assert om["prober_check"] == "info"
    assert om["prober_probes"] == "counter"
    plain = samples(m.render())
    parsed = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in openmetrics_families(text.decode())
        for s in f.samples
    }
    assert parsed == plain


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_promtool_accepts_the_exposition(options: MetricsOptions) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is required (Debian package prometheus)"
    m = full_metrics(options)
    many = [check(f"c{i}", f"comp{i % 7}") for i in range(BLOCK * 2 + 5)]
    m.set_checks(many)
    for i, c in enumerate(many):
        m.record_round(c, [result(c, Reason.TIMEOUT if i % 9 == 0 else Reason.OK)], 0.01)
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=m.render(), capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == b"" and proc.stderr.strip() == b""


CHECK = (("check", "api-health"),)


def test_probe_values() -> None:
    m = Metrics(CollectorRegistry(), options=MetricsOptions(detail=True))
    c = check()
    m.set_checks([c])
    m.record_round(c, [result(c, duration=0.02, at=100.0), result(c, duration=0.3, at=101.25)], 0.5)
    m.record_round(
        c,
        [result(c, Reason.TIMEOUT, duration=7.0, at=110.0, code=None, phases={"dns": 0.0015})],
        0.0,
    )
    s = samples(m.render())
    lbl = CHECK
    assert s[("prober_check_info", (*lbl, ("component", "api")))] == 1
    assert s[("prober_probes_total", lbl)] == 3
    assert s[("prober_probe_failures_total", lbl)] == 1
    bucket = "prober_probe_duration_seconds_bucket"

    def b(bound: str) -> float:
        return s[(bucket, (*lbl, ("le", bound)))]

    assert [b("0.025"), b("0.25"), b("0.5"), b("5.0"), b("10.0"), b("+Inf")] == [1, 1, 2, 2, 3, 3]
    assert s[("prober_probe_duration_seconds_count", lbl)] == 3
    assert s[("prober_probe_duration_seconds_sum", lbl)] == pytest.approx(7.32)
    assert s[("prober_check_up", lbl)] == 0
    assert s[("prober_check_last_success_timestamp_seconds", lbl)] == 101
    assert s[("prober_check_last_status_code", lbl)] == 0
    assert s[("prober_probe_phase_seconds", (*lbl, ("phase", "dns")))] == 0.0015
    assert ("prober_check_tls_cert_expiry_timestamp_seconds", lbl) not in s
    comp = (("component", "api"),)
    assert s[("prober_component_probes_total", (*comp, ("reason", "ok")))] == 2
    assert s[("prober_component_probes_total", (*comp, ("reason", "timeout")))] == 1
    assert s[("prober_component_probe_duration_seconds_bucket", (*comp, ("le", "0.5")))] == 2
    assert s[("prober_component_probe_duration_seconds_sum", comp)] == pytest.approx(7.32)
    assert s[("prober_scheduler_lag_seconds_count", ())] == 2
    assert s[("prober_scheduler_lag_seconds_sum", ())] == 0.5
    assert s[("prober_checks", ())] == 1


def test_blackbox_families_values_and_labels() -> None:
    m = Metrics(CollectorRegistry(), options=MetricsOptions(blackbox=True))
    tls, plain = check("api-health"), dataclasses.replace(check("plain"), url="http://x.test/")
    m.set_checks([tls, plain])
    phases = {"dns": 0.001, "connect": 0.002, "tls": 0.01, "processing": 0.05, "transfer": 0.003}
    m.record_round(
        tls, [result(tls, duration=0.066, phases=phases, cert_expiry=1_790_000_000.0)], 0.0
    )
    m.record_round(
        plain,
        [result(plain, Reason.HTTP_5XX, duration=0.5, code=503, phases={"connect": 0.1})],
        0.0,
    )
    s = samples(m.render())
    bb = (("check", "api-health"), ("instance", "api-health"))
    assert s[("probe_success", bb)] == 1
    assert s[("probe_duration_seconds", bb)] == 0.066
    assert s[("probe_http_status_code", bb)] == 200
    assert s[("probe_http_ssl", bb)] == 1
    assert s[("probe_ssl_earliest_cert_expiry", bb)] == 1_790_000_000
    assert s[("probe_dns_lookup_time_seconds", bb)] == 0.001
    got = {
        dict(k[1])["phase"]: v
        for k, v in s.items()
        if k[0] == "probe_http_duration_seconds" and ("check", "api-health") in k[1]
    }
    assert got == {
        "resolve": 0.001,
        "connect": 0.002,
        "tls": 0.01,
        "processing": 0.05,
        "transfer": 0.003,
    }
    pb = (("check", "plain"), ("instance", "plain"))
    assert s[("probe_success", pb)] == 0
    assert s[("probe_http_status_code", pb)] == 503
    assert s[("probe_http_ssl", pb)] == 0
    assert ("probe_ssl_earliest_cert_expiry", pb) not in s
    assert ("probe_dns_lookup_time_seconds", pb) not in s


def test_cached_templates_follow_new_values_and_new_shapes() -> None:
    m = Metrics(CollectorRegistry(), options=ALL)
    c = check()
    m.set_checks([c])
    first = samples(m.render())
    assert first[("prober_probes_total", CHECK)] == 0  # counters exist before the first round
    assert ("prober_check_up", CHECK) not in first
    m.record_round(c, [result(c)], 0.0)
    second = samples(m.render())
    assert second[("prober_probes_total", CHECK)] == 1
    assert ("prober_probe_phase_seconds", (*CHECK, ("phase", "dns"))) not in second
    m.record_round(
        c, [result(c), result(c, Reason.HTTP_5XX, code=503, phases={"dns": 0.2})], 0.0
    )  # new shape
    third = samples(m.render())
    assert third[("prober_probes_total", CHECK)] == 3
    assert third[("prober_probe_failures_total", CHECK)] == 1
    assert third[("prober_check_last_status_code", CHECK)] == 503
    assert third[("prober_probe_phase_seconds", (*CHECK, ("phase", "dns")))] == 0.2
    m.record_round(c, [result(c, code=204, phases={"dns": 0.1})], 0.0)  # same shape
    fourth = samples(m.render())
    assert fourth[("prober_probes_total", CHECK)] == 4
    assert fourth[("prober_check_last_status_code", CHECK)] == 204
    assert fourth[("prober_check_up", CHECK)] == 1
    assert fourth[("prober_probe_phase_seconds", (*CHECK, ("phase", "dns")))] == 0.1
    assert m.render() == m.render()


def test_reload_drops_stale_check_series() -> None:
    m = Metrics(CollectorRegistry(), options=ALL)
    a, b = check("a", "api"), check("b", "api")
    m.set_checks([a, b])
    m.record_round(a, [result(a)], 0.0)
    m.record_round(b, [result(b)], 0.0)
    assert b'check="b"' in m.render()
    moved = check("a", "auth")  # same id, new component: the old label set must vanish
    m.set_checks([moved])
    text = m.render()
    assert b'check="b"' not in text
    assert b'component="api"' not in text
    m.record_round(b, [result(b)], 0.0)  # a late round of the removed check
    m.record_round(a, [result(a)], 0.0)  # and one under the old component
    text = m.render()
    assert b'check="b"' not in text
    assert b'component="api"' not in text
    assert samples(text)[("prober_checks", ())] == 1
    assert samples(text)[("prober_probes_total", (("check", "a"),))] == 0


def test_unchanged_checks_keep_their_counters_across_reload() -> None:
    m = Metrics(CollectorRegistry())
    a = check("a")
    m.set_checks([a])
    m.record_round(a, [result(a)], 0.0)
    m.set_checks([dataclasses.replace(a, interval=30.0), check("new")])  # same labels
    s = samples(m.render())
    assert s[("prober_probes_total", (("check", "a"),))] == 1
    assert s[("prober_component_probes_total", (("component", "api"), ("reason", "ok")))] == 1


def test_components_are_replaced_wholesale() -> None:
    m = Metrics(CollectorRegistry())
    m.set_components(
        [
            view("api", ComponentStatus.PARTIAL_OUTAGE, "Platform"),
            view("sms", ComponentStatus.OPERATIONAL),
        ],
        {"api": "Platform", "sms": None},
    )
    s = samples(m.render())
    assert s[("prober_component_status", (("component", "api"), ("group", "Platform")))] == 3
    assert s[("prober_component_status", (("component", "sms"), ("group", "")))] == 0
    states = {
        k[1][1][1]: v
        for k, v in s.items()
        if k[0] == "prober_component_state" and k[1][0][1] == "api"
    }
    assert states == {
        "operational": 0,
        "under_maintenance": 0,
        "degraded_performance": 0,
        "partial_outage": 1,
        "major_outage": 0,
    }
    assert s[("prober_component_failure_ratio", (("component", "api"),))] == 0.25
    p95 = (("component", "api"), ("quantile", "0.95"))
    assert s[("prober_component_latency_seconds", p95)] == 0.3
    m.set_components([view("api", ComponentStatus.OPERATIONAL)], {"api": None})
    assert b'component="sms"' not in m.render()


def test_process_families() -> None:
    m = Metrics(CollectorRegistry())
    m.config_reloaded(True, 1234.5)
    m.config_reloaded(False, 2000.0)
    m.store_error("write")
    m.store_error("write")
    m.webhook_delivery("ops", "failed")
    m.incident_opened("critical", 45.0)
    m.incidents_open(2)
    m.network_healthy(False)
    m.in_flight(7)
    s = samples(m.render())
    assert s[("prober_config_last_reload_successful", ())] == 0
    assert s[("prober_config_last_reload_success_timestamp_seconds", ())] == 1234.5
    assert s[("prober_store_errors_total", (("operation", "write"),))] == 2
    assert s[("prober_store_errors_total", (("operation", "prune"),))] == 0
    assert s[("prober_webhook_deliveries_total", (("outcome", "failed"), ("webhook", "ops")))] == 1
    assert s[("prober_incidents_opened_total", (("impact", "critical"),))] == 1
    assert s[("prober_incident_time_to_detect_seconds_bucket", (("le", "60.0"),))] == 1
    assert s[("prober_incidents_open", ())] == 2
    assert s[("prober_network_healthy", ())] == 0
    assert s[("prober_probes_in_flight", ())] == 7
    m.track_in_flight(lambda: 11)
    assert samples(m.render())[("prober_probes_in_flight", ())] == 11
    build = [k for k in s if k[0] == "prober_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"] == "0.1.0"
    assert not any(name.endswith("_created") for name, _ in s)


def test_traffic_families_follow_readings_and_reloads() -> None:
    m = Metrics(CollectorRegistry())
    m.set_traffic_components(["api", "auth"])
    m.traffic_reading("api", "ok", 0.3, 12.5)
    m.traffic_reading("api", "error")
    m.traffic_reading("auth", "no_data", None, 0.2)
    s = samples(m.render())
    api, auth = (("component", "api"),), (("component", "auth"),)
    assert s[("prober_traffic_up", api)] == 0 and s[("prober_traffic_up", auth)] == 1
    assert s[("prober_traffic_failure_ratio", api)] == 0.3
    assert ("prober_traffic_failure_ratio", auth) not in s
    assert s[("prober_traffic_requests_per_second", auth)] == 0.2
    for outcome, n in (("ok", 1), ("error", 1), ("no_data", 0)):
        assert s[("prober_traffic_evaluations_total", (*api, ("outcome", outcome)))] == n
    m.set_traffic_components(["auth"])
    assert b'component="api"' not in m.render()


def test_uses_the_injected_registry_only() -> None:
    registry = CollectorRegistry()
    full = Metrics(registry)
    assert b"prober_checks " in generate_latest(registry)
    assert b"prober_" not in generate_latest(REGISTRY)
    assert full.registry is registry


@pytest.mark.parametrize("openmetrics", [False, True])
def test_no_urls_or_header_values_in_labels(openmetrics: bool) -> None:
    text = full_metrics().render(openmetrics)
    assert SECRET.encode() not in text
    assert b"https://" not in text and b"example.test" not in text
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    for fam in parse(text.decode()):
        for s in fam.samples:
            for value in s.labels.values():
                assert "://" not in value and SECRET not in value


def test_label_values_are_escaped() -> None:
    m = Metrics(CollectorRegistry(), options=ALL)
    odd = check('we"ird\\id%d', "c%s\nx")
    m.set_checks([odd])
    m.record_round(odd, [result(odd, phases={"dns": 0.25})], 0.0)
    s = samples(m.render())
    lbl = (("check", 'we"ird\\id%d'),)
    assert s[("prober_check_up", lbl)] == 1
    assert s[("prober_check_info", (*lbl, ("component", "c%s\nx")))] == 1
    assert s[("probe_success", (*lbl, ("instance", 'we"ird\\id%d')))] == 1
    assert s[("prober_probe_phase_seconds", (("check", 'we"ird\\id%d'), ("phase", "dns")))] == 0.25


def test_records_without_set_checks_and_empty_rounds() -> None:
    m = Metrics(CollectorRegistry(), options=ALL)
    c = check()
    m.record_round(c, [], -0.5)  # every probe of the round crashed; clock stepped back
    s = samples(m.render())
    lbl = CHECK
    assert s[("prober_check_up", lbl)] == 0
    assert s[("prober_check_last_status_code", lbl)] == 0
    assert s[("prober_scheduler_lag_seconds_sum", ())] == 0.0


async def test_render_async_matches_render_and_survives_rounds_between_chunks() -> None:
    m = Metrics(CollectorRegistry(), options=ALL)
    many = [check(f"c{i}") for i in range(BLOCK * 2 + 3)]
    m.set_checks(many)
    for c in many:
        m.record_round(c, [result(c)], 0.0)
    assert await m.render_async() == m.render()

    async def meddle() -> None:
        # new shapes (a new reason, phases) and a reload while the scrape is half done
        for _ in range(10):
            for c in many:
                m.record_round(c, [result(c, Reason.DNS, phases={"dns": 0.5})], 0.0)
            await asyncio.sleep(0)
        m.set_checks(many[:5])

    scrape = asyncio.ensure_future(m.render_async(chunks_per_yield=1))
    await asyncio.gather(scrape, meddle())
    parsed = families(scrape.result())
    assert "prober_probes" in parsed
    after = samples(m.render())
    lbl = (("check", "c0"),)
    assert after[("prober_probe_failures_total", lbl)] == 10
    assert after[("prober_probe_phase_seconds", (*lbl, ("phase", "dns")))] == 0.5
    assert ("prober_check_up", (("check", "c9"),)) not in after
    assert await m.render_async(openmetrics=True) == m.render(openmetrics=True)


def test_render_benchmark_runs_at_a_tiny_size() -> None:
    """Keeps bench/metrics_render.py working; no timing is asserted."""
    import importlib.util

    path = DOCS.parent.parent / "bench" / "metrics_render.py"
    spec = importlib.util.spec_from_file_location("bench_metrics_render", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    res = module.run(n_checks=30, repeats=1, warmup_rounds=1)
    assert res["checks"] == 30
    assert res["prober_size_mb"] > 0 and res["naive_size_mb"] > 0
    assert 5 <= res["prober_series_per_check"] <= 6
    assert 0 < res["prober_gzip_bytes"] < res["prober_bytes"]
    assert res["fastexpo_cpu_ms"] >= 0 and res["plainexpo_cpu_ms"] > 0


class MetricsBackend:
    """The /metrics part of the ApiBackend seam, over a real Metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.exporter = metrics

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        from prober.metrics import CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT

        body = await self.exporter.render_async(openmetrics=openmetrics)
        return body, CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT


PROMETHEUS_ACCEPT = (  # what Prometheus 2.x/3.x sends by default (scrape_protocols)
    "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("", "text/plain; version=0.0.4; charset=utf-8"),
        ("text/plain", "text/plain; version=0.0.4; charset=utf-8"),
        (PROMETHEUS_ACCEPT, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ],
)
@pytest.mark.parametrize("encoding", ["", "gzip", "deflate, gzip;q=1.0"])
async def test_metrics_content_negotiation(aiohttp_client, accept, content_type, encoding):  # type: ignore[no-untyped-def]
    from prober.api.app import make_app

    m = full_metrics()
    client = await aiohttp_client(make_app(MetricsBackend(m)))  # type: ignore[arg-type]
    resp = await client.get(
        "/metrics", headers={"Accept": accept, "Accept-Encoding": encoding}, auto_decompress=False
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == content_type
    assert "Accept" in resp.headers["Vary"] and "Accept-Encoding" in resp.headers["Vary"]
    raw = await resp.read()
    if "gzip" in encoding:
        assert resp.headers["Content-Encoding"] == "gzip"
        raw = gzip.decompress(raw)
    else:
        assert "Content-Encoding" not in resp.headers
    assert raw == m.render(openmetrics=content_type.startswith("application/openmetrics"))
