"""Scheduler behaviour on virtual time: nothing here waits in real time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import pytest

from prober.clock import VirtualClock
from prober.config.model import Check
from prober.probes.result import ProbeResult, Reason
from prober.runner import WATCHDOG_MARGIN, Runner, schedule_offset


def make_check(check_id: str, **kw: object) -> Check:
    kw.setdefault("interval", 10.0)
    kw.setdefault("timeout", 5.0)
    return Check(id=check_id, component="api", url="http://127.0.0.1:1/", **kw)  # type: ignore[arg-type]


class Harness:
    """A fake probe with per-check virtual delays, and a recorder of rounds."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.delays: dict[str, float] = {}  # check id -> virtual seconds; inf = hang
        self.crash: set[str] = set()
        self.rounds: list[tuple[str, int, float, float]] = []  # id, n results, lag, at
        self.probe_starts: list[tuple[str, float]] = []
        self.max_in_flight = 0
        self.runner: Runner | None = None

    async def probe(self, check: Check) -> ProbeResult:
        self.probe_starts.append((check.id, self.clock.monotonic()))
        if self.runner is not None:
            self.max_in_flight = max(self.max_in_flight, self.runner.in_flight)
        if check.id in self.crash:
            raise RuntimeError("probe bug")
        delay = self.delays.get(check.id, 0.0)
        if delay == float("inf"):
            await asyncio.Event().wait()
        elif delay:
            await self.clock.sleep(delay)
        return ProbeResult(check.id, check.component, 0.0, Reason.OK, delay)

    async def on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        self.rounds.append((check.id, len(results), lag, self.clock.monotonic()))

    def count(self) -> Counter[str]:
        return Counter(r[0] for r in self.rounds)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def h(clock: VirtualClock):  # type: ignore[no-untyped-def]
    harness = Harness(clock)
    yield harness
    if harness.runner is not None:
        stopper = asyncio.ensure_future(harness.runner.stop())
        await clock.advance(100)
        await stopper


def start(h: Harness, checks: list[Check], **kw: object) -> Runner:
    runner = Runner(h.probe, h.on_round, h.clock, **kw)  # type: ignore[arg-type]
    h.runner = runner
    runner.start(checks)
    return runner


def test_offset_is_stable_in_range_and_spreads_evenly() -> None:
    assert schedule_offset("api-health", 10.0) == schedule_offset("api-health", 10.0)
    assert schedule_offset("a", 10.0) != schedule_offset("b", 10.0)
    offsets = [schedule_offset(f"check-{i}", 10.0) for i in range(10_000)]
    assert all(0.0 <= o < 10.0 for o in offsets)
    per_second = Counter(int(o) for o in offsets)
    assert len(per_second) == 10
    assert all(850 <= n <= 1150 for n in per_second.values()), per_second


async def test_each_check_runs_once_per_interval_at_its_phase(h: Harness) -> None:
    checks = [make_check(f"c{i}") for i in range(20)]
    wall0 = h.clock.now().timestamp()
    mono0 = h.clock.monotonic()
    start(h, checks)
    await h.clock.advance(30.0)
    assert h.count() == {c.id: 3 for c in checks}
    for check_id, at in h.probe_starts:
        phase = schedule_offset(check_id, 10.0)
        first = mono0 + (phase - wall0) % 10.0
        assert (at - first) % 10.0 == pytest.approx(0.0, abs=1e-6) or (
            at - first
        ) % 10.0 == pytest.approx(10.0, abs=1e-6)
    assert all(abs(lag) <= 0.001 for *_, lag, _ in h.rounds)


async def test_phase_is_anchored_to_wall_time_across_restarts(clock: VirtualClock) -> None:
    """Two runners started at different times fire the same check at the same phase."""
    seen: list[float] = []

    async def probe(check: Check) -> ProbeResult:
        seen.append(clock.now().timestamp() % check.interval)
        return ProbeResult(check.id, check.component, 0.0, Reason.OK, 0.0)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        return None

    for pause in (0.0, 3.7):
        await clock.advance(pause)
        runner = Runner(probe, on_round, clock)
        runner.start([make_check("stable")])
        await clock.advance(10.0)
        await runner.stop()
    assert len(seen) == 2
    assert seen[0] == pytest.approx(seen[1], abs=1e-6)
    assert seen[0] == pytest.approx(schedule_offset("stable", 10.0), abs=1e-6)


