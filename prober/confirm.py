"""Confirmation probes: quick extra rounds when a check's outcome changes.

A check probed once every 15 s gives one sample per interval: a real total outage and a
2% background of 500s cannot be told apart in two rounds from that alone. So when a
check's round outcome changes (every probe of the round failed after a round that did
not, or a round got through after one where every probe failed), the runner probes it
again up to `CONFIRM_PROBES` times, about 1 s apart (`confirm_gap`), and stops the series
as soon as a round disagrees with the change. A confirmation is an ordinary round of the
check: it goes to the engine like any other, and the sequential statistics there (the
CUSUMs, the fast path, the exit run) judge it. Probing more while the outcome is in doubt
only adds evidence; it changes no decision rule, so the false-alarm rate over time stays
the one the detector sets (optional sampling does not bias a likelihood-ratio test).

Cost: background noise at rate p starts a series on about p of the rounds, and the first
confirmation usually ends it, so the extra load is about p probes per round (2% at 2%
noise); a real change costs at most `CONFIRM_PROBES` extra rounds.

A hanging target (every probe waits for its timeout) gives its first evidence only a
timeout after each probe starts. Two rules keep its fourteen failures within one interval
of the first hanging probe's start (so a total outage is major within two intervals):

- Hedge: a round still in flight `hedge_after` past its start (HEDGE_FACTOR times the
  check's recent answer time, at least HEDGE_MIN) starts the series at once, presuming
  the change (`Confirmer.hedge`): a changed outcome is already likely. The round's own
  outcome then decides as for any series: down agrees, an answer ends the series and
  withdraws its rounds still in flight (the runner cancels them, nothing is reported), so
  a merely slow round adds no slow rounds of its own to the latency statistics.
- The rounds of a series whose probes hang (started by a hedge, or by a round that timed
  out) are spaced so that the last one starts by `interval - timeout - HANG_SLACK` after
  the first hanging round began (`hang_gap`), never closer than SIDE_BY_SIDE_GAP.

A check whose recent answers are slow (so slow that the hedge would come after
`hedge_latest`) gets no hedge: its series starts at the first timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from prober.domain.levels import WANT_END, WANT_NONE
from prober.probes.result import ProbeResult

# Confirmation rounds after a change of outcome, at most: with the first round, fourteen
# probes, what the fast path needs at one probe per 15 s to call a total outage major with
# its false-alarm rate controlled over time (prober/domain/state.py)
CONFIRM_PROBES = 13
CONFIRM_GAP = 1.0  # seconds between them (capped at interval / (CONFIRM_PROBES + 1))
# Adaptive sampling: while the engine's statistics for a component are undecided
# (Engine.undecided), its checks get an extra round every EVIDENCE_GAP seconds, at most
# EVIDENCE_BUDGET per suspicion (a suspicion ends when the engine is decided again):
# an hour of it at most, enough for the end of a half-hour 30% episode
EVIDENCE_GAP = 1.0
# ... and this often while an open episode's end test counts (Engine.undecided is
# WANT_END): it needs about 40 clean probes to end a 30% episode; a test per probe whose
# excursions start at the regular rate, so sampling it denser does not raise its error
END_EVIDENCE_GAP = 0.5
EVIDENCE_BUDGET = 3600
# ... only for checks probed more sparsely than this (probes per second): a check with
# 10 requests every 5 s already has the evidence; sampling exists to give one probe per
# 15 s about as much, while the statistics are undecided
EVIDENCE_RATE = 1.0
# A dense check (EVIDENCE_RATE or more) gets adaptive rounds only while an open episode's
# end test counts (WANT_END), of one request each, every DENSE_END_GAP, at most
# DENSE_END_BUDGET per suspicion (30 s of them: 300 probes): at 10 requests every 5 s the
# end of a 30% episode needs about 50 clean probes (h is larger at the higher regular
# rate; more when the episode's own rate reads lower), 25 s at the regular two a second,
# about 4 s at twelve
DENSE_END_GAP = 0.1
DENSE_END_BUDGET = 300
JITTER = 0.1  # each gap is drawn in [1 - JITTER, 1 + JITTER] times the gap
# Confirmation rounds run beside a round still in flight only when they are at least this
# far apart: closer ones would be one burst at one moment, not evidence spread over time
# (an interval under 7 s gets its evidence from its regular rounds).
SIDE_BY_SIDE_GAP = 0.5
# Hedge: a round in flight this long past its start, and HEDGE_FACTOR times the check's
# recent answer time (a decaying maximum, halved every LATENCY_HALF_LIFE seconds), starts
# the confirmation series before its timeout (see above)
HEDGE_MIN = 1.0
HEDGE_FACTOR = 4.0
LATENCY_HALF_LIFE = 60.0
# the last round of a hanging series starts this long before the deadline that puts its
# timeout at one interval after the first hanging round began
HANG_SLACK = 0.5


# True inside a confirmation round's task (set by the runner): its results are evidence for
# the statistics but not a sample of time, so probe-based uptime leaves them out (they
# come in bursts right after a change and would weigh it many times over).
IN_CONFIRMATION: ContextVar[bool] = ContextVar("in_confirmation", default=False)


def in_confirmation() -> bool:
    """Whether the running round is a confirmation round (see IN_CONFIRMATION)."""
    return IN_CONFIRMATION.get()


def confirm_gap(interval: float, probes: int = CONFIRM_PROBES) -> float:
    """Seconds between confirmation rounds: 1 s, or less so the series fits in the
    interval before the next regular round."""
    return min(CONFIRM_GAP, interval / (probes + 1))


def hedge_latest(interval: float, timeout: float, probes: int = CONFIRM_PROBES) -> float:
    """The latest moment after a round's start at which a hedge still lets the whole
    series (`probes` rounds, SIDE_BY_SIDE_GAP apart at the most jittered) start by
    `interval - timeout - HANG_SLACK`."""
    spread = max(0, probes - 1) * SIDE_BY_SIDE_GAP * (1.0 + JITTER)
    return min(timeout, interval - timeout - HANG_SLACK - spread)


def hedge_after(
    normal: float, interval: float, timeout: float, probes: int = CONFIRM_PROBES, late: float = 0.0
) -> float | None:
    """Seconds after a round's start at which it is hedged, or None (no hedge: a series
    of `probes` rounds could not run beside one another within the interval, or the
    check's recent answers are too slow to tell a hang from them in time). `normal`: the
    check's recent answer time; `late`: how late the scheduler may fire it."""
    if probes < 1 or confirm_gap(interval, probes) < SIDE_BY_SIDE_GAP:
        return None  # dense rounds: the regular ones carry the evidence
    at = max(HEDGE_MIN, HEDGE_FACTOR * normal)
    return at if at + late <= hedge_latest(interval, timeout, probes) else None


