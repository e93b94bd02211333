"""Three locations probing like agents (regular rounds on the stable phase, confirmation
rounds as the runner's Confirmer starts them, labelled (n, k) as the agent labels them),
a leader that polls their rows into the Quorum and feeds the merged rounds to the real
Engine. Event-driven on simulated time (no clock read, no I/O)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from prober.config.model import Config
from prober.confirm import CONFIRM_PROBES, JITTER, Confirmer, confirm_gap, down
from prober.domain.effects import Effect, IncidentOpened
from prober.domain.engine import Engine
from prober.domain.quorum import (
    MAJORITY,
    CheckSpec,
    Decision,
    Quorum,
    QuorumPolicy,
    confirmation_round,
    phase,
)
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason

from .sim import T0, make_config

LOCATIONS = ("eu", "us", "ap")
COMPONENTS = (("api", "API"), ("web", "Web"), ("db", "DB"))
LAG = {"eu": 0.002, "us": 0.006, "ap": 0.011}  # each location's start lag
DURATION = 0.05  # a probe that gets an answer (or a refused connection)
FLUSH = 0.2  # a row reaches the log this long after its round ended
POLL = 0.25  # the leader polls this often

# (location, check id, start) -> what that location's probe sees
Outcome = Callable[[str, str, float], Reason]


def healthy(location: str, check: str, at: float) -> Reason:
    return Reason.OK


_REGULAR, _CONFIRM, _END, _POLL = 0, 1, 2, 3


@dataclass
class _Probe:
    """One location's scheduling state of one check (as the runner's _Slot)."""

    next_due: float
    confirmer: Confirmer = field(default_factory=lambda: Confirmer(CONFIRM_PROBES))
    label: tuple[int, int] = (0, 0)  # the agent's (n, last k)


@dataclass
class Row:
    location: str
    check_id: str
    results: list[ProbeResult]
    confirmation: int


class World:
    def __init__(
        self,
        interval: float = 15.0,
        *,
        seed: int = 14,
        quorum: int = MAJORITY,
        confirm: int = CONFIRM_PROBES,
        start: float = T0,
    ) -> None:
        self.config: Config = make_config(COMPONENTS, interval=interval, requests_per_round=1)
        self.checks = {c.id: c for c in self.config.checks}
        specs = {
            c.id: CheckSpec(
                c.interval, c.timeout, self.config.component(c.component).policy.failure_reasons
            )
            for c in self.config.checks
        }
        self.quorum = Quorum(specs, QuorumPolicy(quorum=quorum), LOCATIONS)
        self.engine = Engine(self.config)
        self.rng = random.Random(seed)
        self.confirm = confirm
        self.now = start
        self.outcome: Outcome = healthy
        self.silent: set[str] = set()
        self.rows: list[Row] = []  # every row the agents sent
        self.decisions: list[Decision] = []
        self.effects: list[Effect] = []
        self.major_at: dict[str, float] = {}  # component -> first time shown major_outage
        self.fed_confirmations = 0
        self._outbox: list[tuple[float, int, Row]] = []
        self._events: list[tuple[float, int, int, str, str, int]] = []
        self._seq = 0
        self._probes: dict[tuple[str, str], _Probe] = {}
        for loc in LOCATIONS:
            for c in self.config.checks:
                p = phase(c.id, c.interval)
                due = start + (p - start) % c.interval + LAG[loc]
                self._probes[(loc, c.id)] = _Probe(due, Confirmer(confirm))
                self._push(due, _REGULAR, loc, c.id, 0)
        self._push(start + POLL, _POLL, "", "", 0)

    def _push(self, when: float, kind: int, loc: str, check: str, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, loc, check, token))

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self._events and self._events[0][0] <= end:  # bounded by `end`
            when, _, kind, loc, check, token = heapq.heappop(self._events)
            self.now = when
            if kind == _POLL:
                self._poll()
                self._push(when + POLL, _POLL, "", "", 0)
            elif kind == _REGULAR:
                probe = self._probes[(loc, check)]
                probe.next_due = when + self.checks[check].interval
                self._push(probe.next_due, _REGULAR, loc, check, 0)
                self._start(loc, check, when, confirmation=False)
            elif kind == _CONFIRM:
                self._fire_confirmation(loc, check, when, token)
            else:
                self._end(loc, check, token)
        self.now = end

    # -- one location (the runner and the agent) ------------------------------------------

    def _start(self, loc: str, check: str, at: float, confirmation: bool) -> None:
        if loc in self.silent:
            return
        c = self.checks[check]
        reason = self.outcome(loc, check, at)
        result = ProbeResult(check, c.component, at, reason, DURATION, detail=loc)
        k = 0
        probe = self._probes[(loc, check)]
        if confirmation:  # the agent's label: k-th confirmation within the interval
            n = confirmation_round(check, c.interval, at)
            last_n, last_k = probe.label
            k = last_k + 1 if last_n == n else 1
            probe.label = (n, k)
        row = Row(loc, check, [result], k)
        self._push(at + DURATION, _END, loc, check, len(self.rows))
        self.rows.append(row)

    def _end(self, loc: str, check: str, index: int) -> None:
        row = self.rows[index]
        heapq.heappush(self._outbox, (self.now + FLUSH, index, row))
        probe = self._probes[(loc, check)]
        started = probe.confirmer.after(down(row.results), row.confirmation > 0)
        if started:
            self._schedule(loc, check, self.now)

    def _fire_confirmation(self, loc: str, check: str, when: float, series: int) -> None:
        probe = self._probes[(loc, check)]
        if series != probe.confirmer.series:
            return
        more = probe.confirmer.take()
        self._start(loc, check, when, confirmation=True)
        if more:
            self._schedule(loc, check, when)

    def _schedule(self, loc: str, check: str, now: float) -> None:
        probe = self._probes[(loc, check)]
        c = self.checks[check]
        gap = confirm_gap(c.interval, max(1, self.confirm))
        when = now + gap * self.rng.uniform(1.0 - JITTER, 1.0 + JITTER)
        if abs(when - probe.next_due) < gap / 2.0:
            when = probe.next_due + gap
        self._push(when, _CONFIRM, loc, check, probe.confirmer.series)

    # -- the leader ---------------------------------------------------------------------

    def _poll(self) -> None:
        while self._outbox and self._outbox[0][0] <= self.now:
            _, _, row = heapq.heappop(self._outbox)
            self.quorum.observe(row.location, row.check_id, row.results, row.confirmation)
        out = self.quorum.decide(self.now)
        self.decisions += out.decisions
        for d in out.decisions:
            if d.results:
                self.fed_confirmations += d.confirmation > 0
                self.effects += self.engine.observe(list(d.results), self.now)
        self.effects += self.engine.tick(self.now)
        for comp, _ in COMPONENTS:
            if self.engine.status_of(comp) is ComponentStatus.MAJOR_OUTAGE:
                self.major_at.setdefault(comp, self.now)

    # -- reading ------------------------------------------------------------------------

    def opened(self) -> list[IncidentOpened]:
        return [e for e in self.effects if isinstance(e, IncidentOpened)]

    def counted(self) -> list[Decision]:
        return [d for d in self.decisions if d.counted]

    def next_round(self, check: str, loc: str = "eu") -> float:
        """When `loc`'s next regular round of `check` starts."""
        return self._probes[(loc, check)].next_due


def fails(
    locations: tuple[str, ...],
    checks: tuple[str, ...],
    since: float,
    reason: Reason = Reason.HTTP_5XX,
) -> Outcome:
    def outcome(location: str, check: str, at: float) -> Reason:
        if location in locations and check in checks and at >= since:
            return reason
        return Reason.OK

    return outcome


def combine(*outcomes: Outcome) -> Outcome:
    """The first failing reason of the outcomes, else OK."""

    def outcome(location: str, check: str, at: float) -> Reason:
        for o in outcomes:
            r = o(location, check, at)
            if r is not Reason.OK:
                return r
        return Reason.OK

    return outcome
