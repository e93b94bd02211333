"""Leader election and fencing on a real PostgreSQL (the throwaway cluster of tests/pg.py)."""

from __future__ import annotations

import asyncio
import signal
import sys

import psycopg
import pytest

from prober.errors import SchemaTooNewError, StoreError
from prober.store.lease import FencedError, SoleLeader
from prober.store.postgres_conn import migrate
from prober.store.postgres_lease import PgLeadership, check_term


async def _table(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS written (who text)")


async def _fenced_insert(url: str, term: int, who: str) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await check_term(conn, term)
        await conn.execute("INSERT INTO written VALUES (%s)", (who,))


async def _rows(url: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT who FROM written ORDER BY who")
        return [str(r[0]) for r in await cur.fetchall()]


async def _terminate(url: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def _until_waiting_on_a_lock(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(500):
            cur = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'prober-leader' AND wait_event_type = 'Lock'"
            )
            if (await cur.fetchone()) == (1,):
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the election never waited on the term row")


async def test_of_two_contenders_exactly_one_wins_with_term_one(pg_url: str) -> None:
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    try:
        won = await asyncio.gather(a.acquire(), b.acquire())
        assert sorted(won) == [False, True]
        leader = a if a.is_leader else b
        assert leader.term == 1
        info = await (b if leader is a else a).current()
        assert (info.term, info.holder) == (1, leader.holder)
        assert await leader.renew() and await leader.acquire()  # staying leader: same term
        assert leader.term == 1
    finally:
        await a.release()
        await b.release()


async def test_a_dead_leader_session_hands_over_with_term_plus_one(pg_url: str) -> None:
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    try:
        assert await a.acquire()
        assert not await b.acquire()
        pid = await a.backend_pid()
        assert pid is not None
        await _terminate(pg_url, pid)  # the server ends the leader's session, as on kill -9
        for _ in range(200):  # bounded: the lock goes with the session
            if await b.acquire():
                break
            await asyncio.sleep(0.02)
        assert b.is_leader and b.term == 2
        assert not await a.renew()  # the old leader learns it is deposed
        assert a.term is None
        assert (await b.current()).holder == "b"
    finally:
        await a.release()
        await b.release()


async def test_release_hands_over_at_once(pg_url: str) -> None:
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    try:
        assert await a.acquire()
        await a.release()
        assert await b.acquire() and b.term == 2
    finally:
        await b.release()


async def test_a_deposed_leaders_write_is_fenced_and_leaves_no_row(pg_url: str) -> None:
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    await migrate(pg_url)
    await _table(pg_url)
    try:
        assert await a.acquire()
        old = a.term
        assert old == 1
        await _fenced_insert(pg_url, old, "a-while-leading")
        pid = await a.backend_pid()
        assert pid is not None
        await _terminate(pg_url, pid)
        for _ in range(200):
            if await b.acquire():
                break
            await asyncio.sleep(0.02)
        assert b.term == 2
        # a has not noticed (no renew yet) and writes with its old term: refused.
        with pytest.raises(FencedError) as err:
            await _fenced_insert(pg_url, old, "a-deposed")
        assert (err.value.term, err.value.current) == (1, 2)
        await _fenced_insert(pg_url, 2, "b-leading")
        assert await _rows(pg_url) == ["a-while-leading", "b-leading"]
    finally:
        await a.release()
        await b.release()


async def test_an_election_waits_for_a_fenced_write_in_flight(pg_url: str) -> None:
    """The old leader's write transaction that passed its term check holds a share lock on
    the term row: the new term commits only after it, so no old-term write lands later."""
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    await migrate(pg_url)
    await _table(pg_url)
    try:
        assert await a.acquire()
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            async with conn.transaction():
                await check_term(conn, 1)
                await a.release()  # the lock is free, but the term row is share-locked
                election = asyncio.create_task(b.acquire())
                await _until_waiting_on_a_lock(pg_url)  # b waits for the in-flight write
                assert not election.done()
                await conn.execute("INSERT INTO written VALUES ('a-in-flight')")
            assert await election and b.term == 2
        with pytest.raises(FencedError):
            await _fenced_insert(pg_url, 1, "a-late")
        assert await _rows(pg_url) == ["a-in-flight"]
    finally:
        await b.release()


async def test_two_replicas_migrating_at_once_do_not_race(pg_url: str) -> None:
    versions = await asyncio.gather(*(migrate(pg_url) for _ in range(4)))
    assert len(set(versions)) == 1
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*), count(DISTINCT version) FROM prober_schema")
        assert await cur.fetchone() == (versions[0], versions[0])


async def test_a_database_from_a_newer_prober_is_refused_untouched(pg_url: str) -> None:
    latest = await migrate(pg_url)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO prober_schema (version, name) VALUES (%s, 'future')", (latest + 1,)
        )
    with pytest.raises(SchemaTooNewError, match=f"schema version {latest + 1}"):
        await migrate(pg_url)


async def test_the_sole_leader_always_leads_term_one() -> None:
    s = SoleLeader("here")
    assert not s.is_leader and s.term is None
    assert await s.acquire() and await s.renew() and s.term == 1
    await s.release()
    assert not s.is_leader


async def test_kill_9_of_the_leader_process_hands_over_with_term_plus_one(pg_url: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.store.lease_child", pg_url, "child",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    b = PgLeadership(pg_url, "b")
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.decode().strip() == "leader 1"
        assert not await b.acquire()
        child.send_signal(signal.SIGKILL)
        await child.wait()
        for _ in range(1500):  # bounded (15 s, the limit); normally at once
            if await b.acquire():
                break
            await asyncio.sleep(0.01)
        assert b.term == 2, "leadership did not move within 15 s of kill -9"
        assert (await b.current()).holder == "b"
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await b.release()


async def test_a_leader_that_cannot_reach_the_database_in_time_steps_down(pg_url: str) -> None:
    """A renew that does not answer within renew_timeout (here the term row is locked by
    another session, as a stalled network would stall it) gives leadership up, and the lock
    goes with the dropped session: another contender leads with term + 1."""
    a = PgLeadership(pg_url, "a", timeout=0.5)
    b = PgLeadership(pg_url, "b")
    try:
        assert await a.acquire()
        async with await psycopg.AsyncConnection.connect(pg_url) as blocker:
            await blocker.execute("LOCK TABLE prober_leader IN ACCESS EXCLUSIVE MODE")
            assert not await a.renew()
            assert not a.is_leader
        for _ in range(500):  # bounded
            if await b.acquire():
                break
            await asyncio.sleep(0.01)
        assert b.term == 2
    finally:
        await a.release()
        await b.release()


async def test_an_election_stuck_on_the_term_row_gives_up_within_its_timeout(
    pg_url: str,
) -> None:
    """A contender that wins the advisory lock but cannot write the term (the row locked by
    another session) answers within `timeout`, leads nothing and holds no lock: once the
    row is free, the next try wins with the next term."""
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b", timeout=0.5)
    try:
        assert await a.acquire()
        await a.release()
        async with await psycopg.AsyncConnection.connect(pg_url) as blocker:
            await blocker.execute("LOCK TABLE prober_leader IN ACCESS EXCLUSIVE MODE")
            async with asyncio.timeout(2.5):  # the timeout and slack; for ever without
                with pytest.raises(StoreError):
                    await b.acquire()
            assert not b.is_leader
        for _ in range(100):  # bounded: the abandoned session's lock goes with it
            if await b.acquire():
                break
            await asyncio.sleep(0.02)
        assert b.term == 2
    finally:
        await a.release()
        await b.release()
