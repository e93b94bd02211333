"""PostgreSQL mode never falls back to a memory store (issue 14, LEADERSHIP.md): an
unfenced, unpersisted leader would open incidents nobody else sees and send nothing."""

from __future__ import annotations

import psycopg

from prober import __version__
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.store.postgres import PostgresStore


async def test_a_failed_integrity_check_keeps_the_database_store(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    keeper = StoreKeeper(store, Metrics(version=__version__), fallback=False)
    await keeper.open()
    try:
        # A newer prober (a rolling update) migrated the schema under the running leader.
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute("INSERT INTO prober_schema (version, name) VALUES (999, 'x')")
        assert not await keeper.check_integrity(full=False)
        assert keeper.store is store  # still the fenced database store, never memory
        assert not keeper.degraded
        assert "schema version 999" in keeper.problem  # reported (readiness, logs)
    finally:
        await keeper.close()
