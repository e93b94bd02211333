"""Leader election on PostgreSQL: a session advisory lock plus a term row (fencing).

The leader holds `pg_try_advisory_lock(LOCK_SPACE, LEADER_LOCK)` on a connection of its
own, and on each acquisition increments `prober_leader.term` in the same session. The lock
belongs to the server session, so it goes when that session ends:
- the process dies (kill -9, OOM): the kernel closes the socket, the server ends the
  session at once and the next contender's `pg_try_advisory_lock` succeeds;
- the network is lost silently: the session's server-side TCP keepalives (set per session
  below: 5 s idle, 3 probes 2 s apart) end it within about 11 s; on the leader's side
  `renew` times out (`renew_timeout`, 5 s by default) and it steps down, and libpq's
  keepalives / tcp_user_timeout bound a read on the dead socket.
A deposed leader that has not noticed yet is stopped by fencing: `check_term` runs in each
of its write transactions, takes a share lock on the term row and raises FencedError when
the term moved; the new leader's term increment waits for (or is seen by) every such
transaction, so no write of an old term commits after a new term exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import psycopg

from prober.errors import StoreError
from prober.store.lease import FencedError, LeaderInfo, Leadership, SoleLeader
from prober.store.postgres_conn import (
    LEADER_LOCK,
    LOCK_SPACE,
    configure_session,
    defaults,
    describe,
    migrate,
)


async def check_term(conn: psycopg.AsyncConnection[Any], term: int) -> None:
    """Inside the caller's transaction: raise FencedError unless `term` is current. The
    share lock keeps a new election from committing before this transaction ends."""
    cur = await conn.execute("SELECT term FROM prober_leader WHERE id = 1 FOR SHARE")
    row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current != term:
        raise FencedError(term, current)


class PgLeadership:
    def __init__(
        self,
        url: str,
        holder: str,
        *,
        clock: Callable[[], float] = time.time,
        renew_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.holder = holder
        self._clock = clock
        self._renew_timeout = renew_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._term: int | None = None
        self._migrated = False
        self._aside: set[asyncio.Future[None]] = set()  # abandoned renew queries, closing

    @property
    def term(self) -> int | None:
        return self._term

    @property
    def is_leader(self) -> bool:
        return self._term is not None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            if not self._migrated:
                await migrate(self.url)
                self._migrated = True
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url,
                    autocommit=True,
                    application_name="prober-leader",
                    **defaults(self.url),
                )
                await configure_session(conn)
            except psycopg.Error as exc:
                raise StoreError(describe(exc, self.url)) from exc
            self._conn = conn
        return self._conn

    async def acquire(self) -> bool:
        """Become leader if nobody is (term + 1), stay leader if already; False otherwise.
        StoreError when the database cannot be reached (not leader then)."""
        if self._term is not None:
            return await self.renew()
        conn = await self._connection()
        try:
            cur = await conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, LEADER_LOCK)
            )
            row = await cur.fetchone()
            if not (row and row[0]):
                return False
            async with conn.transaction():
                cur = await conn.execute(
                    "UPDATE prober_leader SET term = term + 1, holder = %s, elected_at = %s"
                    " WHERE id = 1 RETURNING term",
                    (self.holder, self._clock()),
                )
                row = await cur.fetchone()
        except psycopg.Error as exc:
            await self._drop()
            raise StoreError(describe(exc, self.url)) from exc
        assert row is not None
        self._term = int(row[0])
        return True

    async def renew(self) -> bool:
        """Still leader: the lock session is alive and the term is ours, answered within
        `renew_timeout`. On any failure leadership is given up at once: a query not
        answered in time is abandoned, not awaited (psycopg's cancellation asks the server,
        unreachable in a partition, for up to 10 s more), and closed aside."""
        if self._term is None or self._conn is None:
            return False
        conn = self._conn
        query = asyncio.ensure_future(self._read_term(conn))
        done, _ = await asyncio.wait({query}, timeout=self._renew_timeout)
        if not done:
            self._term, self._conn = None, None
            aside = asyncio.ensure_future(self._abandon(query, conn))
            self._aside.add(aside)
            aside.add_done_callback(self._aside.discard)
            return False
        try:
            row = query.result()
        except psycopg.Error:
            await self._drop()
            return False
        if not row or int(row[0]) != self._term:
            await self._drop()
            return False
        return True

    @staticmethod
    async def _read_term(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, ...] | None:
        cur = await conn.execute("SELECT term FROM prober_leader WHERE id = 1")
        return await cur.fetchone()

    @staticmethod
    async def _abandon(query: asyncio.Future[Any], conn: psycopg.AsyncConnection[Any]) -> None:
        query.cancel()
        await asyncio.gather(query, return_exceptions=True)
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    async def release(self) -> None:
        """Step down: unlock and close the lock session (the next contender wins)."""
        if self._conn is not None and self._term is not None:
            with contextlib.suppress(psycopg.Error, TimeoutError):
                async with asyncio.timeout(self._renew_timeout):
                    await self._conn.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", (LOCK_SPACE, LEADER_LOCK)
                    )
        await self._drop()
        for aside in list(self._aside):  # an abandoned renew query: closed now, not waited
            aside.cancel()
        await asyncio.gather(*self._aside, return_exceptions=True)

    async def close(self) -> None:
        await self.release()

    async def _drop(self) -> None:
        self._term = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, TimeoutError):
                async with asyncio.timeout(1.0):
                    await conn.close()

    async def backend_pid(self) -> int | None:
        """The server process of the lock session (tests terminate it to simulate death)."""
        return None if self._conn is None else self._conn.info.backend_pid

    async def current(self) -> LeaderInfo:
        conn = await self._connection()
        try:
            cur = await conn.execute("SELECT term, holder, elected_at FROM prober_leader")
            row = await cur.fetchone()
        except psycopg.Error as exc:
            await self._drop()
            raise StoreError(describe(exc, self.url)) from exc
        if row is None:
            return LeaderInfo(0, "", 0.0)
        return LeaderInfo(int(row[0]), str(row[1]), float(row[2]))


def _conforms(url: str) -> tuple[Leadership, Leadership]:
    """mypy checks here that both implement the Leadership protocol."""
    return PgLeadership(url, ""), SoleLeader()
