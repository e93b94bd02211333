"""The round log on PostgreSQL (protocol: prober/store/rounds.py).

Ordering: ids come from an identity sequence, and two agents' batches can commit in the
other order than they drew their ids, so "id > last id read" would skip a row for ever.
Each row records its writing transaction (`txid xid8 DEFAULT pg_current_xact_id()`), and
`rounds_after` reads only rows of transactions older than every transaction still running
(`txid < pg_snapshot_xmin(pg_current_snapshot())`): those are all committed or rolled back,
none can appear later. The cursor is that horizon, a transaction id: the next read takes
`txid >= cursor`. Within the horizon rows come ordered by (txid, id), each write
transaction whole (a `limit` never splits one, so a batch larger than `limit` comes whole).
The price: a reader waits for the oldest running write transaction in the cluster
(prober's are single COPYs of one batch, milliseconds); a long transaction elsewhere on
the same cluster delays round reading by its length, never loses a row (so pruning deletes
in batches of short transactions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from prober.errors import StoreError
from prober.store.postgres_conn import configure_session, defaults, describe, migrate
from prober.store.rounds import MemoryRoundLog, RoundLog, RoundRow, StoredRound

_COPY = "COPY rounds (location, agent, check_id, at, payload) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["text", "text", "text", "float8", "bytea"]
_SELECT = "SELECT id, location, agent, check_id, at, payload, txid::text::bigint FROM rounds"


def _stored(row: tuple[Any, ...]) -> StoredRound:
    return StoredRound(
        int(row[0]), str(row[1]), str(row[2]), str(row[3]), float(row[4]), bytes(row[5])
    )


class PostgresRoundLog:
    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        self.url = url
        self._max = max_connections
        self._pool: AsyncConnectionPool | None = None

    async def open(self) -> None:
        await migrate(self.url)
        pool = AsyncConnectionPool(
            self.url, min_size=1, max_size=self._max, open=False,
            check=AsyncConnectionPool.check_connection, configure=configure_session,
            kwargs={"application_name": "prober-rounds", **defaults(self.url)},
        )  # fmt: skip
        try:
            await pool.open(wait=True, timeout=10)
        except Exception as exc:  # psycopg_pool.PoolTimeout carries the libpq reason
            await pool.close()
            raise StoreError(describe(exc, self.url)) from exc
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _ready(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise StoreError("round log not open: call open() first")
        return self._pool

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        if not rows:
            return
        try:
            # One COPY, one transaction (the pool commits on exit): durable or not there at
            # all. Binary COPY through psycopg's row writer costs the agent about 1.5 us of
            # CPU a row against 6.5 to 9 us for an INSERT of unnest()ed arrays
            # (docs/SCALING.md "Where an agent's CPU goes").
            async with (
                self._ready().connection() as conn,
                conn.cursor() as cur,
                cur.copy(_COPY) as copy,
            ):
                copy.set_types(_COPY_TYPES)
                for r in rows:
                    await copy.write_row((r.location, r.agent, r.check_id, r.at, r.payload))
        except psycopg.Error as exc:
            raise StoreError(describe(exc, self.url)) from exc

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        try:
            async with self._ready().connection() as conn:
                cur = await conn.execute(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
                )
                got = await cur.fetchone()
                assert got is not None
                horizon = int(got[0])
                cur = await conn.execute(
                    _SELECT + " WHERE txid >= %s::text::xid8 AND txid < %s::text::xid8"
                    " ORDER BY txid, id LIMIT %s",
                    (str(cursor), str(horizon), limit + 1),
                )
                rows = await cur.fetchall()
                if len(rows) <= limit:
                    return [_stored(r) for r in rows], max(horizon, cursor)
                last_tx = int(rows[-1][6])
                whole = [r for r in rows if int(r[6]) < last_tx]
                if whole:
                    return [_stored(r) for r in whole], last_tx
                # One transaction larger than `limit`: returned whole (never split).
                cur = await conn.execute(
                    _SELECT + " WHERE txid = %s::text::xid8 ORDER BY id",
                    (str(last_tx),),
                )
                return [_stored(r) for r in await cur.fetchall()], last_tx + 1
        except psycopg.Error as exc:
            raise StoreError(describe(exc, self.url)) from exc

    async def prune_rounds(self, before: float, batch: int = 10_000) -> int:
        """Delete in transactions of at most `batch` rows: a long delete would hold the
        reading horizon back (see above) for as long as it runs."""
        dropped = 0
        try:
            while True:  # ends: each pass deletes rows, or stops
                async with self._ready().connection() as conn:
                    cur = await conn.execute(
                        "DELETE FROM rounds WHERE id IN"
                        " (SELECT id FROM rounds WHERE at < %s LIMIT %s)",
                        (before, batch),
                    )
                    dropped += cur.rowcount
                if cur.rowcount < batch:
                    return dropped
        except psycopg.Error as exc:
            raise StoreError(describe(exc, self.url)) from exc


def _conforms(url: str) -> tuple[RoundLog, RoundLog]:
    """mypy checks here that both round logs implement the RoundLog protocol."""
    return PostgresRoundLog(url), MemoryRoundLog()