async def test_slow_check_does_not_delay_others_and_overlap_is_skipped(h: Harness) -> None:
    # "slow" hangs: its probe ignores its deadline, so the watchdog ends each round at
    # start + timeout + margin = 10.5 s, after the next round was due (skipped).
    h.delays["slow"] = float("inf")
    runner = start(h, [make_check("slow", timeout=9.5), make_check("fast")])
    await h.clock.advance(40.0)
    fast = [r for r in h.rounds if r[0] == "fast"]
    assert len(fast) == 4
    assert all(abs(lag) <= 0.001 for _, _, lag, _ in fast)
    slow = [r for r in h.rounds if r[0] == "slow"]
    # rounds at 0, 20 (10 and 30 were skipped); the one at 20 is reported at 30.5
    assert len(slow) >= 1
    assert all(n == 1 for _, n, _, _ in slow)
    assert runner.skipped_rounds >= 1
    # (the hung rounds fail: confirmation rounds follow them, on top of the schedule)
    regular = runner.rounds_started - runner.confirmation_rounds
    assert runner.skipped_rounds + regular == 4 + 4


async def test_watchdog_reports_timeout_for_a_hung_probe(clock: VirtualClock) -> None:
    reported: list[list[ProbeResult]] = []

    async def probe(check: Check) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        reported.append(results)

    runner = Runner(probe, on_round, clock, confirm=0)  # no confirmation round in flight
    runner.start([make_check("hung", timeout=2.0, requests_per_round=3)])
    await clock.advance(10.0)
    assert reported, "the watchdog must end the round"
    assert [r.reason for r in reported[0]] == [Reason.TIMEOUT] * 3
    assert "watchdog" in reported[0][0].detail
    assert reported[0][0].duration == 2.0 + WATCHDOG_MARGIN
    assert runner.in_flight == 0
    await runner.stop()


async def test_concurrency_is_bounded_and_queueing_shows_as_lag(h: Harness) -> None:
    h.delays["burst"] = 1.0
    runner = start(h, [make_check("burst", requests_per_round=5)], max_concurrency=2)
    first = (schedule_offset("burst", 10.0) - h.clock.now().timestamp()) % 10.0
    await h.clock.advance(first + 5.0)
    assert h.max_in_flight == 2
    assert runner.in_flight == 0
    assert h.rounds[0][1] == 5
    # first probe started on time; the round took 3 virtual seconds (2 + 2 + 1)
    assert h.rounds[0][2] == pytest.approx(0.0, abs=1e-9)
    starts = sorted(t for _, t in h.probe_starts)
    assert starts[4] - starts[0] == pytest.approx(2.0)


async def test_in_flight_counts_running_probes(h: Harness) -> None:
    h.delays["a"] = 4.0
    runner = start(h, [make_check("a", requests_per_round=3)])
    await h.clock.advance(10.0 + 0.0)  # covers the first round (phase < 10)
    assert runner.in_flight == 0
    # find a moment inside a round: the next round starts at phase + 10
    first = min(t for _, t in h.probe_starts)
    now = h.clock.monotonic()
    await h.clock.advance(first + 10.0 - now + 1.0)
    assert runner.in_flight == 3


