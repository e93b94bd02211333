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
* Confirmation rounds (prober/confirm.py: quick extra rounds when a location's outcome of
  a check changes) are keyed `(n, k)`: the k-th extra round a location started within
  regular round n's interval (n = `confirmation_round`: the interval it started in), k
  written by the agent (prober/distributed/codec.py). A regular round is `(n, 0)`; keys
  are decided in order per check. Confirmation k of round n is paired across locations:
  a reporting location that sent it gives its fresh result; one that did not (its own
  outcome did not change, so it has no doubt) counts with its latest decided observation
  of the check when that started within one interval before the round (carried forward:
  it stays in the evidence, so one location's failures never reach quorum alone); one
  with nothing that recent is not in the evidence. `required` is taken over the
  reporting locations as for regular rounds. The merged round holds only FRESH results
  (the earliest fresh failing location's when the failure counts, else the earliest
  fresh passing one's; else no data): a carried result was fed once already. A
  confirmation round is decided at once when every reporting location sent it or will
  not (mirroring the runner's Confirmer from the rows it sent: no series under way, or
  already past this key), else at `at + timeout + settle` as regular rounds; the
  lost-location hold-out and the unreachable hold apply unchanged (a carried
  unreachable result is judged as a fresh one).
* Rounds are decided in order per check; an observation for a round already decided is
  late and dropped (counted in `late`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prober.domain.observation import ProbeResult
from prober.domain.quorum_rounds import (
    TRANSPORT_REASONS,
    CheckSpec,
    Decision,
    Evidence,
    Key,
    Round,
    Series,
    confirmation_round,
    evidence,
    key_of,
    merge,
    phase,
    round_number,
    unreachable,
)

__all__ = [
    "LOCATION_STATES",
    "LOST",
    "MAJORITY",
    "NO_DATA",
    "OK",
    "TRANSPORT_REASONS",
    "CheckSpec",
    "Decision",
    "LocationState",
    "Quorum",
    "QuorumOutput",
    "QuorumPolicy",
    "confirmation_round",
    "key_of",
    "phase",
    "round_number",
]
OK = "ok"
LOST = "lost"
NO_DATA = "no_data"
LOCATION_STATES = (OK, LOST, NO_DATA)
MAJORITY = 0  # quorum setting: a majority of the reporting locations
MAX_PENDING_ROUNDS = 256  # per check (confirmations included): older ones decided at once
MIN_CHECKS_FOR_LOSS = 2  # one unreachable check alone does not prove a location's loss


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    quorum: int = MAJORITY  # MAJORITY, or how many locations must see a failure
    location_timeout: float = 60.0  # silent this long: no data, out of the denominator
    settle: float = 2.0  # wait past a round's timeout for late locations (agent batching)
    confirmations: int = 13  # the runner's series length (prober.confirm.CONFIRM_PROBES)

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
class QuorumOutput:
    decisions: list[Decision]
    locations: list[LocationState]  # every known location, by name
    changed: list[LocationState]  # those whose state changed in this call


@dataclass
class _Location:
    state: str = NO_DATA
    since: float | None = None
    last_seen: float | None = None
    latest: dict[str, tuple[float, bool]] = field(default_factory=dict)  # check -> (at, unr.)
    last_answer: float | None = None  # latest start of a round that got an HTTP answer
    down_since: dict[str, float] = field(default_factory=dict)  # check -> unreachable run start
    series: dict[str, Series] = field(default_factory=dict)  # check -> its view


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
        self._pending: dict[str, dict[Key, Round]] = {}
        self._decided: dict[str, Key] = {}  # check -> last decided round
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
            loc.series = {c: v for c, v in loc.series.items() if c in checks}

    def decided(self) -> dict[str, int]:
        """check -> the last round decided (saved by the leader with its feed cursor)."""
        return {c: key[0] for c, key in self._decided.items()}

    def decided_confirmations(self) -> dict[str, int]:
        """check -> k, when the last key decided is confirmation k of `decided()[check]`."""
        return {c: key[1] for c, key in self._decided.items() if key[1]}

    def resume(
        self, decided: Mapping[str, int], confirmations: Mapping[str, int] | None = None
    ) -> None:
        """Rounds up to these (and confirmation k of the last, from `confirmations`) were
        decided by an earlier leader: replayed observations of them are late (dropped),
        never counted twice."""
        extra = confirmations or {}
        for check_id, number in decided.items():
            key = (number, extra.get(check_id, 0))
            if check_id not in self._decided or key > self._decided[check_id]:
                self._decided[check_id] = key

    def observe(
        self,
        location: str,
        check_id: str,
        results: Sequence[ProbeResult],
        confirmation: int = 0,
    ) -> bool:
        """Record one location's round of a check (`confirmation`: its index k, 0 for a
        regular round); False when unknown, empty or late."""
        spec = self.checks.get(check_id)
        if spec is None or not results:
            return False
        at = min(r.at for r in results)
        key = key_of(check_id, spec.interval, at, confirmation)
        loc = self._locations.setdefault(location, _Location())
        series = loc.series.get(check_id)
        if series is None:
            series = loc.series[check_id] = Series()
        series.sent(key, results, self.policy.confirmations)
        if loc.last_seen is None or at > loc.last_seen:
            loc.last_seen = at
        down = unreachable(results)
        if not down:
            if loc.last_answer is None or at > loc.last_answer:
                loc.last_answer = at
            loc.down_since.pop(check_id, None)
        elif at < loc.down_since.get(check_id, float("inf")):
            loc.down_since[check_id] = at
        previous = loc.latest.get(check_id)
        if previous is None or at >= previous[0]:
            loc.latest[check_id] = (at, down)
        decided = self._decided.get(check_id)
        if decided is not None and key <= decided:
            self.late += 1
            return False
        rounds = self._pending.setdefault(check_id, {})
        rnd = rounds.get(key)
        if rnd is None:
            rnd = rounds[key] = Round(at)
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
            for at, gone in loc.latest.values():
                if at >= since:
                    seen += 1
                    down += gone
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
            for key in sorted(rounds):
                rnd = rounds[key]
                complete = bool(reporting) and all(
                    n in rnd.seen or (key[1] and self._series(n, check_id).done_with(key))
                    for n in reporting
                )
                due = now >= rnd.at + spec.timeout + self.policy.settle
                overflow = len(rounds) > MAX_PENDING_ROUNDS
                if not (complete or due or overflow):
                    break
                found = evidence(key, rnd, spec, reporting, self._views(check_id))
                required = self.policy.required(len(reporting))
                decision = merge(check_id, key, found, spec, len(reporting), required)
                if (
                    not overflow
                    and now < rnd.at + self._hold
                    and self._unproven(rnd, decision, found)
                ):
                    break  # held: a failing location may be losing its own network
                del rounds[key]
                self._decided[check_id] = key
                for name, results in rnd.seen.items():
                    self._series(name, check_id).carry = results
                decisions.append(decision)
            if not rounds:
                del self._pending[check_id]
        views = [self._view(name, counts[name]) for name in sorted(self._locations)]
        return QuorumOutput(decisions, views, changed)

    def _views(self, check_id: str) -> dict[str, Series]:
        return {
            name: view
            for name, loc in self._locations.items()
            if (view := loc.series.get(check_id)) is not None
        }

    def _series(self, location: str, check_id: str) -> Series:
        loc = self._locations[location]
        series = loc.series.get(check_id)
        if series is None:
            series = loc.series[check_id] = Series()
        return series

    def _unproven(
        self,
        rnd: Round,
        decision: Decision,
        found: Evidence,
    ) -> bool:
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
            if not unreachable(found[name][0]):
                proven += 1
            elif loc.last_answer is not None and loc.last_answer >= loc.down_since.get(
                decision.check_id, rnd.at
            ):
                proven += 1  # an answer since this check's unreachable run began
        return proven < decision.required

    def pending_rounds(self) -> int:
        return sum(len(r) for r in self._pending.values())
