"""PostgreSQL mode never falls back to a memory store (issue 14, LEADERSHIP.md): an
unfenced, unpersisted leader would open incidents nobody else sees and send nothing. A
failed integrity check stays reported until a check passes again: a write that succeeds
repairs nothing."""

from __future__ import annotations

import psycopg

from prober import __version__
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.store.postgres import PostgresStore
from tests.store.factories import opened, st


def store_healthy(exporter: Metrics) -> float:
    for line in exporter.render().decode().splitlines():
        if line.startswith("prober_store_healthy "):
            return float(line.split()[1])
    raise AssertionError("prober_store_healthy")


async def schema_row(url: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql)


async def test_a_failed_integrity_check_keeps_the_database_store(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    keeper = StoreKeeper(store, Metrics(version=__version__), fallback=False)
    await keeper.open()
    try:
        # A newer prober (a rolling update) migrated the schema under the running leader.
        await schema_row(pg_url, "INSERT INTO prober_schema (version, name) VALUES (999, 'x')")
        assert not await keeper.check_integrity(full=False)
        assert keeper.store is store  # still the fenced database store, never memory
        assert not keeper.degraded
        assert "schema version 999" in keeper.integrity  # reported (readiness, logs)
        assert not keeper.healthy
    finally:
        await keeper.close()


async def test_an_integrity_problem_is_not_cleared_by_the_next_write(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    exporter = Metrics(version=__version__)
    keeper = StoreKeeper(store, exporter, fallback=False)
    await keeper.open()
    try:
        await schema_row(pg_url, "INSERT INTO prober_schema (version, name) VALUES (999, 'x')")
        assert not await keeper.check_integrity(full=True)
        await keeper.apply([opened("i1", 10.0)], st(n=1), (), 10.0)  # succeeds
        assert keeper.idle  # written
        keeper.discard()  # as at a step-down: the queue goes, the finding stays
        assert not keeper.healthy and "schema version 999" in keeper.integrity
        assert store_healthy(exporter) == 0
        # Resolved only by a check that passes (here: the newer schema row is gone).
        assert not await keeper.check_integrity(full=True)  # still there: still reported
        assert "schema version 999" in keeper.integrity
        await schema_row(pg_url, "DELETE FROM prober_schema WHERE version = 999")
        assert await keeper.check_integrity(full=True)
        assert keeper.healthy and not keeper.integrity
        assert store_healthy(exporter) == 1
        assert keeper.store is store
    finally:
        await keeper.close()


async def test_a_check_that_cannot_reach_the_database_is_not_an_integrity_problem(
    pg_url: str,
) -> None:
    store = PostgresStore(pg_url)
    keeper = StoreKeeper(store, Metrics(version=__version__), fallback=False)
    await keeper.open()
    await store.close()  # unreachable, as far as the check can tell
    try:
        assert await keeper.check_integrity(full=True)  # unknown: no verdict either way
        assert not keeper.integrity  # a passing check would not be needed to clear it
        assert "not open" in keeper.problem  # reported as a failing store, cleared by a write
    finally:
        await keeper.close()
