"""Confirmation rounds through the real agent path (issues 11 and 14): three `Agent`s
(the real Runner, confirmation rounds on, labelled by the agent) write to one memory
RoundLog; the leader's `Feed` reads, merges by quorum and feeds the real engine. One
virtual clock drives everything, at the defaults: 15 s interval, one request per round."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from prober.clock import VirtualClock
from prober.config.loader import parse_config
from prober.config.model import Check
from prober.distributed.agent import Agent
from prober.distributed.codec import decode_round
from prober.distributed.feed import Feed
from prober.distributed.writer import WriterSettings
from prober.domain.effects import Effect, IncidentOpened
from prober.domain.engine import Engine
from prober.domain.quorum import LOST, Decision, phase
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason

from .memlog import MemoryRoundLog

LOCATIONS = ("eu", "us", "ap")
INTERVAL = 15.0
STEP = 0.25  # the leader polls the log this often
CHECKS = ("api-check", "web-check", "db-check")
TEXT = (
    """
components:
  - {id: api, name: API}
  - {id: web, name: Web}
  - {id: db, name: DB}
checks:
"""
    + "".join(
        f'  - {{id: {c}-check, component: {c}, url: "http://127.0.0.1:9/{c}"}}\n'
        for c in ("api", "web", "db")
    )
    + "distributed: {locations: [eu, us, ap]}\n"
)

# (location, check id, virtual time) -> what that location's probe sees
Outcome = Callable[[str, str, float], Reason]


def healthy(location: str, check: str, at: float) -> Reason:
    return Reason.OK


@pytest.fixture(autouse=True)
def seeded_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's confirmation jitter (prober/confirm_rounds.py), seeded: every run of
    these tests is the same."""
    seeds = iter(range(1000))

    class Seeded(random.Random):
        def __init__(self, x: object = None) -> None:
            super().__init__(next(seeds) if x is None else x)

    # only the runner's module sees it (not the random module itself)
    monkeypatch.setattr("prober.confirm_rounds.random", SimpleNamespace(Random=Seeded))


@dataclass
class World:
    clock: VirtualClock = field(default_factory=VirtualClock)
    log: MemoryRoundLog = field(default_factory=MemoryRoundLog)
    outcome: Outcome = healthy
    effects: list[Effect] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    major_at: float | None = None
    merged_confirmations: int = 0

    def __post_init__(self) -> None:
        config = parse_config(TEXT)
        self.config = config
        self.agents = [
            Agent(
                config,
                self.log,
                loc,
                clock=self.clock,
                name=f"{loc}-0",
                probe=self._probe(loc),
                # every row at once (the leader's poll adds the latency): a flush timer
                # on the VirtualClock can livelock when its remaining wait is below the
                # float resolution of the clock (the deadline equals "now" for ever)
                writer=WriterSettings(flush_rounds=1),
            )
            for loc in LOCATIONS
        ]
        self.feed = Feed(self.log, config)
        self.engine = Engine(config)

    @property
    def now(self) -> float:
        return self.clock.now().timestamp()

    def _probe(self, location: str) -> Callable[[Check], object]:
        async def probe(check: Check) -> ProbeResult:
            at = self.now
            reason = self.outcome(location, check.id, at)
            code = 200 if reason is Reason.OK else (500 if reason is Reason.HTTP_5XX else None)
            return ProbeResult(check.id, check.component, at, reason, 0.0, code)

        return probe

    async def start(self) -> None:
        for agent in self.agents:
            await agent.start()

    async def stop(self) -> None:
        for agent in self.agents:
            assert await agent.stop() == 0

    async def run(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP)):  # bounded
            await self.clock.advance(STEP)
            now = self.now
            batch = await self.feed.poll(now)
            self.decisions += batch.decisions
            for (_check, results), k in zip(batch.rounds, batch.confirmations, strict=True):
                self.merged_confirmations += k > 0
                self.effects += self.engine.observe(results, now)
            self.effects += self.engine.tick(now)
            api = self.engine.status_of("api")
            if api is ComponentStatus.MAJOR_OUTAGE and self.major_at is None:
                self.major_at = now

    def next_round(self, check: str = "api-check") -> float:
        p = phase(check, INTERVAL)
        return self.now + (p - self.now) % INTERVAL

    def opened(self) -> list[IncidentOpened]:
        return [e for e in self.effects if isinstance(e, IncidentOpened)]

    def counted(self) -> list[Decision]:
        return [d for d in self.decisions if d.counted]

    def sent(self) -> list[tuple[str, str, int]]:
        """(location, check, k) of every row the agents wrote."""
        return [
            (r.location, r.check_id, decode_round(r.payload, r.check_id)[1]) for r in self.log.rows
        ]


