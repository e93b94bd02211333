"""The probe scheduler: runs every check on its interval and hands each round's results on.

Design (sized for 10,000 checks on one core):

- ONE scheduler loop keeps a heap of next-due times; a task is created per round only when
  that round is due. There are no per-check sleeping tasks.
- Each check fires at a stable phase within its interval: `schedule_offset(id, interval)`,
  a hash of the check id (not random), anchored to wall-clock epoch time. The same check
  fires at the same second-of-interval across restarts and reloads, and the hash spreads
  many checks evenly over the interval.
- Concurrency is bounded by one semaphore over probe requests (`max_concurrency`). A
  round sends `requests_per_round` probes concurrently.
- No check delays another: rounds run in their own tasks. A regular round still running
  when its next round is due makes that next round SKIPPED (not queued), counted in
  `skipped_rounds`; the schedule itself never slips. (A confirmation or adaptive round
  in flight skips nothing: the regular round runs beside it.) If the loop falls behind by whole
  intervals (a blocked event loop), missed rounds are skipped and counted too, rather than
  fired in a burst.
- Lag = the moment the round's first probe actually starts (after the semaphore) minus
  its scheduled time, passed to `on_round` (down to -TIMER_GRANULARITY: see there).
- A watchdog entry in a second heap guards each round: probes still unfinished at
  start + timeout + WATCHDOG_MARGIN (checked at most WATCHDOG_SLACK late, so watchdogs
  ride along with due wake-ups) are cancelled and reported as `timeout`. Probes enforce
  their own deadline; this only catches a probe bug.
- `update()` reloads: checks equal to the running ones (ignoring their line number in the
  file) keep their schedule; changed checks are rescheduled (same phase, the offset only
  depends on the id and interval); removed ones stop. Rounds of changed or removed checks
  that are still probing are cancelled, so no result of an old definition is reported
  after the reload; a round already inside `on_round` is allowed to finish.
- `stop()`: no new rounds; running rounds get `grace` seconds, then are cancelled.
- Confirmation and adaptive-evidence rounds: prober/confirm_rounds.py.

Only this shell reads the clock, always through the injected `Clock`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import heapq
import random
from collections.abc import Awaitable, Callable, Sequence

import structlog

from prober.clock import Clock
from prober.config.model import Check
from prober.confirm import (
    CONFIRM_PROBES,
    EVIDENCE_BUDGET,
    IN_CONFIRMATION,
    Confirmer,
    Evidence,
    evidence_budget,
)
from prober.confirm import SIDE_BY_SIDE_GAP as SIDE_BY_SIDE_GAP  # re-exported
from prober.confirm_rounds import (
    _CONFIRM,
    _DUE,
    _EVIDENCE,
    _HEDGE,
    _WATCHDOG,
    ExtraRounds,
    _Slot,
)
from prober.probes.result import ProbeResult, Reason

ProbeFn = Callable[[Check], Awaitable[ProbeResult]]
RoundFn = Callable[[Check, list[ProbeResult], float], Awaitable[None]]

WATCHDOG_MARGIN = 1.0  # seconds past a check's timeout before the runner gives up on a probe
# The loop wakes for a watchdog at most this late, so that watchdogs ride along with the
# wake-ups for due rounds instead of doubling them.
WATCHDOG_SLACK = 0.5
# Rounds due within this much of now start now: event-loop timers have about millisecond
# resolution (uvloop's clock is in ms), so waiting for a sub-millisecond remainder only
# spins the loop. A round may thus start up to 1 ms early (a lag down to -1 ms).
TIMER_GRANULARITY = 0.001

log = structlog.get_logger("prober.runner")


def schedule_offset(check_id: str, interval: float) -> float:
    """Stable phase of a check within its interval, in [0, interval): a hash of its id."""
    digest = hashlib.blake2b(check_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 * interval


def same_check(a: Check, b: Check) -> bool:
    """Equal definitions, ignoring where they sit in checks.yaml."""
    return a == b if a.line == b.line else a == dataclasses.replace(b, line=a.line)


class Runner(ExtraRounds):
    """Schedules probes; see the module docstring for the rules."""

    def __init__(
        self,
        probe: ProbeFn,
        on_round: RoundFn,
        clock: Clock,
        max_concurrency: int = 512,
        grace: float = 10.0,
        confirm: int = CONFIRM_PROBES,
        rng: random.Random | None = None,
        undecided: Callable[[str], int] | None = None,
        evidence: int = EVIDENCE_BUDGET,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._init_extra(confirm, rng, undecided, evidence)
        self._late = WATCHDOG_SLACK
        self._probe = probe
        self._on_round = on_round
        self._clock = clock
        self._grace = grace
        self._sem = asyncio.Semaphore(max_concurrency)
        self._slots: dict[str, _Slot] = {}
        # (when, seq, kind, slot key, round_no): kind is _DUE or _WATCHDOG
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._watch: list[tuple[float, int, int, int, int]] = []  # watchdogs, same shape
        self._by_key: dict[int, _Slot] = {}
        self._next_key = 0
        self._seq = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._sleeping = False
        self._kicked = False
        self._sleep_until = float("inf")
        self._in_flight = 0
        self._skipped = 0
        self._rounds = 0
        self._stopping = False

    # -- public surface -------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Probe requests under way (holding a concurrency slot)."""
        return self._in_flight

    @property
    def skipped_rounds(self) -> int:
        """Rounds not started because the check's previous round was still running."""
        return self._skipped

    @property
    def rounds_started(self) -> int:
        return self._rounds

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(s.check for s in self._slots.values())

    def start(self, checks: Sequence[Check]) -> None:
        """Schedule `checks` and start the scheduler loop (call from a running event loop)."""
        if self._loop_task is not None:
            raise RuntimeError("runner already started")
        self._stopping = False
        self.update(checks)
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    def update(self, checks: Sequence[Check]) -> None:
        """Swap in a new set of checks; unchanged ones keep their schedule."""
        if self._stopping:
            return
        wanted = {c.id: c for c in checks}
        for check_id, slot in list(self._slots.items()):
            new = wanted.get(check_id)
            if new is None or not same_check(slot.check, new):
                self._retire(slot)
                del self._slots[check_id]
            elif new is not slot.check:
                slot.check = new  # equal but for its line: keep the schedule
        fresh: list[tuple[_Slot, float]] = []
        for check in checks:
            if check.id in self._slots:
                continue
            self._next_key += 1
            slot = _Slot(
                check,
                self._next_key,
                confirmer=Confirmer(self._confirm),
                evidence=Evidence(
                    evidence_budget(self._evidence, check.requests_per_round, check.interval)
                ),
            )
            self._slots[check.id] = slot
            self._by_key[slot.key] = slot
            fresh.append((slot, schedule_offset(check.id, check.interval)))
        # read the clock only now, so the set-up time above does not show up as lag
        mono = self._clock.monotonic()
        wall = self._clock.now().timestamp()
        for slot, phase in fresh:
            self._seq += 1
            due = mono + (phase - wall) % slot.check.interval
            slot.next_due = due
            self._heap.append((due, self._seq, _DUE, slot.key, 0))
        heapq.heapify(self._heap)
        self._kick()

    async def stop(self) -> None:
        """Stop scheduling; let running rounds finish within `grace`, then cancel them."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        self._heap.clear()
        self._watch.clear()
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            waiter = asyncio.ensure_future(asyncio.wait(pending))
            sleeper = asyncio.ensure_future(self._clock.sleep(self._grace))
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            waiter.cancel()
            cancelled = 0
            for task in pending:
                if not task.done():
                    task.cancel()
                    cancelled += 1
            await asyncio.gather(sleeper, waiter, *pending, return_exceptions=True)
            if cancelled:
                log.warning("rounds_cancelled_at_stop", rounds=cancelled, grace=self._grace)

    # -- scheduler loop -------------------------------------------------------------------

    def _push(self, when: float, kind: int, slot: _Slot, round_no: int) -> None:
        self._seq += 1
        heap = self._watch if kind in (_WATCHDOG, _HEDGE) else self._heap
        heapq.heappush(heap, (when, self._seq, kind, slot.key, round_no))

    def _kick(self) -> None:
        """Wake the loop early when the earliest due time moved before its current sleep."""
        task = self._loop_task
        if (
            self._sleeping
            and not self._kicked
            and task is not None
            and self._heap
            and self._heap[0][0] < self._sleep_until
        ):
            self._kicked = True
            task.cancel()  # caught in _run: a kick, not a stop

    async def _run(self) -> None:
        clock = self._clock
        heap = self._heap
        watch = self._watch
        by_key = self._by_key
        loop = asyncio.get_running_loop()
        while True:
            now = clock.monotonic()
            while watch and watch[0][0] <= now:
                _, _, kind, key, round_no = heapq.heappop(watch)
                slot = by_key.get(key)
                if slot is None:
                    continue
                if kind == _HEDGE:
                    self._fire_hedge(slot, round_no, now)
                else:
                    self._watchdog(slot, round_no)
            while heap and heap[0][0] <= now + TIMER_GRANULARITY:
                when, _, kind, key, series = heapq.heappop(heap)
                slot = by_key.get(key)
                if slot is None:
                    continue
                if kind == _CONFIRM:
                    self._fire_confirmation(slot, when, now, series)
                elif kind == _EVIDENCE:
                    self._fire_evidence(slot, when, now)
                else:
                    self._fire(slot, when, now)
            self._sleep_until = min(
                heap[0][0] if heap else float("inf"),
                watch[0][0] + WATCHDOG_SLACK if watch else float("inf"),
            )
            self._sleeping = True
            try:
                if self._sleep_until < float("inf"):
                    await clock.sleep(self._sleep_until - now)
                else:
                    await loop.create_future()  # until a kick
            except asyncio.CancelledError:
                if not self._kicked or self._stopping:
                    raise
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
            finally:
                self._sleeping = False
                self._kicked = False

    def _fire(self, slot: _Slot, due: float, now: float) -> None:
        check = slot.check
        interval = check.interval
        next_due = due + interval
        if next_due <= now:  # fell behind by whole intervals: skip, do not burst
            missed = int((now - next_due) // interval) + 1
            next_due += missed * interval
            self._skipped += missed
        slot.next_due = next_due
        self._push(next_due, _DUE, slot, 0)
        if slot.task is not None and not slot.task.done():
            if slot.extra:  # a confirmation or adaptive round: the regular one runs beside it
                self._side(slot, due, None)
                return
            self._skipped += 1
            log.debug("round_skipped", check=check.id, reason="previous_round_running")
            return
        self._launch(slot, due, now, confirmation=False)

    def _launch(
        self, slot: _Slot, due: float, now: float, confirmation: bool, requests: int = 0
    ) -> None:
        """Start a round in `task`: the check's requests, or `requests` of them."""
        check = slot.check
        slot.round_no += 1
        slot.reporting = False
        self._rounds += 1
        task = asyncio.get_running_loop().create_task(
            self._round(slot, due, slot.round_no, confirmation, requests=requests)
        )
        slot.task = task
        slot.extra = confirmation
        slot.launched_at = now
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._push(now + check.timeout + WATCHDOG_MARGIN, _WATCHDOG, slot, slot.round_no)
        self._schedule_hedge(slot, now)

    def _watchdog(self, slot: _Slot, round_no: int) -> None:
        task = slot.task
        live = task is not None and not task.done()
        if live and slot.round_no == round_no and not slot.reporting:
            assert task is not None
            slot.watchdog_round = round_no
            task.cancel()

    def _retire(self, slot: _Slot) -> None:
        slot.active = False
        del self._by_key[slot.key]
        if slot.task is not None and not slot.task.done() and not slot.reporting:
            slot.task.cancel()
        for task in slot.side:
            task.cancel()  # probing beside another round, not reporting
        slot.side.clear()

    # -- one round ------------------------------------------------------------------------

    async def _round(
        self,
        slot: _Slot,
        due: float,
        round_no: int,
        confirmation: bool = False,
        detached: bool = False,
        requests: int = 0,
    ) -> None:
        if confirmation:
            IN_CONFIRMATION.set(True)  # this task's own context: see prober/confirm.py
        started: list[float] = []
        try:
            done = await self._probe_round(slot, round_no, started, requests)
        finally:
            current = asyncio.current_task()
            if detached and current is not None:  # reporting now (or cancelled): no
                slot.side.pop(current, None)  # longer withdrawable
        lag = (started[0] if started else self._clock.monotonic()) - due
        if not slot.active:
            return
        if not detached:
            slot.reporting = True
        try:
            await self._on_round(slot.check, done, lag)
        except Exception as exc:
            log.error("on_round_failed", check=slot.check.id, error=type(exc).__name__)
        if slot.active:
            self._after_round(slot, done, confirmation, whole=requests <= 0)

    async def _probe_round(
        self, slot: _Slot, round_no: int, started: list[float], requests: int = 0
    ) -> list[ProbeResult]:
        """The round's probes (`requests` of them, or the check's), concurrently; the
        first start time goes into `started`. A probe the watchdog cancelled counts as a
        timeout."""
        check = slot.check
        n = requests if requests > 0 else max(1, check.requests_per_round)
        results: list[ProbeResult | None] = [None] * n
        crashed = [False] * n

        async def one(i: int) -> None:
            async with self._sem:
                if not started:
                    started.append(self._clock.monotonic())
                self._in_flight += 1
                try:
                    results[i] = await self._probe(check)
                except Exception as exc:  # a probe must not raise; keep the scheduler alive
                    crashed[i] = True
                    log.error("probe_crashed", check=check.id, error=type(exc).__name__)
                finally:
                    self._in_flight -= 1

        try:
            if n == 1:
                await one(0)
            else:
                await asyncio.gather(*(one(i) for i in range(n)))
        except asyncio.CancelledError:
            if round_no < 0 or slot.watchdog_round != round_no:
                raise  # withdrawn, retired or stopped (detached rounds have no watchdog)
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self._timed_out(check, results, crashed)
        return [r for r in results if r is not None]

    def _timed_out(
        self, check: Check, results: list[ProbeResult | None], crashed: list[bool]
    ) -> None:
        """Fill in the probes the watchdog cancelled as timeouts."""
        log.warning("probe_watchdog_fired", check=check.id, timeout=check.timeout)
        wall = self._clock.now().timestamp()
        for i, result in enumerate(results):
            if result is None and not crashed[i]:
                results[i] = ProbeResult(
                    check_id=check.id,
                    component=check.component,
                    at=wall - check.timeout - WATCHDOG_MARGIN,
                    reason=Reason.TIMEOUT,
                    duration=check.timeout + WATCHDOG_MARGIN,
                    detail=f"no result within {check.timeout:g}s (runner watchdog)",
                )