def hang_gap(interval: float, timeout: float, elapsed: float, gaps: int, probes: int) -> float:
    """Seconds between the rounds of a series whose probes hang, `elapsed` after the first
    hanging round began, with `gaps` gaps still to come: the last round starts by
    `interval - timeout - HANG_SLACK` (its timeout within one interval of the first
    round's start), never closer than SIDE_BY_SIDE_GAP nor wider than the usual gap."""
    base = confirm_gap(interval, probes)
    if base < SIDE_BY_SIDE_GAP or gaps < 1:
        return base
    fit = (interval - timeout - HANG_SLACK - elapsed) / (gaps * (1.0 + JITTER))
    return min(base, max(SIDE_BY_SIDE_GAP, fit))


def down(results: Sequence[ProbeResult]) -> bool | None:
    """The round's outcome for confirmation: True when every probe failed, False when one
    got through, None without any result (a crashed probe tells nothing)."""
    if not results:
        return None
    return all(not r.ok for r in results)


@dataclass(slots=True)
class Confirmer:
    """Per-check confirmation state: the last outcome and the series under way."""

    probes: int = CONFIRM_PROBES
    last_down: bool = False  # a check starts presumed up: a first failing round is a change
    direction: bool | None = None  # the outcome a series confirms; None: no series
    left: int = 0
    series: int = 0  # bumped when a series starts or ends: stale confirmations are dropped

    def after(self, outcome: bool | None, confirmation: bool) -> bool:
        """Record a round's outcome; True when a series starts (its first confirmation
        round is due). A round that disagrees with the series under way ends it."""
        if outcome is None:
            return False
        changed = outcome != self.last_down
        self.last_down = outcome
        if self.direction is not None:
            if outcome == self.direction:
                return False  # agreed: the series goes on as scheduled
            self._end()
        if not confirmation and changed and self.probes > 0:
            self.series += 1
            self.direction = outcome
            self.left = self.probes
            return True
        return False

    def hedge(self) -> bool:
        """A round in flight is overdue (the hedge): start a series confirming a change to
        down before its outcome is known; True when it starts. Only from an up outcome
        with no series under way; the round's outcome then agrees or ends the series."""
        if self.probes <= 0 or self.running or self.last_down:
            return False
        self.series += 1
        self.direction = True
        self.left = self.probes
        return True

    @property
    def running(self) -> bool:
        """A series has rounds still to start. A spent series keeps its direction (a round
        that disagrees still ends it, withdrawing its rounds in flight) but no longer holds
        off adaptive rounds or a hedge: after thirteen agreeing confirmations of a
        recovery, the end test gets its evidence again."""
        return self.direction is not None and self.left > 0

    def take(self) -> bool:
        """A confirmation round starts; True when another may follow it."""
        self.left = max(0, self.left - 1)
        return self.left > 0

    def drop(self) -> None:
        """End the series under way (its next round cannot run)."""
        self._end()

    def _end(self) -> None:
        self.direction = None
        self.left = 0
        self.series += 1


