"""PostgresStore beyond the shared contract: URL dispatch, fencing, errors, replicas."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from prober.errors import SchemaTooNewError, StoreError
from prober.store.factory import make_store
from prober.store.lease import FencedError
from prober.store.memory import MemoryStore
from prober.store.postgres import PostgresStore
from prober.store.postgres_conn import redact
from prober.store.postgres_lease import PgLeadership
from prober.store.sqlite import SqliteStore

from .factories import opened, st


@pytest.mark.parametrize(
    ("db", "kind"),
    [
        ("postgresql://u@db.example/prober", PostgresStore),
        ("postgres://u@db.example/prober?sslmode=require", PostgresStore),
        ("prober.db", SqliteStore),
        (":memory:", SqliteStore),
        ("memory", MemoryStore),
        (None, MemoryStore),
    ],
)
def test_the_db_option_picks_the_backend_by_url_scheme(db: str | None, kind: type) -> None:
    assert isinstance(make_store(db), kind)


def test_a_password_never_appears_in_a_described_url() -> None:
    assert redact("postgresql://u:s3cret@h:5/db?x=1") == "postgresql://u:***@h:5/db?x=1"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


async def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    s = PostgresStore(
        "postgresql://u:s3cret@/prober?host=/nonexistent-prober-dir&connect_timeout=2"
    )
    with pytest.raises(StoreError) as err:
        await s.open()
    assert "s3cret" not in str(err.value)
    assert "postgresql://u:***@/prober" in str(err.value)


async def test_calls_before_open_raise_store_error(pg_url: str) -> None:
    s = PostgresStore(pg_url)
    with pytest.raises(StoreError, match="not open"):
        await s.load_state()
    await s.open()
    await s.close()
    with pytest.raises(StoreError, match="not open"):
        await s.apply([], None)


async def test_a_database_from_a_newer_prober_is_refused(pg_url: str) -> None:
    s = PostgresStore(pg_url)
    await s.open()
    assert await s.check() is None
    await s.close()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO prober_schema (version, name) VALUES (999, 'future')")
    with pytest.raises(SchemaTooNewError):
        await PostgresStore(pg_url).open()


async def test_every_replica_reads_what_the_leader_wrote(pg_url: str) -> None:
    leader, reader = PostgresStore(pg_url), PostgresStore(pg_url)
    await leader.open()
    await reader.open()
    try:
        await leader.apply([opened("inc1")], st(step=1), [("w", "w:inc1:1", b"x")], now=1.0)
        assert [i.id for i in await reader.incidents()] == ["inc1"]
        saved = await reader.load_state()
        assert saved is not None and [i.id for i in saved.open_incidents] == ["inc1"]
    finally:
        await leader.close()
        await reader.close()


async def test_a_deposed_leaders_apply_is_fenced_and_writes_nothing(pg_url: str) -> None:
    a_lead, b_lead = PgLeadership(pg_url, "a"), PgLeadership(pg_url, "b")
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    a.fence(a_lead)
    b.fence(b_lead)
    try:
        assert await a_lead.acquire()
        await a.apply([opened("inc1")], st(step=1), [("w", "w:inc1:1", b"x")], now=1.0)
        pid = await a_lead.backend_pid()
        assert pid is not None
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(500):  # bounded: the lock goes with the terminated session
            if await b_lead.acquire():
                break
            await asyncio.sleep(0.01)
        assert b_lead.term == 2
        # a still believes it leads (term 1): its write is refused whole.
        with pytest.raises(FencedError, match="term 1, the database is at term 2"):
            await a.apply([opened("inc2")], st(step=2), [("w", "w:inc2:1", b"y")], now=2.0)
        assert [i.id for i in await b.incidents()] == ["inc1"]
        assert [d.event_key for d in await b.due_deliveries(10.0)] == ["w:inc1:1"]
        saved = await b.load_state()
        assert saved is not None and saved.engine == {"step": 1}
        await b.apply([opened("inc2")], st(step=3), now=3.0)  # the new leader writes
        assert sorted(i.id for i in await b.incidents()) == ["inc1", "inc2"]
    finally:
        await a_lead.release()
        await b_lead.release()
        await a.close()
        await b.close()


async def test_a_fenced_store_that_does_not_lead_writes_nothing(pg_url: str) -> None:
    s = PostgresStore(pg_url)
    await s.open()
    s.fence(PgLeadership(pg_url, "never-elected"))
    try:
        with pytest.raises(FencedError):
            await s.apply([opened("inc1")], st(step=1))
        assert await s.incidents() == []
    finally:
        await s.close()
