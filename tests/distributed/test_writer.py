"""RoundWriter: batches by size and time, counts a row only once durable, keeps rows
through a database outage (retrying with backoff), drops the oldest when full."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from prober.clock import VirtualClock
from prober.distributed.roundlog import RoundRow
from prober.distributed.writer import RoundWriter, WriterSettings

from .memlog import MemoryRoundLog


def row(i: int) -> RoundRow:
    return RoundRow("eu", "agent-0", f"check-{i}", float(i), b"x")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def running(clock: VirtualClock) -> AsyncIterator[tuple[RoundWriter, MemoryRoundLog]]:
    log = MemoryRoundLog()
    writer = RoundWriter(
        log, clock, WriterSettings(flush_rounds=3, flush_interval=0.2, max_buffer=5)
    )
    task = asyncio.ensure_future(writer.run())
    await clock.settle()
    yield writer, log
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_full_batches_are_written_at_once_the_rest_after_the_flush_interval(
    clock: VirtualClock, running: tuple[RoundWriter, MemoryRoundLog]
) -> None:
    writer, log = running
    for i in range(3):
        writer.add(row(i))
    await clock.settle()
    assert log.batches == [3] and writer.written == 3
    writer.add(row(3))
    writer.add(row(4))
    await clock.settle()
    assert log.batches == [3] and writer.buffered == 2
    await clock.advance(0.19)
    assert log.batches == [3]
    await clock.advance(0.02)
    assert log.batches == [3, 2] and writer.buffered == 0
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(5)]


async def test_a_single_round_waits_at_most_the_flush_interval(
    clock: VirtualClock, running: tuple[RoundWriter, MemoryRoundLog]
) -> None:
    writer, log = running
    await clock.advance(5.0)  # idle for a while
    writer.add(row(1))
    await clock.advance(0.1)
    assert log.rows == []
    await clock.advance(0.11)
    assert len(log.rows) == 1


async def test_database_outage_keeps_every_round_and_retries_with_backoff(
    clock: VirtualClock, running: tuple[RoundWriter, MemoryRoundLog]
) -> None:
    writer, log = running
    log.down = True
    for i in range(4):
        writer.add(row(i))
    await clock.advance(3.0)
    assert writer.written == 0 and writer.buffered == 4 and not writer.healthy
    errors = writer.errors
    assert 3 <= errors <= 6  # 0.1, 0.2, 0.4, 0.8, 1.6: backoff, not a busy loop
    await clock.advance(10.0)
    assert writer.errors - errors <= 3  # capped at 5 s between attempts
    log.down = False
    await clock.advance(5.0)
    assert writer.healthy and writer.buffered == 0 and writer.written == 4
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(4)]  # none twice


async def test_full_buffer_drops_the_oldest_rounds_and_counts_them(
    clock: VirtualClock, running: tuple[RoundWriter, MemoryRoundLog]
) -> None:
    writer, log = running
    log.down = True
    for i in range(8):
        writer.add(row(i))
    assert writer.buffered == 5 and writer.dropped == 3
    log.down = False
    await clock.advance(10.0)
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(3, 8)]
    assert writer.written == 5


class SlowLog(MemoryRoundLog):
    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        await self.release.wait()
        await super().append_rounds(rows)


async def test_a_round_counts_as_written_only_once_the_log_acknowledged_it(
    clock: VirtualClock,
) -> None:
    log = SlowLog()
    writer = RoundWriter(log, clock, WriterSettings(flush_rounds=1, max_buffer=2))
    task = asyncio.ensure_future(writer.run())
    writer.add(row(0))
    await clock.settle()
    assert writer.written == 0 and writer.buffered == 1  # write under way, not counted
    writer.add(row(1))
    writer.add(row(2))  # full: row 0 (in the batch under way) is dropped from the buffer
    log.release.set()
    await clock.advance(1.0)
    # row 0 was in flight and is stored once; rows 1, 2 follow; nothing is doubled, and
    # row 0 is not counted as dropped: its write succeeded
    assert [r.check_id for r in log.rows] == ["check-0", "check-1", "check-2"]
    assert writer.buffered == 0 and writer.dropped == 0 and writer.written == 3
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_drain_retries_until_its_deadline_and_reports_what_is_left(
    clock: VirtualClock,
) -> None:
    log = MemoryRoundLog()
    log.down = True
    writer = RoundWriter(log, clock)
    for i in range(3):
        writer.add(row(i))
    drained = asyncio.ensure_future(writer.drain(clock.monotonic() + 2.0))
    await clock.advance(3.0)
    assert drained.result() == 3
    log.down = False
    drained = asyncio.ensure_future(writer.drain(clock.monotonic() + 2.0))
    await clock.advance(0.0)
    assert drained.result() == 0 and len(log.rows) == 3


async def test_drain_while_the_writer_runs_writes_every_row_once(clock: VirtualClock) -> None:
    log = SlowLog()
    writer = RoundWriter(log, clock, WriterSettings(flush_rounds=2))
    task = asyncio.ensure_future(writer.run())
    for i in range(5):
        writer.add(row(i))
    await clock.settle()  # run() has a batch in flight
    drained = asyncio.ensure_future(writer.drain(clock.monotonic() + 10))
    await clock.settle()
    log.release.set()
    await clock.advance(1.0)
    assert drained.result() == 0
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(5)]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class FailingSlowLog(SlowLog):
    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        await self.release.wait()
        raise ConnectionError("gone")


async def test_a_row_pushed_out_during_a_failing_write_counts_as_dropped(
    clock: VirtualClock,
) -> None:
    log = FailingSlowLog()
    writer = RoundWriter(log, clock, WriterSettings(flush_rounds=1, max_buffer=2))
    task = asyncio.ensure_future(writer.run())
    writer.add(row(0))
    await clock.settle()
    writer.add(row(1))
    writer.add(row(2))  # pushes row 0 (in flight) out
    assert writer.dropped == 0
    log.release.set()
    await clock.settle()
    assert writer.dropped == 1 and writer.buffered == 2 and writer.written == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Encoder:
    """Staged rounds are check numbers; each call encodes a list of them together."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, items: list[int]) -> list[RoundRow]:
        self.calls.append(list(items))
        return [row(i) for i in items]


