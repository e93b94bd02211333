"""Real-traffic signals: a component's 5xx share from the Prometheus that watches its traffic.

Every `interval` the component's two PromQL queries run as instant queries against the
Prometheus HTTP API (`/api/v1/query`): `requests` (requests per second) and `ratio` (the
failing share). With enough requests, the ratio becomes one round of synthetic results for
the virtual check `traffic:<component>`: one per request of the interval
(n = round(rate x interval), at most MAX_SAMPLES; fewer than one request is no data),
`round(n * ratio)` of them failing with the reason `traffic_5xx`. The count matters: the
status engine tests a ratio for significance against its thresholds, and real traffic is
strong evidence. These results are fed to the engine
through its ordinary input (`observe`) into a traffic health of their own (see
prober/domain/traffic.py), so the domain's windows, thresholds, hysteresis and incident
lifecycle apply unchanged.

Too few requests, an empty result, an unreachable Prometheus or an error answer is a
Reading with outcome `no_data` or `error`: it adds nothing to the window (so it can never
open an incident), the engine holds the component's traffic verdict as it was
(`Engine.traffic_no_data`: an open traffic incident stays open), and it is reported to
metrics and logs. See docs/CONFIGURATION.md,
"Real-traffic signals".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from prober.clock import Clock
from prober.config.model import Check, Component, Config, TrafficSignal
from prober.domain import traffic as domain_traffic
from prober.logs import get_logger
from prober.probes.result import ProbeResult, Reason

log = get_logger("prober.signals")
MAX_SAMPLES = 200  # weight of one evaluation at most (memory and time per round bounded)
TIMEOUT = 10.0


class SignalError(Exception):
    """Prometheus answered, but not with one number."""


@dataclass(frozen=True)
class Reading:
    outcome: str  # "ok", "no_data" or "error"
    ratio: float | None = None
    rate: float | None = None
    detail: str = ""


def traffic_check_id(component: str) -> str:
    return domain_traffic.check_id(component)


def engine_config(config: Config) -> Config:
    """The config the engine sees: one virtual check per component with a traffic signal."""
    extra = tuple(
        Check(
            id=traffic_check_id(c.id),
            component=c.id,
            url=f"traffic://{c.id}",
            interval=c.traffic.interval,
            requests_per_round=MAX_SAMPLES,
        )
        for c in config.components
        if c.traffic is not None
    )
    return dataclasses.replace(config, checks=config.checks + extra) if extra else config


def traffic_only(config: Config) -> frozenset[str]:
    """Components whose probes do not count towards their status."""
    return frozenset(
        c.id
        for c in config.components
        if c.traffic is not None and c.traffic.mode == "traffic_only"
    )


async def instant(session: aiohttp.ClientSession, base: str, query: str) -> float | None:
    """One instant query: its single value, None for an empty result."""
    url = base.rstrip("/") + "/api/v1/query"
    async with session.get(url, params={"query": query}) as resp:
        try:
            body: Any = await resp.json(content_type=None)
        except ValueError as exc:
            raise SignalError(f"HTTP {resp.status}: not JSON") from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise SignalError(f"HTTP {resp.status}: {str(error)[:200] or 'query failed'}")
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return float(result[1])
    if kind != "vector" or not isinstance(result, list):
        raise SignalError(f"unexpected result type {kind!r} (expected a vector)")
    if not result:
        return None
    if len(result) > 1:
        raise SignalError(f"{len(result)} series (expected one: aggregate with sum())")
    return float(result[0]["value"][1])


async def read(session: aiohttp.ClientSession, signal: TrafficSignal) -> Reading:
    try:
        rate = await instant(session, signal.prometheus, signal.requests)
        if rate is None or not math.isfinite(rate) or rate < signal.min_request_rate:
            return Reading("no_data", rate=rate, detail="requests below min_request_rate")
        if sample_count(rate, signal.interval) < 1:
            return Reading("no_data", rate=rate, detail="less than one request per interval")
        ratio = await instant(session, signal.prometheus, signal.ratio)
    except (
        TimeoutError,
        aiohttp.ClientError,
        SignalError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ) as exc:
        return Reading("error", detail=f"{type(exc).__name__}: {exc}"[:300])
    if ratio is None or not math.isfinite(ratio):
        return Reading("no_data", rate=rate, detail="ratio query returned no number")
    return Reading("ok", ratio=min(1.0, max(0.0, ratio)), rate=rate)


def sample_count(rate: float, interval: float) -> int:
    """One sample per request of the interval, at most MAX_SAMPLES (no floor: a request
    is never counted twice; 0 means no data)."""
    return max(0, min(MAX_SAMPLES, round(rate * interval)))


def round_for(
    component: str, reading: Reading, at: float, interval: float = 0.0
) -> list[ProbeResult]:
    """sample_count() results of the virtual check, `round(n * ratio)` failing."""
    assert reading.ratio is not None and reading.rate is not None
    n = sample_count(reading.rate, interval)
    failing = round(n * reading.ratio)
    detail = f"real traffic: {reading.ratio:.1%} of {reading.rate:.3g} req/s failed"
    check = traffic_check_id(component)
    return [
        ProbeResult(
            check,
            component,
            at,
            Reason.TRAFFIC_5XX if i < failing else Reason.OK,
            0.0,
            None,
            detail=detail,
        )
        for i in range(n)
    ]


RoundFn = Callable[[str, list[ProbeResult]], Awaitable[None]]
ReadingFn = Callable[[str, Reading], Awaitable[None]]


class TrafficSignals:
    """One evaluation loop per component with a traffic signal; `configure` on reload."""

    def __init__(self, clock: Clock, on_round: RoundFn, on_reading: ReadingFn) -> None:
        self._clock = clock
        self._on_round = on_round
        self._on_reading = on_reading
        self._tasks: dict[str, tuple[TrafficSignal, asyncio.Task[None]]] = {}
        self._session: aiohttp.ClientSession | None = None

    def configure(self, components: tuple[Component, ...]) -> None:
        wanted = {c.id: c.traffic for c in components if c.traffic is not None}
        for cid, (signal, task) in list(self._tasks.items()):
            if wanted.get(cid) != signal:
                task.cancel()
                del self._tasks[cid]
        for cid, signal in wanted.items():
            if cid not in self._tasks:
                self._tasks[cid] = (signal, asyncio.create_task(self._loop(cid, signal)))

    async def _loop(self, component: str, signal: TrafficSignal) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=min(TIMEOUT, signal.interval))
            )
        while True:
            try:
                reading = await read(self._session, signal)
                await self._on_reading(component, reading)
                if reading.outcome == "ok":
                    await self._on_round(
                        component,
                        round_for(
                            component, reading, self._clock.now().timestamp(), signal.interval
                        ),
                    )
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end the signal for good
                log.exception("traffic_signal_failed", component=component)
            await self._clock.sleep(signal.interval)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
