"""A failed integrity check on a replica (issue 14, keeper.check_integrity): reported until a
check passes again, whatever is written meanwhile; the store stays the fenced database."""

from __future__ import annotations

import psycopg

from tests.service.test_replicas import Cluster, cluster, open_incident

__all__ = ["cluster"]  # the fixture


async def schema_row(url: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql)


async def test_a_leaders_integrity_problem_stays_reported_through_writes_until_a_check_passes(
    cluster: Cluster,
) -> None:
    c = cluster
    await c.run(2)
    leader = c.leader()
    s = leader.service
    store = s.keeper.store
    await schema_row(c.url, "INSERT INTO prober_schema (version, name) VALUES (999, 'x')")
    await s.check_integrity()  # the leader's scheduled check
    assert not s.published().ready[0]
    assert "schema version 999" in s.published().ready[1]
    await open_incident(c)  # writes that succeed: the incident, state saves
    (stored,) = await leader.store.incidents(limit=10)
    assert stored.is_open
    assert s.keeper.store is store  # still the fenced database store, never memory
    assert not s.published().ready[0]  # nothing was repaired: still reported
    assert "schema version 999" in s.published().ready[1]
    assert leader.metric("prober_store_healthy") == 0
    await c.run(65)  # re-checked (every 60 s): still there, still reported
    assert "schema version 999" in s.published().ready[1]
    await schema_row(c.url, "DELETE FROM prober_schema WHERE version = 999")
    await c.until(lambda: s.published().ready[0], seconds=70)  # the next re-check passes
    assert s.published().ready[1].startswith("ready; role=leader")
    assert leader.metric("prober_store_healthy") == 1
