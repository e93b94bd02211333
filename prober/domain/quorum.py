"""Quorum across locations: which failures of a check count toward its component's status.

Agents in several locations probe the same checks; each location's round of a check is an
*observation*. Pure: no I/O, no clock; every call takes `now` (epoch seconds).

* Rounds line up across locations: every agent fires a check at the same stable phase of
  its interval (a hash of the check id, see `prober.runner.schedule_offset`), so the round
  number is `round((at - phase) / interval)` for the start time `at` of any of its probes.
* A location *reports* while its latest observation started within `location_timeout`
  of `now`. A location that stops reporting is `no_data`: it is not a failure, and it
  leaves the quorum's denominator once its timeout has passed. The denominator of a
  check is the reporting locations that observed that check within `location_timeout`
  (with shards, one agent of a location may be gone while the others report).
* A location is `lost` (held out: its own network problem) when every check it reported
  in the window is unreachable in its latest round (transport reasons only: connect, dns,
  timeout; no HTTP answer at all), over at least two checks, while another reporting
  location still gets an answer. Its observations are then no evidence either way. When
  every reporting location is unreachable on everything, nobody is held out: that is a
  total outage (or a shared fault) and is never hidden. The first answer sets it back to
  `ok`.
* A round of a check is decided once every reporting location has reported it, or at the
  latest at `at + timeout + settle` (a location that has not reported it by then simply
  did not see that round). The round's evidence is the reporting, not-lost locations that
  observed it. A location's round *fails* when one of its probes ended with a reason in
  the check's failure reasons. Then:
  - failing locations >= `required` (quorum N, or a majority of the reporting locations):
    the failure counts; the merged round is the earliest-starting failing location's
    real results (their real reason and start time);
  - otherwise, when some location passed: the merged round is the earliest-starting
    passing location's results (the failure does not count);
  - otherwise (too few locations to reach quorum, none passing): no data for that round.
* A failure that reaches quorum only thanks to unreachable observations (no HTTP answer)
  from locations that got no answer from any check since that check's unreachable run
  began there is held
  (like the single-node guard) until each such location answers something, is found
  `lost` (then held out), or the hold passes (slowest interval + timeout + settle). So
  even quorum 1 does not count the first rounds of a location's own network loss.
* Rounds are decided in order per check; an observation for a round already decided is
  late and dropped (counted in `late`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prober.domain.observation import ProbeResult

TRANSPORT_REASONS = frozenset({"connect", "dns", "timeout"})
OK = "ok"
LOST = "lost"
NO_DATA = "no_data"
LOCATION_STATES = (OK, LOST, NO_DATA)
MAJORITY = 0  # quorum setting: a majority of the reporting locations
MAX_PENDING_ROUNDS = 64  # per check: older undecided rounds are decided at once
MIN_CHECKS_FOR_LOSS = 2  # one unreachable check alone does not prove a location's loss


def phase(check_id: str, interval: float) -> float:
    """The check's stable phase within its interval (same hash as the runner's)."""
    digest = hashlib.blake2b(check_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 * interval


def round_number(check_id: str, interval: float, at: float) -> int:
    return round((at - phase(check_id, interval)) / interval)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    interval: float
    timeout: float
    failure_reasons: frozenset[str]


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    quorum: int = MAJORITY  # MAJORITY, or how many locations must see a failure
    location_timeout: float = 60.0  # silent this long: no data, out of the denominator
    settle: float = 2.0  # wait past a round's timeout for late locations (agent batching)

    def required(self, reporting: int) -> int:
        """Failing locations needed among `reporting` ones for a failure to count."""
        return reporting // 2 + 1 if self.quorum == MAJORITY else self.quorum


@dataclass(frozen=True, slots=True)
class LocationState:
    location: str
    state: str  # one of LOCATION_STATES
    since: float | None  # when it entered this state (None: never reported)
    last_seen: float | None  # start of its latest observation
    checks: int  # checks it reported in the window
    unreachable: int  # of those, unreachable in their latest round


@dataclass(frozen=True, slots=True)
class Decision:
    """One decided round of one check."""

    check_id: str
    round: int
    results: tuple[ProbeResult, ...]  # the merged round for the engine; empty: no data
    counted: bool  # a failure reached quorum
    failing: tuple[str, ...]  # locations whose round failed, earliest first
    passing: tuple[str, ...]
    required: int
    reporting: int  # locations in the denominator


@dataclass(frozen=True, slots=True)
class QuorumOutput:
    decisions: list[Decision]
    locations: list[LocationState]  # every known location, by name
    changed: list[LocationState]  # those whose state changed in this call


@dataclass
class _Round:
    at: float  # earliest start seen
    seen: dict[str, tuple[ProbeResult, ...]] = field(default_factory=dict)


@dataclass
class _Location:
    state: str = NO_DATA
    since: float | None = None
    last_seen: float | None = None
    latest: dict[str, tuple[float, bool]] = field(default_factory=dict)  # check -> (at, unr.)
    last_answer: float | None = None  # latest start of a round that got an HTTP answer
    down_since: dict[str, float] = field(default_factory=dict)  # check -> unreachable run start


def _failed(results: Sequence[ProbeResult], reasons: frozenset[str]) -> bool:
    return any(r.reason.value in reasons for r in results)


def _unreachable(results: Sequence[ProbeResult]) -> bool:
    return bool(results) and all(r.reason.value in TRANSPORT_REASONS for r in results)


def _hold(checks: Mapping[str, CheckSpec], policy: QuorumPolicy) -> float:
    slowest = max((s.interval + s.timeout for s in checks.values()), default=0.0)
    return slowest + policy.settle


class Quorum:
    """Merges the locations' observations of every check; see the module docstring."""

    def __init__(
        self,
        checks: Mapping[str, CheckSpec],
        policy: QuorumPolicy,
        locations: Iterable[str] = (),
    ) -> None:
        if policy.quorum < 0:
            raise ValueError("quorum must be MAJORITY (0) or at least 1")
        self.policy = policy
        self.checks = dict(checks)
        self.late = 0  # observations dropped: their round was already decided
        self._locations: dict[str, _Location] = {name: _Location() for name in locations}
        self._pending: dict[str, dict[int, _Round]] = {}
        self._decided: dict[str, int] = {}  # check -> last decided round
        self._hold = _hold(self.checks, policy)

    def reconfigure(
        self, checks: Mapping[str, CheckSpec], policy: QuorumPolicy, locations: Iterable[str] = ()
    ) -> None:
        """New checks and policy; newly expected `locations` start as no data."""
        self.policy = policy
        self._hold = _hold(checks, policy)
        for name in locations:
            self._locations.setdefault(name, _Location())
        self.checks = dict(checks)
        for gone in set(self._pending) - set(checks):
            del self._pending[gone]
        for loc in self._locations.values():
            loc.latest = {c: v for c, v in loc.latest.items() if c in checks}
            loc.down_since = {c: v for c, v in loc.down_since.items() if c in checks}

    def decided(self) -> dict[str, int]:
        """check -> the last round decided (saved by the leader with its feed cursor)."""
        return dict(self._decided)

    def resume(self, decided: Mapping[str, int]) -> None:
        """Rounds up to these were decided by an earlier leader: replayed observations of
        them are late (dropped), never counted twice."""
        for check_id, number in decided.items():
            if number > self._decided.get(check_id, number - 1):
                self._decided[check_id] = number

    def observe(self, location: str, check_id: str, results: Sequence[ProbeResult]) -> bool:
        """Record one location's round of a check; False when unknown, empty or late."""
        spec = self.checks.get(check_id)
        if spec is None or not results:
            return False
        at = min(r.at for r in results)
        loc = self._locations.setdefault(location, _Location())
        if loc.last_seen is None or at > loc.last_seen:
            loc.last_seen = at
        unreachable = _unreachable(results)
        if not unreachable:
            if loc.last_answer is None or at > loc.last_answer:
                loc.last_answer = at
            loc.down_since.pop(check_id, None)
        elif at < loc.down_since.get(check_id, float("inf")):
            loc.down_since[check_id] = at
        previous = loc.latest.get(check_id)
        if previous is None or at >= previous[0]:
            loc.latest[check_id] = (at, unreachable)
        number = round_number(check_id, spec.interval, at)
        if number <= self._decided.get(check_id, number - 1):
            self.late += 1
            return False
        rounds = self._pending.setdefault(check_id, {})
        rnd = rounds.get(number)
        if rnd is None:
            rnd = rounds[number] = _Round(at)
        rnd.at = min(rnd.at, at)
        rnd.seen[location] = tuple(results)
        return True

    # -- locations ------------------------------------------------------------------------

    def _judge_locations(
        self, now: float
    ) -> tuple[list[LocationState], dict[str, tuple[int, int]]]:
        since = now - self.policy.location_timeout
        counts: dict[str, tuple[int, int]] = {}
        for name, loc in self._locations.items():
            seen = down = 0
            for at, unreachable in loc.latest.values():
                if at >= since:
                    seen += 1
                    down += unreachable
            counts[name] = (seen, down)
        live = {
            n
            for n, loc in self._locations.items()
            if loc.last_seen is not None and loc.last_seen >= since
        }
        dark = {
            n for n in live if counts[n][0] >= MIN_CHECKS_FOR_LOSS and counts[n][0] == counts[n][1]
        }
        answering = live - dark
        changed: list[LocationState] = []
        for name, loc in self._locations.items():
            if name not in live:
                state = NO_DATA
            elif name in dark and answering:
                state = LOST
            else:
                state = OK
            if state != loc.state:
                loc.state = state
                loc.since = now if state != NO_DATA or loc.last_seen is None else loc.last_seen
                changed.append(self._view(name, counts[name]))
        return changed, counts

    def _view(self, name: str, count: tuple[int, int]) -> LocationState:
        loc = self._locations[name]
        return LocationState(name, loc.state, loc.since, loc.last_seen, count[0], count[1])

    def locations(self, now: float) -> list[LocationState]:
        since = now - self.policy.location_timeout
        out = []
        for name in sorted(self._locations):
            recent = [u for at, u in self._locations[name].latest.values() if at >= since]
            out.append(self._view(name, (len(recent), sum(recent))))
        return out

    # -- rounds ---------------------------------------------------------------------------

    def decide(self, now: float) -> QuorumOutput:
        """Judge the locations, then decide every round that is due, in order per check."""
        changed, counts = self._judge_locations(now)
        live = [(n, loc) for n, loc in self._locations.items() if loc.state == OK]
        since = now - self.policy.location_timeout
        decisions: list[Decision] = []
        for check_id in list(self._pending):
            rounds = self._pending[check_id]
            spec = self.checks[check_id]
            # The locations reporting THIS check: with shards, one agent of a location
            # may be gone while the location's other agents report their checks.
            reporting = frozenset(
                n
                for n, loc in live
                if (seen := loc.latest.get(check_id)) is not None and seen[0] >= since
            )
            for number in sorted(rounds):
                rnd = rounds[number]
                complete = bool(reporting) and reporting <= rnd.seen.keys()
                due = now >= rnd.at + spec.timeout + self.policy.settle
                overflow = len(rounds) > MAX_PENDING_ROUNDS
                if not (complete or due or overflow):
                    break
                decision = self._merge(check_id, number, rnd, spec, reporting)
                if not overflow and now < rnd.at + self._hold and self._unproven(rnd, decision):
                    break  # held: a failing location may be losing its own network
                del rounds[number]
                self._decided[check_id] = number
                decisions.append(decision)
            if not rounds:
                del self._pending[check_id]
        views = [self._view(name, counts[name]) for name in sorted(self._locations)]
        return QuorumOutput(decisions, views, changed)

    def _merge(
        self, check_id: str, number: int, rnd: _Round, spec: CheckSpec, reporting: frozenset[str]
    ) -> Decision:
        seen = sorted(
            (
                (min(r.at for r in res), loc, res)
                for loc, res in rnd.seen.items()
                if loc in reporting
            ),
        )
        failing = [(loc, res) for _, loc, res in seen if _failed(res, spec.failure_reasons)]
        passing = [(loc, res) for _, loc, res in seen if not _failed(res, spec.failure_reasons)]
        required = self.policy.required(len(reporting))
        counted = bool(failing) and len(failing) >= required
        if counted:
            results = failing[0][1]
        elif passing:
            results = passing[0][1]
        else:
            results = ()
        return Decision(
            check_id,
            number,
            results,
            counted,
            tuple(loc for loc, _ in failing),
            tuple(loc for loc, _ in passing),
            required,
            len(reporting),
        )

    def _unproven(self, rnd: _Round, decision: Decision) -> bool:
        """The failure counts only thanks to locations whose observation is unreachable
        and that got no answer from any check since this check's unreachable run began
        there: each may be losing its own network
        (then it is found `lost` within one interval and held out). Like the single-node
        guard, such a round waits for an answer from that location, its loss, or the
        hold (slowest interval + timeout + settle), whichever comes first."""
        if not decision.counted:
            return False
        proven = 0
        for name in decision.failing:
            loc = self._locations[name]
            if not _unreachable(rnd.seen[name]):
                proven += 1
            elif loc.last_answer is not None and loc.last_answer >= loc.down_since.get(
                decision.check_id, rnd.at
            ):
                proven += 1  # an answer since this check's unreachable run began
        return proven < decision.required

    def pending_rounds(self) -> int:
        return sum(len(r) for r in self._pending.values())
