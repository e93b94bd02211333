"""A leader whose write connection goes silent mid-transaction (a network partition, a
frozen process) must not keep the term row locked for ever: the next leader's election
waits for it, so leadership would not move (issue 14: "moves within a bounded time")."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from psycopg.conninfo import conninfo_to_dict

from prober.errors import StoreError
from prober.store import postgres_conn
from prober.store.postgres import PostgresStore
from prober.store.postgres_lease import PgLeadership


async def test_a_write_transaction_gone_silent_does_not_block_the_next_election(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server ends a transaction idle this long (production: 10 s); 1 s keeps it quick.
    monkeypatch.setattr(postgres_conn, "IDLE_IN_TRANSACTION_TIMEOUT", 1.0)
    a, b = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    store = PostgresStore(pg_url)
    await store.open()
    store.fence(a)
    stuck = asyncio.Event()
    forever = asyncio.Event()

    async def silent_write() -> None:
        # The fenced transaction has taken its share lock on the term row; then the
        # client says nothing more, as when its network is cut between two statements.
        async with store._conn(write=True):
            stuck.set()
            await forever.wait()

    try:
        assert await a.acquire()
        writer = asyncio.create_task(silent_write())
        await stuck.wait()
        await a.release()  # the lock session goes (as its keepalives end it when cut off)
        async with asyncio.timeout(8):  # without a server-side bound: blocked for hours
            assert await b.acquire()
        assert b.term == 2
        forever.set()
        with pytest.raises(StoreError, match="idle-in-transaction"):  # the server ended it
            await writer
    finally:
        forever.set()
        await a.release()
        await b.release()
        await store.close()


class Blackhole:
    """A loopback TCP relay to the cluster's Unix socket that can go silent both ways
    (a network partition: nothing is refused or closed, nothing gets through)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.cut = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if not self.cut:
                    writer.write(data)
                    await writer.drain()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_unix_connection(self.socket_path)
        self._writers += [writer, up_w]
        for a, b in ((reader, up_w), (up_r, writer)):
            task = asyncio.create_task(self._pipe(a, b))
            self._tasks.add(task)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_a_partitioned_leader_gives_up_within_its_renew_timeout(pg_url: str) -> None:
    """renew() answers False within renew_timeout even when the network is silent: it
    does not wait for psycopg's cancellation of the query (which asks the unreachable
    server, up to 10 s more) while a new leader may already be elected."""
    info = conninfo_to_dict(pg_url)
    hole = Blackhole(f"{info['host']}/.s.PGSQL.{info['port']}")
    await hole.start()
    url = f"postgresql://{info['user']}@127.0.0.1:{hole.port}/{info['dbname']}"
    a = PgLeadership(url, "a", timeout=0.5)
    try:
        assert await a.acquire()
        hole.cut = True
        async with asyncio.timeout(2.5):  # renew_timeout and some slack; 10.5 s without
            assert not await a.renew()
        assert not a.is_leader and a.term is None
    finally:
        await a.close()
        await hole.close()


async def test_a_contender_facing_a_silent_database_gives_up_within_its_timeout(
    pg_url: str,
) -> None:
    """A follower's acquire() and current() answer (StoreError) within `timeout` when the
    database stops answering, on its open session and on a new one alike; not leading; once
    the network is back, the next try wins (the abandoned tries changed no term)."""
    info = conninfo_to_dict(pg_url)
    hole = Blackhole(f"{info['host']}/.s.PGSQL.{info['port']}")
    await hole.start()
    url = f"postgresql://{info['user']}@127.0.0.1:{hole.port}/{info['dbname']}"
    a, b = PgLeadership(pg_url, "a"), PgLeadership(url, "b", timeout=0.5)
    try:
        assert await a.acquire()
        assert not await b.acquire()  # a follower, with its session open
        hole.cut = True
        for call in (b.acquire, b.acquire, b.current):  # open session, then new ones
            async with asyncio.timeout(2.5):  # the timeout and slack; hours without
                with pytest.raises(StoreError, match=r"no answer within 0\.5 s"):
                    await call()
            assert not b.is_leader and b.term is None
        hole.cut = False
        await a.release()
        assert await b.acquire()
        assert b.term == 2
    finally:
        await a.release()
        await b.close()
        await hole.close()


async def test_a_release_the_database_does_not_answer_closes_the_lock_session_in_time(
    pg_url: str,
) -> None:
    """Stepping down on a silent network: the unlock is abandoned within `timeout` and the
    lock session closed on this side (the server ends it, and the lock, when it notices),
    not left open for the garbage collector."""
    info = conninfo_to_dict(pg_url)
    hole = Blackhole(f"{info['host']}/.s.PGSQL.{info['port']}")
    await hole.start()
    url = f"postgresql://{info['user']}@127.0.0.1:{hole.port}/{info['dbname']}"
    a = PgLeadership(url, "a", timeout=0.5)
    try:
        assert await a.acquire()
        session = a._conn
        assert session is not None
        hole.cut = True
        async with asyncio.timeout(2.5):  # the timeout and slack
            await a.release()
        assert session.closed and not a.is_leader
    finally:
        await a.close()
        await hole.close()