async def test_reload_keeps_unchanged_reschedules_changed_and_stops_removed(h: Harness) -> None:
    keep, change, drop = make_check("keep"), make_check("change"), make_check("drop")
    runner = start(h, [keep, change, drop])
    await h.clock.advance(20.0)
    assert h.count() == {"keep": 2, "change": 2, "drop": 2}
    keep_times = [t for i, t in h.probe_starts if i == "keep"]

    moved_keep = dataclasses.replace(keep, line=42)  # only its place in the file moved
    changed = dataclasses.replace(change, interval=5.0)
    added = make_check("added")
    runner.update([moved_keep, changed, added])
    assert {c.id for c in runner.checks} == {"keep", "change", "added"}
    h.rounds.clear()
    h.probe_starts.clear()
    await h.clock.advance(20.0)
    counts = h.count()
    assert "drop" not in counts
    assert counts["keep"] == 2
    assert counts["change"] == 4
    assert counts["added"] == 2
    # "keep" kept its phase exactly: its new starts continue the old 10 s grid
    new_keep = [t for i, t in h.probe_starts if i == "keep"]
    assert new_keep[0] - keep_times[-1] == pytest.approx(10.0)


async def test_reload_cancels_probing_round_of_removed_check(h: Harness) -> None:
    h.delays["gone"] = 3.0
    runner = start(h, [make_check("gone")])
    first_due = (
        h.clock.monotonic() + (schedule_offset("gone", 10.0) - h.clock.now().timestamp()) % 10.0
    )
    await h.clock.advance(first_due - h.clock.monotonic() + 1.0)
    assert runner.in_flight == 1
    runner.update([])
    await h.clock.advance(20.0)
    assert h.rounds == []
    assert runner.in_flight == 0


async def test_probe_crash_and_on_round_error_do_not_stop_the_scheduler(
    clock: VirtualClock,
) -> None:
    calls: Counter[str] = Counter()

    async def probe(check: Check) -> ProbeResult:
        if check.id == "crash":
            raise ValueError("bug")
        return ProbeResult(check.id, check.component, 0.0, Reason.OK, 0.0)

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        calls[check.id] += 1
        if check.id == "bad-sink":
            raise RuntimeError("sink down")

    runner = Runner(probe, on_round, clock)
    runner.start([make_check("crash"), make_check("bad-sink"), make_check("ok")])
    await clock.advance(30.0)
    assert calls == {"crash": 3, "bad-sink": 3, "ok": 3}
    await runner.stop()


async def test_stop_lets_in_flight_finish_within_grace(h: Harness) -> None:
    h.delays["short"] = 2.0
    runner = start(h, [make_check("short")], grace=5.0)
    first = (schedule_offset("short", 10.0) - h.clock.now().timestamp()) % 10.0
    await h.clock.advance(first + 0.5)
    assert runner.in_flight == 1
    stopper = asyncio.ensure_future(runner.stop())
    await h.clock.advance(3.0)
    assert stopper.done()
    assert h.count() == {"short": 1}  # the round finished and was reported
    await h.clock.advance(30.0)
    assert h.count() == {"short": 1}  # and nothing new was scheduled
    h.runner = None


async def test_stop_cancels_what_outlives_grace(h: Harness) -> None:
    h.delays["stuck"] = float("inf")
    runner = start(h, [make_check("stuck", timeout=9.0)], grace=2.0)
    first = (schedule_offset("stuck", 10.0) - h.clock.now().timestamp()) % 10.0
    await h.clock.advance(first + 0.5)
    assert runner.in_flight == 1
    stopper = asyncio.ensure_future(runner.stop())
    await h.clock.advance(1.0)
    assert not stopper.done()
    await h.clock.advance(1.5)
    assert stopper.done()
    await stopper
    assert runner.in_flight == 0
    assert h.rounds == []
    h.runner = None


async def test_start_twice_is_an_error(h: Harness) -> None:
    runner = start(h, [])
    with pytest.raises(RuntimeError):
        runner.start([])


async def test_update_wakes_the_loop_for_an_earlier_check(h: Harness) -> None:
    runner = start(h, [])  # nothing to do: the loop waits for a kick
    await h.clock.advance(5.0)
    runner.update([make_check("late", interval=3600.0, timeout=5.0)])
    await h.clock.advance(1.0)
    runner.update([make_check("late", interval=3600.0, timeout=5.0), make_check("soon")])
    await h.clock.advance(10.0)
    assert h.count()["soon"] == 1
    await h.clock.advance(10.0)
    assert h.count()["soon"] == 2
    assert runner.skipped_rounds == 0
