"""Confirmation and adaptive-evidence rounds of the scheduler (prober/runner.py).

The extra rounds a check gets besides its regular schedule; the rules of when they are
due live in prober/confirm.py (Confirmer, Evidence), this module schedules them:

- Adaptive rounds (prober/confirm.py Evidence): with `undecided` (component -> the
  engine's statistics want more evidence now, Engine.undecided), a sparse check (under
  one probe per second) gets an extra round about EVIDENCE_GAP after each of its rounds
  while the answer is yes, at most `evidence` per suspicion, never beside a round in
  flight nor during a confirmation series; counted in `evidence_rounds`; left out of
  uptime as confirmation rounds are.
- Confirmation rounds (prober/confirm.py): when a check's outcome changes (every probe
  failed, or it got through again), up to `confirm` extra rounds follow a couple of
  seconds apart, until a round disagrees with the change. They are ordinary rounds for
  `on_round`, counted in `confirmation_rounds`; each is scheduled when the previous one
  starts, and one that finds the previous round still running (a hanging target) runs
  beside it, detached (no watchdog: the probe keeps its own deadline), when the rounds
  are at least SIDE_BY_SIDE_GAP apart (else the series ends there). None falls within
  half a gap of a regular round (it goes one gap after it). The regular schedule never
  moves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable, Coroutine
from typing import Any

from prober.clock import Clock
from prober.config.model import Check
from prober.confirm import (
    EVIDENCE_GAP,
    JITTER,
    Confirmer,
    Evidence,
    confirm_gap,
    down,
    sparse,
)
from prober.probes.result import ProbeResult

_DUE = 0
_WATCHDOG = 1
_CONFIRM = 2
_EVIDENCE = 3
# Confirmation rounds run beside a round still in flight only when they are at least this
# far apart: closer ones would be one burst at one moment, not evidence spread over time
# (an interval under 7 s gets its evidence from its regular rounds).
SIDE_BY_SIDE_GAP = 0.5


@dataclasses.dataclass(eq=False, slots=True)
class _Slot:
    """Scheduling state of one check."""

    check: Check
    key: int  # heap entries name slots by key: tuples of numbers are not scanned by the GC
    active: bool = True
    round_no: int = 0
    task: asyncio.Task[None] | None = None
    reporting: bool = False  # the current round is inside on_round
    watchdog_round: int = -1  # round cancelled by the watchdog
    next_due: float = 0.0  # monotonic time of the next regular round
    confirmer: Confirmer = dataclasses.field(default_factory=Confirmer)
    evidence: Evidence = dataclasses.field(default_factory=Evidence)
    evidence_due: bool = False  # an adaptive round is scheduled


class ExtraRounds:
    """The confirmation and adaptive-evidence part of `Runner` (a mixin: the scheduler
    provides the heap, the launch and the round itself)."""

    _confirm: int
    _undecided: Callable[[str], bool] | None
    _extra: int
    _rng: random.Random
    _confirmations: int
    _clock: Clock
    _rounds: int
    _stopping: bool
    _tasks: set[asyncio.Task[None]]
    _evidence: int

    def _init_extra(
        self,
        confirm: int,
        rng: random.Random | None,
        undecided: Callable[[str], bool] | None,
        evidence: int,
    ) -> None:
        if confirm < 0:
            raise ValueError("confirm must be at least 0")
        self._confirm = confirm
        # adaptive sampling (prober/confirm.py Evidence): component -> the engine wants
        # more evidence now; None turns it off
        self._undecided = undecided
        self._evidence = evidence
        self._extra = 0
        self._rng = rng or random.Random()
        self._confirmations = 0

    @property
    def evidence_rounds(self) -> int:
        """Adaptive rounds started while the engine was undecided (also in
        `rounds_started`)."""
        return self._extra

    @property
    def confirmation_rounds(self) -> int:
        """Confirmation rounds started (also counted in `rounds_started`)."""
        return self._confirmations

    def _push(self, when: float, kind: int, slot: _Slot, round_no: int) -> None:
        raise NotImplementedError

    def _kick(self) -> None:
        raise NotImplementedError

    def _launch(self, slot: _Slot, due: float, now: float, confirmation: bool) -> None:
        raise NotImplementedError

    def _round(
        self,
        slot: _Slot,
        due: float,
        round_no: int,
        confirmation: bool = False,
        detached: bool = False,
    ) -> Coroutine[Any, Any, None]:
        raise NotImplementedError

    def _fire_confirmation(self, slot: _Slot, due: float, now: float, series: int) -> None:
        if series != slot.confirmer.series:
            return  # the series ended (a round disagreed, or a reload)
        busy = slot.task is not None and not slot.task.done()
        gap = confirm_gap(slot.check.interval, max(1, self._confirm))
        if busy and gap < SIDE_BY_SIDE_GAP:
            slot.confirmer.drop()  # dense rounds: the regular ones carry the evidence
            return
        self._confirmations += 1
        more = slot.confirmer.take()
        if busy:
            # The previous round still waits on a hanging target: this one runs beside it
            # (detached: no watchdog, the probe keeps its own deadline), so a timeout does
            # not space the evidence by a timeout each.
            self._rounds += 1
            task = asyncio.get_running_loop().create_task(
                self._round(slot, due, -1, confirmation=True, detached=True)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._launch(slot, due, now, confirmation=True)
        if more:
            self._schedule_confirmation(slot, now)

    def _fire_evidence(self, slot: _Slot, due: float, now: float) -> None:
        slot.evidence_due = False
        if slot.confirmer.direction is not None:
            return  # a confirmation series probes every second already
        if slot.task is not None and not slot.task.done():
            return  # never beside a round in flight: the next result asks again
        self._extra += 1
        self._launch(slot, due, now, confirmation=True)

    def _after_round(self, slot: _Slot, results: list[ProbeResult], confirmation: bool) -> None:
        """Start a series of confirmation rounds when a regular round's outcome changed,
        or end it when a round disagrees (prober/confirm.py)."""
        if slot.confirmer.after(down(results), confirmation) and not self._stopping:
            self._schedule_confirmation(slot, self._clock.monotonic())
        if (
            self._undecided is not None
            and not self._stopping
            and not slot.evidence_due
            and slot.confirmer.direction is None
            and sparse(slot.check.requests_per_round, slot.check.interval)
            and slot.evidence.want(self._undecided(slot.check.component))
        ):
            # adaptive sampling: the engine is undecided about this component, one more
            # round about EVIDENCE_GAP from now (none within half a gap of a regular one)
            now = self._clock.monotonic()
            when = now + EVIDENCE_GAP * self._rng.uniform(1.0 - JITTER, 1.0 + JITTER)
            if slot.next_due - when >= EVIDENCE_GAP / 2.0:
                slot.evidence_due = True
                self._push(when, _EVIDENCE, slot, 0)
                self._kick()

    def _schedule_confirmation(self, slot: _Slot, now: float) -> None:
        """The next round of the series, one gap (jittered) from `now`: scheduled when the
        previous one starts, not when it ends; one that would fall within half a gap of
        the next regular round goes one gap after it."""
        gap = confirm_gap(slot.check.interval, max(1, self._confirm))
        when = now + gap * self._rng.uniform(1.0 - JITTER, 1.0 + JITTER)
        if abs(when - slot.next_due) < gap / 2.0:
            when = slot.next_due + gap  # after the regular round, not on top of it
        self._push(when, _CONFIRM, slot, slot.confirmer.series)
        self._kick()
