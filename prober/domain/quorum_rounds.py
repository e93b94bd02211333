"""One round of one check across locations: its key, each location's evidence, the merge.

The rules are in prober/domain/quorum.py's docstring; this module holds the per-round
parts of them (pure: no I/O, no clock).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from prober.domain.observation import ProbeResult

TRANSPORT_REASONS = frozenset({"connect", "dns", "timeout"})

Key = tuple[int, int]  # (regular round n, confirmation index k; 0 for the regular round)
# location -> (its results for the round, fresh: False when carried forward)
Evidence = Mapping[str, tuple[tuple[ProbeResult, ...], bool]]


def phase(check_id: str, interval: float) -> float:
    """The check's stable phase within its interval (same hash as the runner's)."""
    digest = hashlib.blake2b(check_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 * interval


def round_number(check_id: str, interval: float, at: float) -> int:
    return round((at - phase(check_id, interval)) / interval)


def confirmation_round(check_id: str, interval: float, at: float) -> int:
    """The regular round whose interval a confirmation round started in (the runner never
    starts one within half a gap before a regular round: the floor is that round's)."""
    return math.floor((at - phase(check_id, interval)) / interval)


def key_of(check_id: str, interval: float, at: float, confirmation: int = 0) -> Key:
    """The key of a round that started at `at` (`confirmation`: its index k, 0: regular)."""
    if confirmation:
        return (confirmation_round(check_id, interval, at), confirmation)
    return (round_number(check_id, interval, at), 0)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    interval: float
    timeout: float
    failure_reasons: frozenset[str]


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
    confirmation: int = 0  # k of a confirmation round; 0: the regular round
    carried: tuple[str, ...] = ()  # locations counted with their latest outcome (k > 0)


@dataclass
class Round:
    at: float  # earliest start seen
    seen: dict[str, tuple[ProbeResult, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Series:
    """A location's view of one check, from the rows it sent in their order: the runner's
    Confirmer mirrored (is a confirmation series under way there?), the last key sent, and
    its latest decided observation (carried forward into confirmation rounds)."""

    last_down: bool = False
    direction: bool | None = None
    left: int = 0
    last_key: Key = (-(2**62), 0)
    carry: tuple[ProbeResult, ...] = ()

    def sent(self, key: Key, results: Sequence[ProbeResult], probes: int) -> None:
        """Mirror prober/confirm.py Confirmer.take/after for one row of this location."""
        if key > self.last_key:
            self.last_key = key
        outcome = not results[0].ok if len(results) == 1 else all(not r.ok for r in results)
        if key[1]:
            self.left = max(0, self.left - 1)
        changed = outcome != self.last_down
        self.last_down = outcome
        if self.direction is not None:
            if outcome == self.direction:
                return
            self.direction, self.left = None, 0
        if not key[1] and changed and probes > 0:
            self.direction, self.left = outcome, probes

    def done_with(self, key: Key) -> bool:
        """Whether this location will send no row for confirmation `key` any more: it is
        past it, or it reported round n and has no series under way."""
        if self.last_key > key:
            return True
        started = self.last_key >= (key[0], 0)
        return started and (self.direction is None or self.left == 0)


def failed(results: Sequence[ProbeResult], reasons: frozenset[str]) -> bool:
    return any(r.reason.value in reasons for r in results)


def unreachable(results: Sequence[ProbeResult]) -> bool:
    return bool(results) and all(r.reason.value in TRANSPORT_REASONS for r in results)


def evidence(
    key: Key,
    rnd: Round,
    spec: CheckSpec,
    reporting: frozenset[str],
    series: Mapping[str, Series],
) -> dict[str, tuple[tuple[ProbeResult, ...], bool]]:
    """The reporting locations' evidence for a round: what each sent (fresh); for a
    confirmation round, a location that sent nothing counts with its latest decided
    observation when that started within one interval before the round (carried)."""
    out = {n: (res, True) for n, res in rnd.seen.items() if n in reporting}
    if key[1]:
        since = rnd.at - spec.interval
        for name in reporting - out.keys():
            view = series.get(name)
            if view is not None and view.carry and min(r.at for r in view.carry) > since:
                out[name] = (view.carry, False)
    return out


def merge(
    check_id: str, key: Key, found: Evidence, spec: CheckSpec, reporting: int, required: int
) -> Decision:
    """The decision of one round from its evidence (see prober/domain/quorum.py)."""
    seen = sorted((min(r.at for r in res), loc, res, fresh) for loc, (res, fresh) in found.items())
    failing = [
        (loc, res, fresh) for _, loc, res, fresh in seen if failed(res, spec.failure_reasons)
    ]
    passing = [
        (loc, res, fresh) for _, loc, res, fresh in seen if not failed(res, spec.failure_reasons)
    ]
    counted = bool(failing) and len(failing) >= required
    # Only fresh results go to the engine: a carried one was fed with its own round.
    pool = failing if counted else passing
    results = next((res for _, res, fresh in pool if fresh), ())
    return Decision(
        check_id,
        key[0],
        results,
        counted,
        tuple(loc for loc, _, _ in failing),
        tuple(loc for loc, _, _ in passing),
        required,
        reporting,
        key[1],
        tuple(loc for _, loc, _, fresh in seen if not fresh),
    )
