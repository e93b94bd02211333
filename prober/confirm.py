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
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

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
EVIDENCE_BUDGET = 3600
# ... only for checks probed more sparsely than this (probes per second): a check with
# 10 requests every 5 s already has the evidence; sampling exists to give one probe per
# 15 s about as much, while the statistics are undecided
EVIDENCE_RATE = 1.0
JITTER = 0.1  # each gap is drawn in [1 - JITTER, 1 + JITTER] times the gap


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


def sparse(requests_per_round: int, interval: float) -> bool:
    """Whether a check is probed sparsely enough for adaptive sampling."""
    return max(1, requests_per_round) / interval < EVIDENCE_RATE


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
