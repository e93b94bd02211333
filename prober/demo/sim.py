"""The simulated SaaS API that `prober demo` probes and end-to-end tests use as a target.

Routes (all JSON):
    GET  /<component-id>/health  200 {"status": "ok", "component": id} or 500
                                 {"error": "internal"} as the scenario says; 404 for an
                                 unknown component
    GET  /                       index: components, their health URLs and current shares,
                                 the scenario and its current phase
    GET  /_sim/state             the index plus request/failure counts per component
    POST /_sim/scenario          {"scenario": name, "offset": s?, "time_scale": x?}: switch
                                 scenario and restart its clock (at `offset` seconds into it)

Which requests fail: independent random draws, as real failures come. Each request fails
with the current failure share as its probability (issue 11: what a person sees in the
demo is then what prober's statistics really do with binomial noise, not a smoothed
stream that hides it). The draws come from `random.Random(seed)`, reset by every
scenario switch, so the same seed and the same request order give the same answers.

Time comes from the injected `clock` (seconds, monotonic); latency is waited with the
injected `sleep`, so tests drive both without waiting in real time.

Run standalone: ``python -m prober.demo.sim --scenario seed --listen 127.0.0.1:8081``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from prober.demo.scenarios import COMPONENT_IDS, COMPONENTS, SCENARIOS, Scenario, get_scenario

MonotonicSeconds = Callable[[], float]  # a reader of monotonic seconds (time.monotonic)
Sleep = Callable[[float], Awaitable[None]]


class Simulator:
    """The state behind the app: current scenario, its start time, per-component counters."""

    def __init__(
        self,
        scenario: str = "seed",
        clock: MonotonicSeconds = time.monotonic,
        seed: int = 0,
        time_scale: float = 1.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._seed = seed
        self.sleep = sleep
        self.time_scale = time_scale
        self.scenario: Scenario = get_scenario(scenario, time_scale)
        self._started = 0.0
        self._rng = random.Random(seed)
        self.requests: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.switch(scenario)

    def switch(self, scenario: str, offset: float = 0.0, time_scale: float | None = None) -> None:
        """Start `scenario` anew, `offset` (scaled) seconds into it; reset every counter."""
        if time_scale is not None:
            self.time_scale = time_scale
        self.scenario = get_scenario(scenario, self.time_scale)
        self._started = self._clock() - offset
        self._rng = random.Random(self._seed)
        self.requests = dict.fromkeys(COMPONENT_IDS, 0)
        self.failures = dict.fromkeys(COMPONENT_IDS, 0)

    @property
    def elapsed(self) -> float:
        return max(0.0, self._clock() - self._started)

    def answer(self, component: str) -> tuple[bool, float]:
        """Decide one health request: (answered 200?, extra latency in seconds)."""
        behaviour = self.scenario.behaviour(self.elapsed, component)
        share = behaviour.failure
        failed = share >= 1.0 or (share > 0.0 and self._rng.random() < share)
        self.requests[component] += 1
        self.failures[component] += failed
        return not failed, behaviour.latency

    def index(self) -> dict[str, Any]:
        elapsed = self.elapsed
        at = self.scenario.phase_at(elapsed)
        components = []
        for cid, name, group in COMPONENTS:
            b = self.scenario.behaviour(elapsed, cid)
            components.append(
                {
                    "id": cid,
                    "name": name,
                    "group": group,
                    "health": f"/{cid}/health",
                    "failure_ratio": round(b.failure, 6),
                    "latency": b.latency,
                }
            )
        return {
            "scenario": self.scenario.name,
            "description": self.scenario.description,
            "scenarios": list(SCENARIOS),
            "time_scale": self.time_scale,
            "elapsed": round(elapsed, 3),
            "cycle_seconds": self.scenario.cycle,
            "phase": {
                "name": at.name,
                "index": at.index,
                "description": at.phase.description,
                "start": at.start,
                "end": at.end,
                "cycle": at.cycle,
            },
            "components": components,
        }

    def state(self) -> dict[str, Any]:
        state = self.index()
        state["counts"] = {
            c: {"requests": self.requests[c], "failures": self.failures[c]} for c in COMPONENT_IDS
        }
        return state


SIM_KEY = web.AppKey("prober_demo_sim", Simulator)
_NO_STORE = {"Cache-Control": "no-store"}


async def _health(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    component = request.match_info["component"]
    if component not in COMPONENT_IDS:
        return web.json_response(
            {"error": "unknown component", "component": component}, status=404, headers=_NO_STORE
        )
    ok, latency = sim.answer(component)
    if latency > 0:
        await sim.sleep(latency)
    if ok:
        return web.json_response({"status": "ok", "component": component}, headers=_NO_STORE)
    return web.json_response({"error": "internal"}, status=500, headers=_NO_STORE)


async def _index(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIM_KEY].index(), headers=_NO_STORE)


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIM_KEY].state(), headers=_NO_STORE)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400, headers=_NO_STORE)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def _switch(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    try:
        body = await request.json()
    except ValueError:
        return _bad("body must be JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    name = body.get("scenario")
    if not isinstance(name, str) or name not in SCENARIOS:
        return _bad(f"scenario must be one of: {', '.join(SCENARIOS)}")
    offset = body.get("offset", 0.0)
    if not _number(offset) or offset < 0:
        return _bad("offset must be a number >= 0")
    scale = body.get("time_scale")
    if scale is not None and (not _number(scale) or scale <= 0):
        return _bad("time_scale must be a number > 0")
    sim.switch(name, float(offset), None if scale is None else float(scale))
    return web.json_response(sim.state(), headers=_NO_STORE)


def make_sim_app(
    scenario: str = "seed",
    clock: MonotonicSeconds = time.monotonic,
    seed: int = 0,
    time_scale: float = 1.0,
    sleep: Sleep = asyncio.sleep,
) -> web.Application:
    """The simulated API as an aiohttp app. Raises KeyError for an unknown scenario."""
    app = web.Application()
    app[SIM_KEY] = Simulator(scenario, clock, seed, time_scale, sleep)
    app.router.add_get("/", _index)
    app.router.add_get("/_sim/state", _state)
    app.router.add_post("/_sim/scenario", _switch)
    app.router.add_get("/{component}/health", _health)
    return app


async def start_sim(
    host: str = "127.0.0.1", port: int = 8081, **kw: Any
) -> tuple[web.AppRunner, int]:
    """Start the simulated API; returns the runner (call `cleanup()`) and the bound port.

    `kw` goes to `make_sim_app` (scenario, clock, seed, time_scale, sleep). Port 0 binds
    a free port.
    """
    runner = web.AppRunner(make_sim_app(**kw), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (host 127.0.0.1)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m prober.demo.sim", description="Run prober's simulated SaaS API."
    )
    p.add_argument("--scenario", default="seed", choices=list(SCENARIOS))
    p.add_argument(
        "--listen",
        type=parse_listen,
        default=("127.0.0.1", 8081),
        metavar="HOST:PORT",
        help="address to bind (default 127.0.0.1:8081)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for the failure pattern")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every scenario duration (default 1.0: seed cycle 240 s)",
    )
    return p


async def serve(host: str, port: int, stop: asyncio.Event | None = None, **kw: Any) -> None:
    """Serve until SIGINT/SIGTERM (or until `stop` is set), then shut down cleanly."""
    stop = stop or asyncio.Event()
    runner, bound = await start_sim(host, port, **kw)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        shown = f"[{host}]" if ":" in host else host
        print(f"prober demo sim listening on http://{shown}:{bound}/", flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.time_scale <= 0:
        _parser().error("--time-scale must be > 0")
    host, port = args.listen
    asyncio.run(
        serve(host, port, scenario=args.scenario, seed=args.seed, time_scale=args.time_scale)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
