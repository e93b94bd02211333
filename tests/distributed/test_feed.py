"""The leader's feed: rounds written by three agents in three locations, read back from a
memory RoundLog by cursor, merged by quorum and fed to the real engine; driven by a fake
clock. Also measures the extra detection latency the agent -> log -> leader path adds."""

from __future__ import annotations

from dataclasses import dataclass, field

from prober.clock import FakeClock
from prober.config.loader import parse_config
from prober.config.model import Config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.distributed.roundlog import RoundRow
from prober.domain.effects import Effect
from prober.domain.engine import Engine
from prober.domain.quorum import LOST, NO_DATA, OK, phase
from prober.probes.result import ProbeResult, Reason
from tests.domain.sim import opened

from .memlog import MemoryRoundLog

LOCATIONS = ("eu", "us", "ap")
INTERVAL = 10.0
STEP = 0.05  # simulation resolution, seconds
FLUSH = 0.2  # agents' flush interval: a row reaches the log this long after its probe ends
POLL = 0.25  # the leader polls the log this often
DURATION = 0.05  # a probe's duration

TEXT = (
    """
components:
  - {id: api, name: API}
  - {id: web, name: Web}
  - {id: db, name: DB}
checks:
"""
    + "".join(
        f'  - {{id: {c}-check, component: {c}, url: "http://127.0.0.1:9/{c}", interval: 10s}}\n'
        for c in ("api", "web", "db")
    )
    + "distributed: {locations: [eu, us, ap]}\n"
)


def config() -> Config:
    return parse_config(TEXT)


@dataclass
class World:
    """Three agents probing every check on its phase; the leader polls every POLL s."""

    clock: FakeClock = field(default_factory=FakeClock)
    log: MemoryRoundLog = field(default_factory=MemoryRoundLog)
    cfg: Config = field(default_factory=config)
    reasons: dict[tuple[str, str], Reason] = field(default_factory=dict)  # (loc, check)
    silent: set[str] = field(default_factory=set)
    effects: list[Effect] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # extra latency of counted failures
    location_states: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.feed = Feed(self.log, self.cfg, limit=7)  # small pages: the cursor loop is used
        self.engine = Engine(self.cfg)
        # the single-node baseline: one in-process prober at "eu", no agents, no quorum
        self.direct = Engine(self.cfg)
        self.direct_effects: list[Effect] = []
        self.opened_at: float | None = None
        self.direct_opened_at: float | None = None
        self._outbox: list[tuple[float, RoundRow]] = []
        self._next = {c.id: self._first(c.id) for c in self.cfg.checks}
        self._next_poll = self.now

    @property
    def now(self) -> float:
        return self.clock.now().timestamp()

    def _first(self, check: str) -> float:
        p = phase(check, INTERVAL)
        return self.now + (p - self.now) % INTERVAL

    async def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            self.clock.advance(STEP)
            now = self.now
            for check in self.cfg.checks:
                while self._next[check.id] <= now:
                    at = self._next[check.id]
                    self._next[check.id] += INTERVAL
                    for loc in LOCATIONS:
                        if loc in self.silent:
                            continue
                        reason = self.reasons.get((loc, check.id), Reason.OK)
                        r = ProbeResult(check.id, check.component, at, reason, DURATION)
                        if loc == "eu":
                            self.direct_effects += self.direct.observe([r], at + DURATION)
                        row = RoundRow(loc, f"{loc}-0", check.id, at, encode([r]))
                        self._outbox.append((at + DURATION + FLUSH, row))
            due = [row for when, row in self._outbox if when <= now]
            self._outbox = [(w, r) for w, r in self._outbox if w > now]
            if due:
                await self.log.append_rounds(due)
            if now >= self._next_poll:
                self._next_poll += POLL
                batch = await self.feed.poll(now)
                for _check_id, results in batch.rounds:
                    self.effects += self.engine.observe(results, now)
                for d in batch.decisions:
                    if d.counted:
                        first = d.results[0]
                        self.latencies.append(now - (first.at + first.duration))
                self.location_states = {s.location: s.state for s in batch.locations}
                self.effects += self.engine.tick(now)
                self.direct_effects += self.direct.tick(now)
                if self.opened_at is None and opened(self.effects):
                    self.opened_at = now
                if self.direct_opened_at is None and opened(self.direct_effects):
                    self.direct_opened_at = now

    def fail(self, locations: tuple[str, ...], checks: tuple[str, ...], reason: Reason) -> None:
        for loc in locations:
            for check in checks:
                self.reasons[(loc, check)] = reason


async def test_outage_from_two_of_three_opens_an_incident_a_flush_and_a_poll_later() -> None:
    w = World()
    await w.run(60.0)
    assert not opened(w.effects) and w.location_states == dict.fromkeys(LOCATIONS, OK)
    start = w.now
    w.fail(("eu", "us"), ("api-check",), Reason.HTTP_5XX)
    while not opened(w.effects) and w.now < start + 300:
        await w.run(1.0)
    assert opened(w.effects), "the outage never opened an incident"
    assert w.opened_at is not None and w.direct_opened_at is not None
    # the agent -> log -> leader path adds at most a flush, a poll and one sim step to
    # what one in-process prober at "eu" needs (the engine's own detection time)
    extra = w.opened_at - w.direct_opened_at
    assert 0 <= extra <= FLUSH + POLL + STEP + 1e-6
    assert w.latencies and max(w.latencies) <= FLUSH + POLL + STEP + 1e-6


