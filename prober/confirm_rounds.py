"""Confirmation and adaptive-evidence rounds of the scheduler (prober/runner.py).

The extra rounds a check gets besides its regular schedule; the rules of when they are
due live in prober/confirm.py (Confirmer, Evidence), this module schedules them:

- Adaptive rounds (prober/confirm.py Evidence): with `undecided` (component -> the
  engine's statistics want more evidence now, Engine.undecided), a sparse check (under
  one probe per second) gets an extra round about EVIDENCE_GAP after each of its rounds
  while the answer is yes (END_EVIDENCE_GAP while it is WANT_END), at most `evidence`
  per suspicion; a dense check only while it is WANT_END, one request every
  DENSE_END_GAP, at most DENSE_END_BUDGET per suspicion (evidence_plan, evidence_budget);
  never beside a round in flight nor during a confirmation series;
  counted in `evidence_rounds`; left out of uptime as confirmation rounds are.
- Confirmation rounds (prober/confirm.py): when a check's outcome changes (every probe
  failed, or it got through again), up to `confirm` extra rounds follow a couple of
  seconds apart, until a round disagrees with the change. They are ordinary rounds for
  `on_round`, counted in `confirmation_rounds`; each is scheduled when the previous one
  starts, and one that finds the previous round still running (a hanging target) runs
  beside it, detached (no watchdog: the probe keeps its own deadline), when the rounds
  are at least SIDE_BY_SIDE_GAP apart (else the series ends there). None falls within
  half a gap of a regular round (it goes one gap after it). The regular schedule never
  moves.
- Hedge (prober/confirm.py): every round of a sparse check gets a hedge entry at
  `hedge_after` past its start (in the watchdog heap: it rides along with due wake-ups,
  at most WATCHDOG_SLACK late); a round still in flight then, with no series under way
  and an up outcome before it, starts a series at once. A series whose probes hang
  (hedged, or started by a round that timed out) is spaced by `hang_gap`. When a series
  ends because a round disagreed, its rounds still probing beside others are withdrawn
  (cancelled; they report nothing): they straddle the change the disagreeing round
  showed (`withdrawn_rounds`).
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
    JITTER,
    SIDE_BY_SIDE_GAP,
    Confirmer,
    Evidence,
    Latency,
    confirm_gap,
    down,
    evidence_plan,
    hang_gap,
    hedge_after,
)
from prober.probes.result import ProbeResult, Reason

_DUE = 0
_WATCHDOG = 1
_CONFIRM = 2
_EVIDENCE = 3
_HEDGE = 4  # in the watchdog heap


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
    evidence_requests: int = 0  # ... of this many requests (0: a whole round)
    launched_at: float = 0.0  # monotonic start of the round in `task`
    extra: bool = False  # the round in `task` is a confirmation or adaptive round
    latency: Latency = dataclasses.field(default_factory=Latency)
    series_gap: float = 0.0  # gap of the series under way
    # confirmation rounds probing beside another round -> their series (withdrawn when
    # the series ends by a disagreeing round; a round leaves it before it reports)
    side: dict[asyncio.Task[None], int] = dataclasses.field(default_factory=dict)


class ExtraRounds:
    """The confirmation and adaptive-evidence part of `Runner` (a mixin: the scheduler
    provides the heap, the launch and the round itself)."""

    _confirm: int
    _undecided: Callable[[str], int] | None
    _extra: int
    _rng: random.Random
    _confirmations: int
    _clock: Clock
    _rounds: int
    _stopping: bool
    _tasks: set[asyncio.Task[None]]
    _evidence: int
    _late: float  # how late a hedge entry may fire (the watchdog heap's slack)

    def _init_extra(
        self,
        confirm: int,
        rng: random.Random | None,
        undecided: Callable[[str], int] | None,
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
        self._hedges = 0
        self._withdrawn = 0

    @property
    def hedges(self) -> int:
        """Confirmation series started by a hedge (a round in flight past `hedge_after`)."""
        return self._hedges

    @property
    def withdrawn_rounds(self) -> int:
        """Confirmation rounds cancelled unreported: their series ended while they probed."""
        return self._withdrawn

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

    def _launch(
        self, slot: _Slot, due: float, now: float, confirmation: bool, requests: int = 0
    ) -> None:
        raise NotImplementedError

    def _round(
        self,
        slot: _Slot,
        due: float,
        round_no: int,
        confirmation: bool = False,
        detached: bool = False,
        requests: int = 0,
    ) -> Coroutine[Any, Any, None]:
        raise NotImplementedError

    def _fire_confirmation(self, slot: _Slot, due: float, now: float, series: int) -> None:
        if series != slot.confirmer.series:
            return  # the series ended (a round disagreed, or a reload)
        busy = slot.task is not None and not slot.task.done()
        if busy and slot.series_gap < SIDE_BY_SIDE_GAP:
            slot.confirmer.drop()  # dense rounds: the regular ones carry the evidence
            return
        self._confirmations += 1
        more = slot.confirmer.take()
        if busy:
            # The previous round still waits on a hanging target: this one runs beside it
            # (detached: no watchdog, the probe keeps its own deadline), so a timeout does
            # not space the evidence by a timeout each.
            self._side(slot, due, series)
        else:
            self._launch(slot, due, now, confirmation=True)
        if more:
            self._schedule_confirmation(slot, now)

    def _side(self, slot: _Slot, due: float, series: int | None) -> None:
        """A round beside the one in flight (detached: no watchdog, the probe keeps its own
        deadline): a confirmation round of `series` (withdrawable), or with None a regular
        round due while an extra round is in flight (the schedule never yields to one)."""
        self._rounds += 1
        task = asyncio.get_running_loop().create_task(
            self._round(slot, due, -1, confirmation=series is not None, detached=True)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if series is not None:
            slot.side[task] = series

    def _fire_evidence(self, slot: _Slot, due: float, now: float) -> None:
        slot.evidence_due = False
        if slot.confirmer.running:
            return  # a confirmation series probes every second already
        if slot.task is not None and not slot.task.done():
            return  # never beside a round in flight: the next result asks again
        self._extra += 1
        self._launch(slot, due, now, confirmation=True, requests=slot.evidence_requests)

    def _schedule_hedge(self, slot: _Slot, now: float) -> None:
        """At a round's launch: its hedge entry, if the check gets one."""
        if self._confirm <= 0:
            return
        check = slot.check
        after = hedge_after(
            slot.latency.normal(now), check.interval, check.timeout, self._confirm, self._late
        )
        if after is not None:
            self._push(now + after, _HEDGE, slot, slot.round_no)

    def _fire_hedge(self, slot: _Slot, round_no: int, now: float) -> None:
        """A round still in flight past `hedge_after`: start the series now."""
        task = slot.task
        if (
            self._stopping
            or task is None
            or task.done()
            or slot.round_no != round_no
            or slot.reporting
            or not slot.confirmer.hedge()
        ):
            return
        self._hedges += 1
        check = slot.check
        slot.series_gap = hang_gap(
            check.interval, check.timeout, now - slot.launched_at, self._confirm - 1, self._confirm
        )
        self._push(now, _CONFIRM, slot, slot.confirmer.series)  # the first one: now
        self._kick()

    def _note_latency(self, slot: _Slot, results: list[ProbeResult]) -> None:
        answered = [r.duration for r in results if r.reason is not Reason.TIMEOUT]
        if answered:
            slot.latency.note(max(answered), self._clock.monotonic())

    def _withdraw(self, slot: _Slot, series: int) -> None:
        """Cancel the rounds of `series` still probing beside others (not yet reporting)."""
        for task, of in list(slot.side.items()):
            if of == series:
                del slot.side[task]
                if not task.done():
                    task.cancel()
                    self._withdrawn += 1

    def _after_round(
        self, slot: _Slot, results: list[ProbeResult], confirmation: bool, whole: bool = True
    ) -> None:
        """Start a series of confirmation rounds when a regular round's outcome changed,
        or end it when a round disagrees (prober/confirm.py). A round that is not `whole`
        (an adaptive round of one request of a dense check) is evidence for the engine
        only: one failed request is not a round's outcome."""
        self._note_latency(slot, results)
        confirmer = slot.confirmer
        series, direction = confirmer.series, confirmer.direction
        started = confirmer.after(down(results) if whole else None, confirmation)
        if direction is not None and confirmer.series != series:
            self._withdraw(slot, series)  # it ended: its rounds in flight straddle the change
        if started and not self._stopping:
            now = self._clock.monotonic()
            check = slot.check
            if results and all(r.reason is Reason.TIMEOUT for r in results):
                # its probes hang: the series fits its timeouts within the interval
                slot.series_gap = hang_gap(
                    check.interval,
                    check.timeout,
                    now - slot.launched_at,
                    self._confirm,
                    self._confirm,
                )
            else:
                slot.series_gap = confirm_gap(check.interval, max(1, self._confirm))
            self._schedule_confirmation(slot, now)
        if self._undecided is None or self._stopping or slot.evidence_due or slot.confirmer.running:
            return
        check = slot.check
        want = self._undecided(check.component)
        plan = evidence_plan(want, check.requests_per_round, check.interval)
        if plan is None and want:
            return  # a dense check while only escalation is undecided: the suspicion goes on
        if slot.evidence.want(plan is not None) and plan is not None:
            # adaptive sampling: the engine is undecided about this component, one more
            # round about a gap from now (prober/confirm.py evidence_plan: EVIDENCE_GAP;
            # END_EVIDENCE_GAP while an open episode's end test counts; one request every
            # DENSE_END_GAP for a dense check), none within half a gap of a regular one
            gap, slot.evidence_requests = plan
            now = self._clock.monotonic()
            when = now + gap * self._rng.uniform(1.0 - JITTER, 1.0 + JITTER)
            if slot.next_due - when >= gap / 2.0:
                slot.evidence_due = True
                self._push(when, _EVIDENCE, slot, 0)
                self._kick()

    def _schedule_confirmation(self, slot: _Slot, now: float) -> None:
        """The next round of the series, one gap (jittered) from `now`: scheduled when the
        previous one starts, not when it ends; one that would fall within half a gap of
        the next regular round goes one gap after it."""
        gap = slot.series_gap
        when = now + gap * self._rng.uniform(1.0 - JITTER, 1.0 + JITTER)
        if abs(when - slot.next_due) < gap / 2.0:
            when = slot.next_due + gap  # after the regular round, not on top of it
        self._push(when, _CONFIRM, slot, slot.confirmer.series)
        self._kick()