@pytest.fixture
async def staging(
    clock: VirtualClock,
) -> AsyncIterator[tuple[RoundWriter, MemoryRoundLog, Encoder]]:
    log = MemoryRoundLog()
    encoder = Encoder()
    writer = RoundWriter(
        log,
        clock,
        WriterSettings(flush_rounds=3, flush_interval=0.2, max_buffer=5, encode_batch=4),
        encode=encoder,
    )
    task = asyncio.ensure_future(writer.run())
    await clock.settle()
    yield writer, log, encoder
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_staged_rounds_are_encoded_together_and_batched_like_added_rows(
    clock: VirtualClock, staging: tuple[RoundWriter, MemoryRoundLog, Encoder]
) -> None:
    writer, log, encoder = staging
    for i in range(3):
        writer.stage(i)
    assert encoder.calls == [] and writer.buffered == 3  # nothing encoded on the probe path
    await clock.settle()
    assert encoder.calls == [[0, 1, 2]] and log.batches == [3] and writer.written == 3
    writer.stage(3)
    writer.stage(4)
    await clock.advance(0.19)
    assert log.batches == [3] and writer.buffered == 2
    await clock.advance(0.02)
    assert log.batches == [3, 2] and writer.buffered == 0 and encoder.calls[-1] == [3, 4]
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(5)]


async def test_staged_rounds_are_encoded_on_the_probing_path_once_a_batch_waits(
    clock: VirtualClock, staging: tuple[RoundWriter, MemoryRoundLog, Encoder]
) -> None:
    writer, log, encoder = staging
    log.down = True
    for i in range(3):
        writer.stage(i)
    await clock.settle()  # the write failed: rows 0-2 encoded and buffered, writer backs off
    assert encoder.calls == [[0, 1, 2]] and not writer.healthy
    for i in range(3, 9):  # encode_batch (4) staged: encoded at once; the full buffer drops
        writer.stage(i)
    assert encoder.calls == [[0, 1, 2], [3, 4, 5, 6]]
    assert writer.buffered == 7 and writer.dropped == 2  # buffer 2-6, staged 7 and 8
    log.down = False
    await clock.advance(10.0)
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(4, 9)]
    assert writer.dropped == 4 and writer.written == 5 and writer.buffered == 0


async def test_drain_writes_the_staged_rounds(clock: VirtualClock) -> None:
    log = MemoryRoundLog()
    encoder = Encoder()
    writer = RoundWriter(log, clock, encode=encoder)
    for i in range(4):
        writer.stage(i)
    assert writer.buffered == 4
    assert await writer.drain(clock.monotonic() + 1.0) == 0
    assert [r.check_id for r in log.rows] == [f"check-{i}" for i in range(4)]
    assert writer.written == 4 and writer.buffered == 0


async def test_staging_without_an_encoder_is_refused(clock: VirtualClock) -> None:
    writer = RoundWriter(MemoryRoundLog(), clock)
    with pytest.raises(RuntimeError, match="needs an `encode` function"):
        writer.stage(1)
    assert writer.buffered == 0


async def test_the_writer_stops_when_cancelled_whatever_moment_the_cancel_lands(
    clock: VirtualClock,
) -> None:
    """A cancel landing while the writer tidies up after a wake-up (its timer task being
    cancelled) once went unnoticed, and the writer waited for ever: Agent.stop() too."""
    for steps in range(12):  # the cancel lands after this many loop iterations
        writer = RoundWriter(
            MemoryRoundLog(), clock, WriterSettings(flush_rounds=2, flush_interval=0.2)
        )
        task = asyncio.ensure_future(writer.run())
        await clock.settle()
        writer.add(row(0))  # wakes the writer: it waits on its 0.2 s timer and the event
        await clock.settle()
        writer.add(row(1))  # a full batch: the event wins, the timer task is cancelled
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(50):  # bounded: a cancelled writer ends within a few iterations
            if task.done():
                break
            await asyncio.sleep(0)
        assert task.done(), f"writer still running after a cancel at step {steps}"
        await asyncio.gather(task, return_exceptions=True)
