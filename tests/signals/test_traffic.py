"""prober/signals/traffic.py: readings from the Prometheus HTTP API, and what they do to the
engine through its ordinary input (fake time; the real Prometheus is in tests/e2e)."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from prober.config.loader import parse_config
from prober.config.model import TrafficSignal
from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus
from prober.probes.result import Reason
from prober.signals.traffic import (
    MAX_SAMPLES,
    Reading,
    engine_config,
    read,
    round_for,
    traffic_check_id,
    traffic_only,
)

CONFIG = """
page: {name: T}
components:
  - id: api
    name: Platform API
    status: {window: 60s, min_samples: 20}
    traffic:
      prometheus: http://127.0.0.1:9
      ratio: sum(rate(errors[5m])) / sum(rate(requests[5m]))
      requests: sum(rate(requests[5m]))
      interval: 10s
      mode: traffic_only
  - id: web
    name: Web
checks:
  - {id: api-health, component: api, url: "http://127.0.0.1:9/health"}
  - {id: web-health, component: web, url: "http://127.0.0.1:9/"}
"""
T0 = 1_780_000_000.0


def test_config_reads_the_traffic_block() -> None:
    config = parse_config(CONFIG)
    traffic = config.component("api").traffic
    assert traffic == TrafficSignal(
        prometheus="http://127.0.0.1:9",
        ratio="sum(rate(errors[5m])) / sum(rate(requests[5m]))",
        requests="sum(rate(requests[5m]))",
        interval=10.0,
        min_request_rate=1.0,
        mode="traffic_only",
    )
    assert config.component("web").traffic is None
    assert traffic_only(config) == frozenset({"api"})


def test_engine_config_adds_one_virtual_check_per_signal() -> None:
    config = parse_config(CONFIG)
    seen = engine_config(config)
    extra = [c for c in seen.checks if c not in config.checks]
    assert [(c.id, c.component, c.interval) for c in extra] == [("traffic:api", "api", 10.0)]
    assert "127.0.0.1:9" not in extra[0].url  # the Prometheus URL stays out of check views
    no_signal = dataclasses.replace(
        config, components=config.components[1:], checks=config.checks[1:]
    )
    assert engine_config(no_signal) is no_signal


@pytest.mark.parametrize(
    ("ratio", "rate", "n", "failing"),
    [
        (0.0, 1.0, 10, 0),
        (0.3, 1.0, 10, 3),
        (0.5, 0.2, 2, 1),
        (0.3, 5.0, 50, 15),
        (0.5, 9.0, 90, 45),
        (1.0, 1000.0, MAX_SAMPLES, MAX_SAMPLES),
    ],
)
def test_a_reading_is_one_round_of_samples(ratio: float, rate: float, n: int, failing: int) -> None:
    results = round_for("api", Reading("ok", ratio, rate), T0, interval=10.0)
    assert len(results) == n
    assert sum(r.reason is Reason.TRAFFIC_5XX for r in results) == failing
    assert {r.check_id for r in results} == {traffic_check_id("api")}
    assert "real traffic" in results[0].detail


def _walk(engine: Engine, ratio: float, seconds: int, start: float = T0) -> list[Any]:
    effects: list[Any] = []
    for i in range(0, seconds, 10):
        now = start + i
        results = round_for("api", Reading("ok", ratio, 50.0), now, interval=10.0)
        effects += engine.observe(results, now)
        effects += engine.tick(now)
    return effects


def test_thirty_percent_real_traffic_5xx_is_partial_outage_titled_by_the_signal() -> None:
    engine = Engine(engine_config(parse_config(CONFIG)))
    _walk(engine, 0.0, 60)
    assert engine.status_of("api") is ComponentStatus.OPERATIONAL
    _walk(engine, 0.3, 60, T0 + 60)
    assert engine.status_of("api") is ComponentStatus.PARTIAL_OUTAGE
    (incident,) = engine.open_incidents()
    assert incident.name == "Elevated 500 rates on real traffic to Platform API"
    assert "500 rates on real traffic to Platform API" in incident.updates[0].body


def test_no_reading_is_no_sample_and_never_an_incident() -> None:
    """no_data and error readings never reach the engine: time passing opens nothing."""
    engine = Engine(engine_config(parse_config(CONFIG)))
    _walk(engine, 0.0, 60)
    for i in range(0, 600, 10):
        engine.tick(T0 + 60 + i)
    assert engine.status_of("api") is ComponentStatus.OPERATIONAL
    assert engine.open_incidents() == []


class FakePrometheus:
    """The /api/v1/query answers of a Prometheus, chosen per query text."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}

    async def query(self, request: web.Request) -> web.Response:
        status, body = self.answers[request.query["query"]]
        return web.json_response(body, status=status)


def vector(*values: float) -> dict[str, Any]:
    result = [{"metric": {}, "value": [T0, str(v)]} for v in values]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.fixture
async def prom() -> Any:
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", fake.query)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield fake, f"http://{host}:{port}"
    await runner.cleanup()


ERROR = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}


@pytest.mark.parametrize(
    ("rate", "ratio", "outcome"),
    [
        ((200, vector(12.0)), (200, vector(0.3)), Reading("ok", 0.3, 12.0)),
        (
            (200, vector(0.5)),
            (200, vector(0.3)),
            Reading("no_data", None, 0.5, "requests below min_request_rate"),
        ),
        (
            (200, vector()),
            (200, vector(0.3)),
            Reading("no_data", None, None, "requests below min_request_rate"),
        ),
        (
            (200, vector(12.0)),
            (200, vector()),
            Reading("no_data", None, 12.0, "ratio query returned no number"),
        ),
        ((200, vector(12.0)), (200, vector(1.7)), Reading("ok", 1.0, 12.0)),
        (
            (400, ERROR),
            (200, vector(0.3)),
            Reading("error", detail="SignalError: HTTP 400: parse error at char 5"),
        ),
        (
            (200, vector(3.0, 4.0)),
            (200, vector(0.3)),
            Reading("error", detail="SignalError: 2 series (expected one: aggregate with sum())"),
        ),
    ],
)
async def test_readings(prom: Any, rate: Any, ratio: Any, outcome: Reading) -> None:
    fake, url = prom
    signal = TrafficSignal(url, "RATIO", "RATE")
    fake.answers = {"RATE": rate, "RATIO": ratio}
    async with aiohttp.ClientSession() as session:
        assert await read(session, signal) == outcome


async def test_unreachable_prometheus_is_an_error_reading() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        signal = TrafficSignal(f"http://127.0.0.1:{port}", "r", "q")
        async with aiohttp.ClientSession() as session:
            reading = await read(session, signal)
    assert reading.outcome == "error" and "ClientConnectorError" in reading.detail


async def test_less_than_one_request_per_interval_is_no_data(prom: Any) -> None:
    """No floor on the sample count: 0.04 req/s over 10 s is not one request."""
    fake, url = prom
    signal = TrafficSignal(url, "RATIO", "RATE", interval=10.0, min_request_rate=0.0)
    fake.answers = {"RATE": (200, vector(0.04)), "RATIO": (200, vector(1.0))}
    async with aiohttp.ClientSession() as session:
        reading = await read(session, signal)
    assert reading == Reading("no_data", None, 0.04, "less than one request per interval")
