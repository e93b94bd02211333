"""The real Runner and the real Engine on virtual time, wired as the service wires them:
for tests and benchmarks of what the scheduler's extra rounds (prober/confirm.py,
prober/confirm_rounds.py) do to the verdicts, with probes that take time (a hanging
target answers only at its timeout). Nothing waits in real time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from prober.clock import VirtualClock
from prober.config.model import Check, Component, Config, IncidentPolicy, Page, StatusPolicy
from prober.domain.effects import Effect, IncidentOpened
from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason
from prober.runner import Runner, schedule_offset

MAJOR = ComponentStatus.MAJOR_OUTAGE

# seconds since the harness started (the probe's start) -> the target's answer: (seconds
# it takes, it is a success), or None: it hangs (the probe times out)
Answer = Callable[[float, random.Random], "tuple[float, bool] | None"]


@dataclass
class Harness:
    """Runner + Engine + virtual clock, wired as the service wires them (on_round feeds
    the engine, a tick every second, adaptive sampling asks the engine)."""

    components: tuple[str, ...]
    interval: float
    timeout: float
    requests: int
    answer: Answer
    policy: StatusPolicy = field(default_factory=StatusPolicy)
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)
    seed: int = 1
    clock: VirtualClock = field(default_factory=VirtualClock)
    effects: list[tuple[float, Effect]] = field(default_factory=list)
    major_at: dict[str, float] = field(default_factory=dict)
    regular: list[float] = field(default_factory=list)  # starts of probes, monotonic

    def __post_init__(self) -> None:
        self.t0 = self.clock.monotonic()
        self.rng = random.Random(self.seed)
        checks = tuple(
            Check(
                id=f"{c}-check",
                component=c,
                url="http://127.0.0.1:1/",
                interval=self.interval,
                timeout=self.timeout,
                requests_per_round=self.requests,
            )
            for c in self.components
        )
        comps = tuple(Component(id=c, name=c, policy=self.policy) for c in self.components)
        self.checks = checks
        self.engine = Engine(
            Config(page=Page(), components=comps, checks=checks, incidents=self.incidents)
        )
        self.runner = Runner(
            self.probe,
            self.on_round,
            self.clock,
            rng=random.Random(self.seed),
            undecided=self.engine.undecided,
        )

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.t0

    async def probe(self, check: Check) -> ProbeResult:
        start = self.elapsed()
        self.regular.append(start)
        at = self.clock.now().timestamp()
        answer = self.answer(start, self.rng)
        if answer is None or answer[0] >= check.timeout:
            await self.clock.sleep(check.timeout)
            return ProbeResult(check.id, check.component, at, Reason.TIMEOUT, check.timeout)
        took, good = answer
        await self.clock.sleep(took)
        if good:
            return ProbeResult(check.id, check.component, at, Reason.OK, took, 200)
        return ProbeResult(check.id, check.component, at, Reason.HTTP_5XX, took, 500)

    def apply(self, effects: list[Effect]) -> None:
        now = self.elapsed()
        self.effects.extend((now, e) for e in effects)
        for c in self.components:
            if c not in self.major_at and self.engine.status_of(c) is MAJOR:
                self.major_at[c] = now

    async def on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        now = self.clock.now().timestamp()
        self.apply(self.engine.observe(results, now) + self.engine.tick(now))

    async def ticker(self) -> None:
        while True:
            await self.clock.sleep(1.0)
            self.apply(self.engine.tick(self.clock.now().timestamp()))

    async def run(self, seconds: float) -> None:
        self.runner.start(list(self.checks))
        ticking = asyncio.ensure_future(self.ticker())
        await self.clock.advance(seconds)
        stopper = asyncio.ensure_future(self.runner.stop())
        await self.clock.advance(30.0)
        await stopper
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)

    def opened(self) -> list[IncidentOpened]:
        return [e for _, e in self.effects if isinstance(e, IncidentOpened)]


def first_probe_phase(interval: float, component: str = "api") -> float:
    """Seconds after a harness starts at which its check's first regular round fires
    (the phase of its schedule; the same for every run of one check id)."""
    wall = VirtualClock().now().timestamp()
    return (schedule_offset(f"{component}-check", interval) - wall) % interval
