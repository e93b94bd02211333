"""PostgresStore: the Store protocol (prober/store/base.py) on PostgreSQL, for several
`prober run` replicas sharing one database (issue 14; SQLite stays the single-node default).

`--db postgresql://user@host/db` (or `PROBER_DB`); every libpq setting works (sslmode,
PG* environment variables, service files, Unix sockets; prober/store/postgres_conn.py).
A pool of a few connections (`max_connections`); each `apply` is one transaction with its
effects, the engine state rows that changed and the new outbox rows.

Fencing: `fence(leadership)` makes every write check, in its own transaction, that the
leadership's term is still the database's (prober/store/postgres_lease.py): a deposed
leader's write raises FencedError and changes nothing. Without `fence` the store writes
unconditionally (one replica, or tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from prober.domain.codec import StateDelta
from prober.domain.effects import Effect
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus
from prober.errors import StoreError
from prober.store import codec
from prober.store import postgres_sql as sql
from prober.store.base import Delivery, ProbeAggregate, SavedState, StatusChange, Store
from prober.store.lease import FencedError, Leadership
from prober.store.postgres_conn import (
    configure_session,
    defaults,
    describe,
    migrate,
    migrations,
    redact,
)
from prober.store.postgres_lease import check_term
from prober.store.rows import apply_rows

Conn = psycopg.AsyncConnection[TupleRow]


class PostgresStore:
    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        self.url = url
        self._max = max_connections
        self._pool: AsyncConnectionPool | None = None
        self._leadership: Leadership | None = None
        self.last_error: str | None = None  # for readiness; None while healthy

    def fence(self, leadership: Leadership | None) -> None:
        """From now on every write carries `leadership.term` (None: unfenced)."""
        self._leadership = leadership

    # -- plumbing ---------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        await migrate(self.url)  # SchemaTooNewError / StoreError, nothing modified then
        pool = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self._max,
            open=False,
            check=AsyncConnectionPool.check_connection,  # a restarted server: reconnect
            configure=configure_session,  # a silent session ends (term row unlocked)
            kwargs={"application_name": "prober", **defaults(self.url)},
        )
        try:
            await pool.open(wait=True, timeout=10)
        except Exception as exc:  # PoolTimeout: the server is unreachable
            await pool.close()
            raise StoreError(describe(exc, self.url)) from exc
        self._pool = pool
        self.last_error = None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _conn(self, write: bool) -> AsyncIterator[Conn]:
        """A pooled connection inside one transaction (committed on success); psycopg and
        pool errors become StoreError naming the database (password hidden)."""
        if self._pool is None:
            raise StoreError(f"database {redact(self.url)}: store is not open")
        try:
            async with self._pool.connection() as conn, conn.transaction():
                if write and self._leadership is not None:
                    term = self._leadership.term
                    if term is None:
                        raise FencedError(None, None)
                    await check_term(conn, term)
                yield conn
        except (StoreError, TypeError, ValueError):
            raise
        except psycopg.Error as exc:
            self.last_error = describe(exc, self.url)
            raise StoreError(self.last_error) from exc
        except Exception as exc:  # psycopg_pool.PoolTimeout and the like
            if type(exc).__module__.startswith("psycopg_pool"):
                self.last_error = describe(exc, self.url)
                raise StoreError(self.last_error) from exc
            raise
        if write:
            self.last_error = None

    # -- engine state and incidents ---------------------------------------------------
    async def load_state(self) -> SavedState | None:
        async with self._conn(write=False) as c:
            await c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = await (await c.execute("SELECT state FROM engine_state WHERE id = 1")).fetchone()
            if row is None:
                return None
            cur = await c.execute("SELECT component, state FROM component_state")
            components = {str(k): codec.load_state(v) for k, v in await cur.fetchall()}
            cur = await c.execute(sql.SELECT_INCIDENTS + " WHERE status <> ALL(%s)", (sql.CLOSED,))
            opened = await sql.load_incidents(c, await cur.fetchall())
            return SavedState(codec.load_state(row[0]), components, opened)

    async def apply(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        r = apply_rows(effects, state, deliveries, now, sql.incident_row, sql.update_row)
        async with self._conn(write=True) as c, c.cursor() as cur:
            for stmt, params in (
                (sql.UPSERT_INCIDENT, r.incidents),
                (sql.UPSERT_UPDATE, r.updates),
                (sql.INSERT_CHANGE, r.changes),
            ):
                if params:
                    await cur.executemany(stmt, params)
            if r.complete:
                await cur.execute("DELETE FROM component_state")
            if r.components:
                await cur.executemany(sql.UPSERT_COMPONENT, r.components)
            if r.outbox:
                await cur.executemany(sql.INSERT_OUTBOX, r.outbox)
            if r.engine is not None:
                await cur.execute(sql.UPSERT_ENGINE, (r.engine, now))

    async def _incidents(self, where: str, params: Sequence[object]) -> list[Incident]:
        async with self._conn(write=False) as c:
            await c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await c.execute(sql.SELECT_INCIDENTS + where, params)
            return await sql.load_incidents(c, await cur.fetchall())

    async def incidents(self, limit: int = 50, since: float | None = None) -> list[Incident]:
        return await self._incidents(
            " WHERE %s::float8 IS NULL OR status <> ALL(%s) OR updated_at >= %s"
            " ORDER BY status = ANY(%s), created_at DESC, id LIMIT %s",
            (since, sql.CLOSED, since, sql.CLOSED, max(limit, 0)),
        )

    async def incidents_started(
        self, since: float, until: float, limit: int = 1000
    ) -> list[Incident]:
        return await self._incidents(
            " WHERE started_at >= %s AND started_at < %s ORDER BY started_at, id LIMIT %s",
            (since, until, max(limit, 0)),
        )

    async def incident(self, incident_id: str) -> Incident | None:
        found = await self._incidents(" WHERE id = %s", (incident_id,))
        return found[0] if found else None

    async def status_changes(self, since: float) -> list[StatusChange]:
        async with self._conn(write=False) as c:
            await c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await c.execute(
                sql.BASELINE,
                (since,),
            )
            base = await cur.fetchall()
            cur = await c.execute(
                "SELECT component, at, old, new FROM status_changes WHERE at > %s ORDER BY at, id",
                (since,),
            )
            after = await cur.fetchall()
        return codec.timeline(
            since,
            {comp: ComponentStatus(new) for comp, new in base},
            [(r[0], r[1], ComponentStatus(r[2]), ComponentStatus(r[3])) for r in after],
        )

    # -- probe aggregates -------------------------------------------------------------
    async def add_probe_aggregates(self, rows: Sequence[ProbeAggregate]) -> None:
        params = [
            (a.check_id, a.minute, a.component, a.total, a.failures, a.latency_sum, a.latency_max)
            for a in rows
        ]
        async with self._conn(write=True) as c, c.cursor() as cur:
            if params:
                await cur.executemany(sql.UPSERT_AGGREGATE, params)

    async def probe_aggregates(self, check_id: str, since: float) -> list[ProbeAggregate]:
        async with self._conn(write=False) as c:
            cur = await c.execute(
                "SELECT check_id, component, minute, total, failures, latency_sum, latency_max "
                "FROM probe_aggregates WHERE check_id = %s AND minute >= %s ORDER BY minute",
                (check_id, since),
            )
            return [ProbeAggregate(*r) for r in await cur.fetchall()]

    async def probe_days(self, since: float) -> list[tuple[str, int, int, int]]:
        async with self._conn(write=False) as c:
            cur = await c.execute(
                "SELECT component, (minute / 86400) * 86400 AS day, sum(total), sum(failures) "
                "FROM probe_aggregates WHERE minute >= %s GROUP BY component, day",
                (int(since),),
            )
            return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in await cur.fetchall()]

    # -- webhook outbox ---------------------------------------------------------------
    async def due_deliveries(self, now: float, limit: int = 100) -> list[Delivery]:
        async with self._conn(write=False) as c:
            cur = await c.execute(sql.DUE, (now, max(limit, 0)))
            return [
                Delivery(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in await cur.fetchall()
            ]

    async def delivery_done(self, delivery_id: int) -> None:
        async with self._conn(write=True) as c:
            await c.execute(
                "UPDATE outbox SET state = 'done', attempts = attempts + 1, payload = '' "
                "WHERE id = %s AND state = 'pending'",
                (delivery_id,),
            )

    async def delivery_failed(self, delivery_id: int, next_attempt_at: float | None) -> None:
        async with self._conn(write=True) as c:
            await c.execute(
                "UPDATE outbox SET attempts = attempts + 1, "
                "state = CASE WHEN %s::float8 IS NULL THEN 'dropped' ELSE state END, "
                "next_attempt_at = coalesce(%s, next_attempt_at) "
                "WHERE id = %s AND state = 'pending'",
                (next_attempt_at, next_attempt_at, delivery_id),
            )

    # -- maintenance ------------------------------------------------------------------
    async def check(self, full: bool = False) -> str | None:
        """At our schema version: None, else the problem; StoreError when the database
        cannot be asked (no verdict: not an integrity problem). PostgreSQL checks its own
        pages (data checksums, amcheck): the operator's tools, not prober's."""
        async with self._conn(write=False) as c:
            cur = await c.execute("SELECT coalesce(max(version), 0) FROM prober_schema")
            row = await cur.fetchone()
        version, latest = (int(row[0]) if row else 0), len(migrations())
        if version != latest:
            return f"database {redact(self.url)}: schema version {version}, expected {latest}"
        return None

    async def prune(self, now: float, retention: float) -> None:
        cutoff = now - retention
        async with self._conn(write=True) as c:
            await c.execute("DELETE FROM probe_aggregates WHERE minute < %s", (cutoff,))
            await c.execute(
                "DELETE FROM incidents WHERE status = ANY(%s) AND resolved_at IS NOT NULL "
                "AND resolved_at < %s",
                (sql.CLOSED, cutoff),
            )  # updates go with them (ON DELETE CASCADE)
            # Keep each component's last change before the cutoff: uptime needs its baseline.
            await c.execute(
                sql.PRUNE_CHANGES,
                (cutoff, cutoff),
            )
            await c.execute(
                "DELETE FROM outbox WHERE state = 'dropped' AND created_at < %s", (cutoff,)
            )
            await c.execute(
                "DELETE FROM outbox WHERE state = 'done' AND created_at < %s",
                (now - min(retention, codec.DONE_KEPT),),
            )


def _conforms(url: str) -> Store:
    """mypy checks here that PostgresStore implements the Store protocol."""
    return PostgresStore(url)