async def test_failure_from_one_location_opens_nothing() -> None:
    w = World()
    await w.run(30.0)
    w.fail(("ap",), ("api-check",), Reason.HTTP_5XX)
    await w.run(300.0)
    assert not opened(w.effects) and not w.latencies


async def test_location_losing_its_network_is_reported_and_opens_nothing() -> None:
    w = World()
    await w.run(30.0)
    w.fail(("ap",), ("api-check", "web-check", "db-check"), Reason.CONNECT)
    await w.run(300.0)
    assert not opened(w.effects)
    assert w.location_states == {"eu": OK, "us": OK, "ap": LOST}
    # a real outage during the loss is still seen from the other two
    w.fail(("eu", "us"), ("db-check",), Reason.TIMEOUT)
    start = w.now
    while not opened(w.effects) and w.now < start + 300:
        await w.run(1.0)
    assert opened(w.effects) and w.opened_at is not None and w.direct_opened_at is not None
    assert 0 <= w.opened_at - w.direct_opened_at <= FLUSH + POLL + STEP + 1e-6


async def test_silent_location_is_no_data_and_opens_nothing() -> None:
    w = World()
    await w.run(30.0)
    w.silent.add("ap")
    await w.run(120.0)
    assert w.location_states["ap"] == NO_DATA and not opened(w.effects)


async def test_expected_location_that_never_reported_is_no_data() -> None:
    w = World()
    w.silent.add("ap")
    await w.run(5.0)
    assert w.location_states["ap"] == NO_DATA


async def test_cursor_reads_every_row_once_and_stale_or_corrupt_rows_are_skipped() -> None:
    w = World()
    await w.run(40.0)
    assert w.feed.cursor == len(w.log.rows)
    before = len(w.log.rows)
    await w.log.append_rounds(
        [
            RoundRow("eu", "eu-0", "api-check", w.now - 3600, b"\x01\x01\x00\x00"),  # stale
            RoundRow("eu", "eu-0", "api-check", w.now, b"\xff"),  # corrupt
        ]
    )
    batch = await w.feed.poll(w.now)
    assert (batch.read, batch.stale, batch.undecodable) == (2, 1, 1)
    assert batch.cursor == before + 2
    again = await w.feed.poll(w.now)
    assert again.read == 0


async def test_a_failing_read_keeps_the_cursor() -> None:
    class Broken(MemoryRoundLog):
        async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list, int]:  # type: ignore[type-arg]
            raise ConnectionError("gone")

    feed = Feed(Broken(), config(), cursor=42)
    batch = await feed.poll(1e9)
    assert batch.errors == ["ConnectionError"] and batch.cursor == 42 == feed.cursor


async def test_prune_keeps_at_least_the_window_the_feed_reads() -> None:
    w = World()
    await w.run(120.0)
    total = len(w.log.rows)
    assert await w.feed.prune(w.now, keep=30.0) > 0  # keep is raised to max_age (60 s)
    assert all(r.at >= w.now - 60.0 for r in w.log.rows) and len(w.log.rows) < total


async def test_reconfigure_adds_an_expected_location_as_no_data() -> None:
    w = World()
    await w.run(20.0)
    cfg = parse_config(TEXT.replace("[eu, us, ap]", "[eu, us, ap, sa]"))
    w.feed.reconfigure(cfg)
    batch = await w.feed.poll(w.now)
    assert {s.location: s.state for s in batch.locations}["sa"] == NO_DATA


async def test_a_resumed_feed_keeps_the_confirmations_it_decided() -> None:
    """The saved position names the last confirmation decided (`confirmations`): a new
    leader re-reading those rows drops them as late and feeds the next ones once."""
    import json

    log = MemoryRoundLog()
    cfg = config()
    check = "api-check"
    at = phase(check, INTERVAL) + 10_000 * INTERVAL

    def rows(k: int, start: float) -> list[RoundRow]:
        r = ProbeResult(check, "api", start, Reason.HTTP_5XX, DURATION)
        return [RoundRow(loc, f"{loc}-0", check, start, encode([r], str, k)) for loc in LOCATIONS]

    await log.append_rounds(rows(0, at) + rows(1, at + 0.7))
    old = Feed(log, cfg)
    first = await old.poll(at + 1.0)
    assert [(d.round, d.confirmation) for d in first.decisions] == [(10_000, 0), (10_000, 1)]
    assert first.confirmations == [0, 1]
    saved = json.loads(json.dumps(old.state()))
    assert saved["decided"] == {check: 10_000} and saved["confirmations"] == {check: 1}
    await log.append_rounds(rows(2, at + 1.4))
    new = Feed(log, cfg)
    new.resume({**saved, "cursor": 0})  # re-read everything: decided rows are late
    again = await new.poll(at + 2.0)
    assert [(d.round, d.confirmation) for d in again.decisions] == [(10_000, 2)]
    assert again.confirmations == [2] and new.quorum.late == 6