def fails(
    locations: tuple[str, ...],
    checks: tuple[str, ...],
    since: float,
    reason: Reason = Reason.HTTP_5XX,
    then: Outcome = healthy,
) -> Outcome:
    def outcome(location: str, check: str, at: float) -> Reason:
        if location in locations and check in checks and at >= since:
            return reason
        return then(location, check, at)

    return outcome


async def started(world: World, warmup: float = 60.0) -> World:
    await world.start()
    await world.run(warmup)
    assert not world.counted() and not world.opened()
    return world


@pytest.mark.parametrize("offset", [0.5, 7.0, 14.0])
async def test_total_outage_seen_by_all_three_is_major_within_two_intervals(offset: float) -> None:
    w = await started(World())
    start = w.next_round() + offset  # the round at next_round still passes
    w.outcome = fails(LOCATIONS, ("api-check",), start)
    try:
        await w.run(start - w.now + 2 * INTERVAL)
    finally:
        await w.stop()
    assert w.major_at is not None, "the total outage never read major_outage"
    assert w.major_at - start <= 2 * INTERVAL
    assert w.opened() and w.opened()[0].incident.impact.value == "critical"
    # every agent sent its confirmation series, and the leader merged them
    for loc in LOCATIONS:
        ks = [k for lo, c, k in w.sent() if lo == loc and c == "api-check" and k]
        assert ks[:13] == list(range(1, 14))
    merged = [d for d in w.counted() if d.confirmation]
    assert len(merged) >= 13 and w.merged_confirmations >= 13
    assert all(set(d.failing) == set(LOCATIONS) for d in merged)


async def test_failure_seen_by_one_location_only_never_counts() -> None:
    w = await started(World())
    w.outcome = fails(("eu",), ("api-check",), w.now)
    try:
        await w.run(600.0)
    finally:
        await w.stop()
    assert not w.counted() and not w.opened() and w.major_at is None
    assert w.engine.status_of("api") is ComponentStatus.OPERATIONAL
    confirming = {(lo, c) for lo, c, k in w.sent() if k}
    assert confirming == {("eu", "api-check")}  # us and ap had no doubt: sent none
    merged = [d for d in w.decisions if d.confirmation]
    assert merged and all(set(d.carried) == {"us", "ap"} for d in merged)


async def test_a_lost_location_and_an_outage_from_the_other_two_opens_within_two_intervals() -> (
    None
):
    w = await started(World())
    w.outcome = fails(("ap",), CHECKS, w.now, Reason.CONNECT)  # ap's network is gone
    await w.run(120.0)
    lost = {s.location: s.state for s in w.feed.quorum.locations(w.now)}
    assert lost["ap"] == LOST and not w.counted() and not w.opened()
    start = w.next_round() + 0.5
    w.outcome = fails(("eu", "us"), ("api-check",), start, then=w.outcome)
    try:
        await w.run(start - w.now + 2 * INTERVAL)
    finally:
        await w.stop()
    assert w.major_at is not None and w.major_at - start <= 2 * INTERVAL
    assert w.opened()
    merged = [d for d in w.counted() if d.confirmation]
    assert len(merged) >= 13
    assert all(set(d.failing) == {"eu", "us"} and d.reporting == 2 for d in merged)


async def test_noise_at_one_location_makes_no_false_confirmations() -> None:
    rng = random.Random(5)
    drawn: dict[tuple[str, str, float], Reason] = {}

    def noisy(location: str, check: str, at: float) -> Reason:
        key = (location, check, at)
        if key not in drawn:
            hit = location == "eu" and rng.random() < 0.2
            drawn[key] = Reason.HTTP_5XX if hit else Reason.OK
        return drawn[key]

    w = await started(World())
    w.outcome = noisy
    try:
        await w.run(1800.0)
    finally:
        await w.stop()
    assert any(k for lo, _, k in w.sent() if lo == "eu")  # eu doubted, often
    assert not any(k for lo, _, k in w.sent() if lo != "eu")
    assert not w.counted() and not w.opened() and w.major_at is None
    assert all(r.ok for d in w.decisions for r in d.results)
    for comp in ("api", "web", "db"):
        assert w.engine.status_of(comp) is ComponentStatus.OPERATIONAL
