"""A leader whose write connection goes silent mid-transaction (a network partition, a
frozen process) must not keep the term row locked for ever: the next leader's election
waits for it, so leadership would not move (issue 14: "moves within a bounded time")."""

from __future__ import annotations

import asyncio

import pytest

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
