"""bench/pg_store.py keeps running (tiny sizes; figures are the bench's business)."""

from __future__ import annotations

from bench import pg_store


async def test_the_postgresql_bench_runs_and_counts_one_row_per_probe(pg_url: str) -> None:
    figures = await pg_store.run(pg_url, probes=200, batch=50)
    assert figures["rows_per_1000_probes"] == 1000
    assert figures["wal_bytes_per_1000_probes"] > 0
    assert "per 1,000 probes" in await pg_store.leader_aggregates(pg_url, 10, 10.0, 2)
    assert "per save" in await pg_store.leader_saves(pg_url, 50, 10, 20)
    (took,) = await pg_store.failover(pg_url, 1)
    assert took >= 0
