"""The round log contract, on memory and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from prober.store.postgres_rounds import PostgresRoundLog
from prober.store.rounds import MemoryRoundLog, RoundLog, RoundRow, StoredRound


@pytest.fixture(params=["memory", "postgres"])
async def log(request: pytest.FixtureRequest) -> AsyncIterator[RoundLog]:
    if request.param == "memory":
        yield MemoryRoundLog()
        return
    pg = PostgresRoundLog(request.getfixturevalue("pg_url"))
    await pg.open()
    yield pg
    await pg.close()


def _rows(n: int, start: int = 0, location: str = "eu") -> list[RoundRow]:
    return [
        RoundRow(location, "agent-0", f"c{i}", 1000.0 + i, f"p{i}".encode())
        for i in range(start, start + n)
    ]


async def _drain(log: RoundLog, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
    out: list[StoredRound] = []
    for _ in range(1000):  # bounded
        got, nxt = await log.rounds_after(cursor, limit)
        if not got:
            return out, nxt
        out.extend(got)
        cursor = nxt
    raise AssertionError("the round log never drained")


async def test_appended_rows_come_back_once_in_order_with_their_fields(log: RoundLog) -> None:
    await log.append_rounds(_rows(3))
    got, cursor = await log.rounds_after(0)
    assert [(r.check_id, r.at, r.payload, r.location, r.agent) for r in got] == [
        ("c0", 1000.0, b"p0", "eu", "agent-0"),
        ("c1", 1001.0, b"p1", "eu", "agent-0"),
        ("c2", 1002.0, b"p2", "eu", "agent-0"),
    ]
    assert [r.id for r in got] == sorted({r.id for r in got})
    again, cursor2 = await log.rounds_after(cursor)
    assert again == [] and cursor2 >= cursor
    await log.append_rounds(_rows(2, start=3))
    more, _ = await log.rounds_after(cursor2)
    assert [r.check_id for r in more] == ["c3", "c4"]


async def test_an_empty_append_writes_nothing(log: RoundLog) -> None:
    await log.append_rounds([])
    assert (await log.rounds_after(0))[0] == []


async def test_paging_with_a_limit_returns_every_row_exactly_once(log: RoundLog) -> None:
    for b in range(7):
        await log.append_rounds(_rows(3, start=3 * b))
    got, _ = await _drain(log, 0, limit=4)
    assert [r.check_id for r in got] == [f"c{i}" for i in range(21)]


async def test_a_limit_below_one_is_refused(log: RoundLog) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        await log.rounds_after(0, 0)


async def test_prune_drops_rows_older_than_the_cutoff(log: RoundLog) -> None:
    await log.append_rounds(_rows(5))
    assert await log.prune_rounds(1002.0) == 2
    got, _ = await log.rounds_after(0)
    assert [r.check_id for r in got] == ["c2", "c3", "c4"]


async def test_pg_a_batch_that_drew_its_id_first_but_commits_last_is_not_skipped(
    pg_url: str,
) -> None:
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        async with await psycopg.AsyncConnection.connect(pg_url) as slow:
            # Agent A draws id 1 and has not committed yet...
            await slow.execute(
                "INSERT INTO rounds (location, agent, check_id, at, payload)"
                " VALUES ('eu', 'A', 'early', 1, 'a')"
            )
            # ...agent B draws id 2 and commits.
            await log.append_rounds([RoundRow("us", "B", "late", 2.0, b"b")])
            held, cursor = await log.rounds_after(0)
            assert held == []  # B waits behind A's open transaction: nothing skipped
            await slow.commit()
        got, _ = await _drain(log, cursor)
        assert sorted((r.id, r.check_id) for r in got) == [(1, "early"), (2, "late")]
    finally:
        await log.close()


async def test_pg_a_rolled_back_batch_never_appears_and_holds_nothing_back(pg_url: str) -> None:
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        async with await psycopg.AsyncConnection.connect(pg_url) as failed:
            await failed.execute(
                "INSERT INTO rounds (location, agent, check_id, at, payload)"
                " VALUES ('eu', 'A', 'lost', 1, 'a')"
            )
            await failed.rollback()
        await log.append_rounds(_rows(1))
        got, _ = await _drain(log, 0)
        assert [r.check_id for r in got] == ["c0"]
    finally:
        await log.close()


async def test_pg_a_batch_larger_than_the_limit_comes_whole(pg_url: str) -> None:
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        await log.append_rounds(_rows(2))
        await log.append_rounds(_rows(10, start=2))
        first, cursor = await log.rounds_after(0, limit=3)
        assert [r.check_id for r in first] == ["c0", "c1"]  # stops before splitting a batch
        second, cursor = await log.rounds_after(cursor, limit=3)
        assert [r.check_id for r in second] == [f"c{i}" for i in range(2, 12)]
        assert (await log.rounds_after(cursor, limit=3))[0] == []
    finally:
        await log.close()


async def test_pg_concurrent_agents_and_a_reader_see_every_row_exactly_once(pg_url: str) -> None:
    """Four agents append concurrently while the leader reads: whatever the commit order,
    the reader gets every row once (the cursor never passes an uncommitted row)."""
    agents = [PostgresRoundLog(pg_url, max_connections=2) for _ in range(4)]
    reader = PostgresRoundLog(pg_url, max_connections=1)
    for log_ in (*agents, reader):
        await log_.open()
    batches, per_batch = 30, 5

    async def agent(n: int, log_: PostgresRoundLog) -> None:
        for b in range(batches):
            await log_.append_rounds(
                [
                    RoundRow("eu", f"a{n}", f"a{n}-b{b}-r{r}", float(b), b"x")
                    for r in range(per_batch)
                ]
            )

    seen: list[StoredRound] = []
    writing = asyncio.gather(*(agent(n, a) for n, a in enumerate(agents)))
    cursor = 0
    try:
        for _ in range(100_000):  # bounded
            got, cursor = await reader.rounds_after(cursor, limit=7)
            seen.extend(got)
            if writing.done() and not got:
                break
            await asyncio.sleep(0)
        await writing
        rest, _ = await _drain(reader, cursor)
        seen.extend(rest)
    finally:
        for log_ in (*agents, reader):
            await log_.close()
    names = [r.check_id for r in seen]
    assert len(names) == len(set(names)) == 4 * batches * per_batch
    assert len({r.id for r in seen}) == len(seen)


async def test_pg_prune_in_small_batches_drops_every_old_row(pg_url: str) -> None:
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        await log.append_rounds(_rows(25))
        assert await log.prune_rounds(1020.0, batch=7) == 20
        got, _ = await _drain(log, 0)
        assert [r.check_id for r in got] == [f"c{i}" for i in range(20, 25)]
    finally:
        await log.close()


async def test_pg_every_field_round_trips_through_the_binary_copy_at_its_edges(
    pg_url: str,
) -> None:
    """Batches go in by binary COPY: text in any script, empty and long values, bytea with
    every byte value, floats at their edges (the sign of zero too) come back as written."""
    odd = [
        RoundRow("eu-west", "agent-0", "c0", 1_780_000_000.123456789, b"\x00\xff" * 40_000),
        RoundRow("zürich", "agént-ü", "chéck-☃", -0.0, b""),
        RoundRow("eu-west", "agent-0", "c" * 300, 5e-324, bytes(range(256))),
        RoundRow("", "", "", float("inf"), b"x"),
        RoundRow("eu-west", "agent-1", "c1", -1.7976931348623157e308, b"\\\n\t,"),
    ]
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        _, cursor = await _drain(log, 0)
        await log.append_rounds(odd)
        got, _ = await _drain(log, cursor)
    finally:
        await log.close()
    stored = [(r.location, r.agent, r.check_id, r.at, r.payload) for r in got]
    assert stored == [(r.location, r.agent, r.check_id, r.at, r.payload) for r in odd]
    assert str(stored[1][3]) == "-0.0"