@dataclass(slots=True)
class Latency:
    """A check's recent answer time: a maximum that halves every LATENCY_HALF_LIFE
    seconds (two floats per check). Timeouts are no answer and are not noted."""

    value: float = 0.0
    at: float = 0.0

    def normal(self, now: float) -> float:
        decay: float = 0.5 ** (max(0.0, now - self.at) / LATENCY_HALF_LIFE)
        return self.value * decay

    def note(self, seconds: float, now: float) -> None:
        self.value = max(seconds, self.normal(now))
        self.at = now


def sparse(requests_per_round: int, interval: float) -> bool:
    """Whether a check is probed sparsely enough for adaptive sampling of every kind (a
    dense one gets only the end test's: `evidence_plan`)."""
    return max(1, requests_per_round) / interval < EVIDENCE_RATE


def evidence_budget(budget: int, requests_per_round: int, interval: float) -> int:
    """Adaptive rounds per suspicion for a check: `budget` for a sparse one, at most
    DENSE_END_BUDGET for a dense one."""
    return budget if sparse(requests_per_round, interval) else min(budget, DENSE_END_BUDGET)


def evidence_plan(want: int, requests_per_round: int, interval: float) -> tuple[float, int] | None:
    """The adaptive round the engine's answer `want` (WANT_NONE, WANT_EVIDENCE, WANT_END)
    asks of a check: (gap, requests; 0 requests: a whole round), or None. A sparse check:
    whole rounds every EVIDENCE_GAP, every END_EVIDENCE_GAP while the end test counts. A
    dense check: only while the end test counts, one request every DENSE_END_GAP."""
    if want <= WANT_NONE:
        return None
    if sparse(requests_per_round, interval):
        return (END_EVIDENCE_GAP if want >= WANT_END else EVIDENCE_GAP), 0
    return (DENSE_END_GAP, 1) if want >= WANT_END else None


@dataclass(slots=True)
class Evidence:
    """Per-check adaptive sampling state: extra rounds spent in the current suspicion."""

    budget: int = EVIDENCE_BUDGET
    spent: int = 0

    def want(self, undecided: bool) -> bool:
        """After a round: True when another extra round is due (the statistics are
        undecided and the suspicion's budget is not spent). A decided verdict ends the
        suspicion and refills the budget."""
        if not undecided:
            self.spent = 0
            return False
        if self.spent >= self.budget:
            return False
        self.spent += 1
        return True
