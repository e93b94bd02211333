"""`run_once` and `format_table`, the engine of `prober once`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from prober.config.model import Check, Component, Config, Page
from prober.probes.once import format_table, run_once
from prober.probes.result import ProbeResult, Reason

from .servers import app_server


@pytest.fixture
async def target() -> AsyncIterator[tuple[str, list[int]]]:
    in_flight = [0, 0]  # current, max

    async def handler(request: web.Request) -> web.Response:
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        await asyncio.sleep(0.05)
        in_flight[0] -= 1
        return web.Response(status=int(request.match_info["code"]))

    app = web.Application()
    app.router.add_get("/{code}", handler)
    async with app_server(app) as url:
        yield url, in_flight


def config(base: str, codes: list[int]) -> Config:
    checks = tuple(
        Check(id=f"check-{i}", component="api", url=f"{base}/{code}", timeout=2.0)
        for i, code in enumerate(codes)
    )
    return Config(page=Page(), components=(Component(id="api", name="API"),), checks=checks)


async def test_run_once_in_config_order(target: tuple[str, list[int]]) -> None:
    base, _ = target
    results = await run_once(config(base, [200, 503, 404, 204]))
    assert [r.check_id for r in results] == ["check-0", "check-1", "check-2", "check-3"]
    assert [r.reason for r in results] == [
        Reason.OK,
        Reason.HTTP_5XX,
        Reason.UNEXPECTED_STATUS,
        Reason.OK,
    ]


async def test_run_once_selected_ids(target: tuple[str, list[int]]) -> None:
    base, _ = target
    results = await run_once(config(base, [200, 503, 404]), ["check-2", "check-0"])
    assert [r.check_id for r in results] == ["check-0", "check-2"]


async def test_run_once_unknown_id(target: tuple[str, list[int]]) -> None:
    base, _ = target
    with pytest.raises(ValueError, match="unknown check id: nope"):
        await run_once(config(base, [200]), ["nope"])


async def test_run_once_is_concurrent_and_bounded(target: tuple[str, list[int]]) -> None:
    base, in_flight = target
    results = await run_once(config(base, [200] * 12), concurrency=4)
    assert all(r.ok for r in results)
    assert 1 < in_flight[1] <= 4


def test_format_table() -> None:
    results = [
        ProbeResult("api-health", "api", 0.0, Reason.OK, 0.0123, status_code=200),
        ProbeResult(
            "billing",
            "billing",
            0.0,
            Reason.HTTP_5XX,
            0.5,
            status_code=503,
            detail="status 503, expected 200-299",
        ),
        ProbeResult("dns", "api", 0.0, Reason.DNS, 0.002, detail="dns: name or service not known"),
    ]
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["CHECK", "RESULT", "STATUS", "LATENCY", "REASON"]
    assert lines[1].split() == ["api-health", "ok", "200", "12ms", "ok"]
    assert lines[2].split()[:4] == ["billing", "FAIL", "503", "500ms"]
    assert lines[2].endswith("http_5xx: status 503, expected 200-299")
    assert lines[3].split()[:4] == ["dns", "FAIL", "-", "2ms"]
    # columns line up
    assert lines[1].index("ok") == lines[2].index("FAIL") == lines[0].index("RESULT")
    assert lines[-1] == "3 checks, 1 ok, 2 failed"


def test_format_table_says_the_reason_once() -> None:
    results = [
        ProbeResult(
            "a",
            "api",
            0.0,
            Reason.PROTOCOL,
            0.001,
            detail="protocol: Bad status line 'SSH-2.0-OpenSSH'",
        ),
        ProbeResult("b", "api", 0.0, Reason.CONNECT, 0.001, detail="connect: connection refused"),
        ProbeResult("c", "api", 0.0, Reason.TIMEOUT, 2.0, detail="timeout after 2s (headers)"),
        ProbeResult("d", "api", 0.0, Reason.ASSERTION, 0.01, detail="body is not valid JSON"),
        ProbeResult("e", "api", 0.0, Reason.TLS, 0.01),
    ]
    reasons = [line.split("  ")[-1].strip() for line in format_table(results).splitlines()[1:6]]
    assert reasons == [
        "protocol: Bad status line 'SSH-2.0-OpenSSH'",
        "connect: connection refused",
        "timeout after 2s (headers)",
        "assertion: body is not valid JSON",
        "tls",
    ]
