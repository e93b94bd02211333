"""Leader election on PostgreSQL: a session advisory lock plus a term row (fencing).

The leader holds `pg_try_advisory_lock(LOCK_SPACE, LEADER_LOCK)` on a connection of its
own, and on each acquisition increments `prober_leader.term` in the same session. The lock
belongs to the server session, so it goes when that session ends:
- the process dies (kill -9, OOM): the kernel closes the socket, the server ends the
  session at once and the next contender's `pg_try_advisory_lock` succeeds;
- the network is lost silently: the session's server-side TCP keepalives (set per session
  below: 5 s idle, 3 probes 2 s apart) end it within about 11 s; on the leader's side
  `renew` times out (`timeout`, 5 s by default) and it steps down, and libpq's
  keepalives / tcp_user_timeout bound a read on the dead socket. Every other call
  (a follower's `acquire`, `current`, `release`) has the same client-side bound, so a
  contender facing a silent database stays a follower and tries again.
A deposed leader that has not noticed yet is stopped by fencing: `check_term` runs in each
of its write transactions, takes a share lock on the term row and raises FencedError when
the term moved; the new leader's term increment waits for (or is seen by) every such
transaction, so no write of an old term commits after a new term exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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
    redact,
)


async def check_term(conn: psycopg.AsyncConnection[Any], term: int) -> None:
    """Inside the caller's transaction: raise FencedError unless `term` is current. The
    share lock keeps a new election from committing before this transaction ends."""
    cur = await conn.execute("SELECT term FROM prober_leader WHERE id = 1 FOR SHARE")
    row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current != term:
        raise FencedError(term, current)


Conn = psycopg.AsyncConnection[Any]
T = TypeVar("T")


class PgLeadership:
    """Every call answers within `timeout` (5 s by default), whatever the database or the
    network does: acquire, renew, current, release. A call not answered in time is
    abandoned, not awaited (psycopg's cancellation of a query asks the server, unreachable
    in a partition, for up to 10 s more), its session closed aside and leadership, if
    held, given up; acquire and current then raise StoreError, renew answers False. The
    lock session's server-side `statement_timeout` and `lock_timeout` are the same bound,
    so a statement stuck on a lock (the term row) ends on the server too."""

    def __init__(
        self,
        url: str,
        holder: str,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.holder = holder
        self._clock = clock
        self._timeout = timeout
        self._conn: Conn | None = None
        self._term: int | None = None
        self._migrated = False
        self._aside: set[asyncio.Future[None]] = set()  # abandoned calls, closing

    @property
    def term(self) -> int | None:
        return self._term

    @property
    def is_leader(self) -> bool:
        return self._term is not None

    async def _session(self, opened: list[Conn]) -> Conn:
        """The lock session, opened when there is none (not stored here: `_bounded` stores
        it once the call answered in time; `opened` lets an abandoned call's be closed)."""
        if self._conn is not None and not self._conn.closed:
            return self._conn
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
            opened.append(conn)
            await configure_session(conn)
            ms = str(max(1, int(self._timeout * 1000)))
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, false),"
                " set_config('lock_timeout', %s, false)",
                (ms, ms),
            )
        except psycopg.Error as exc:
            raise StoreError(describe(exc, self.url)) from exc
        return conn

    async def _bounded(self, work: Callable[[list[Conn]], Awaitable[T]], what: str) -> T:
        """Run `work` within the timeout. Not answered in time: abandoned (cancelled now,
        its sessions closed aside, never awaited here), leadership given up, StoreError.
        A psycopg error: the session is dropped (leadership with it), StoreError."""
        opened: list[Conn] = []
        task = asyncio.ensure_future(work(opened))
        try:
            done, _ = await asyncio.wait({task}, timeout=self._timeout)
        except asyncio.CancelledError:  # our caller was cancelled (shutdown): the same
            self._set_aside(task, opened)
            raise
        if not done:
            self._set_aside(task, opened)
            raise StoreError(
                f"database {redact(self.url)}: {what}: no answer within {self._timeout:g} s"
                " (the call was abandoned; not leading)"
            )
        try:
            return task.result()
        except psycopg.Error as exc:
            for conn in opened:
                if conn is not self._conn:
                    await self._close(conn)
            await self._drop()
            raise StoreError(describe(exc, self.url)) from exc
        except BaseException:
            for conn in opened:
                await self._close(conn)
            raise

    async def acquire(self) -> bool:
        """Become leader if nobody is (term + 1), stay leader if already; False otherwise.
        StoreError when the database cannot be reached or does not answer within
        `timeout` (not leader then; the caller tries again later)."""
        if self._term is not None:
            return await self.renew()
        conn, term = await self._bounded(self._elect, "leader election")
        self._conn = conn
        if term is None:
            return False
        self._term = term
        return True

    async def _elect(self, opened: list[Conn]) -> tuple[Conn, int | None]:
        conn = await self._session(opened)
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, LEADER_LOCK))
        row = await cur.fetchone()
        if not (row and row[0]):
            return conn, None
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    "UPDATE prober_leader SET term = term + 1, holder = %s, elected_at = %s"
                    " WHERE id = 1 RETURNING term",
                    (self.holder, self._clock()),
                )
                row = await cur.fetchone()
        except BaseException:
            # The lock is ours but the term is not: never keep one without the other.
            opened.append(conn)
            raise
        assert row is not None
        return conn, int(row[0])

    async def renew(self) -> bool:
        """Still leader: the lock session is alive and the term is ours, answered within
        `timeout`. On any failure leadership is given up at once (see `_bounded`)."""
        if self._term is None or self._conn is None:
            return False
        conn = self._conn

        async def read(opened: list[Conn]) -> tuple[Any, ...] | None:
            cur = await conn.execute("SELECT term FROM prober_leader WHERE id = 1")
            return await cur.fetchone()

        try:
            row = await self._bounded(read, "renew")
        except StoreError:
            return False
        if not row or int(row[0]) != self._term:
            await self._drop()
            return False
        return True

    def _set_aside(self, task: asyncio.Future[Any], opened: list[Conn]) -> None:
        """Abandon a call: cancelled now (it must not go on with a session taken from it),
        leadership given up, its sessions closed in a task of their own, never awaited."""
        task.cancel()
        conn, self._term, self._conn = self._conn, None, None
        aside = asyncio.ensure_future(self._abandon(task, conn, opened))
        self._aside.add(aside)
        aside.add_done_callback(self._aside.discard)

    @staticmethod
    async def _abandon(task: asyncio.Future[Any], conn: Conn | None, opened: list[Conn]) -> None:
        # First step: the cancelled call, woken before this task's first step, has left
        # its wait on the socket; close the sessions now (a local close; the server ends
        # them, and the lock, on its side). Then let psycopg's own cancellation of the
        # query end in its time (`release` cuts that wait short, never this close).
        for each in [c for c in (conn, *opened) if c is not None]:
            await PgLeadership._close(each)
        await asyncio.gather(task, return_exceptions=True)
        for each in opened:  # opened after all (the cancellation came late)
            await PgLeadership._close(each)

    @staticmethod
    async def _close(conn: Conn) -> None:
        with contextlib.suppress(psycopg.Error, TimeoutError):
            async with asyncio.timeout(1.0):
                await conn.close()

    async def release(self) -> None:
        """Step down: unlock and close the lock session (the next contender wins). Within
        `timeout`: an unlock not answered is abandoned, the session closed (the server ends
        it, and the lock with it, when it notices)."""
        if self._conn is not None and self._term is not None:
            conn = self._conn

            async def unlock(opened: list[Conn]) -> None:
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_SPACE, LEADER_LOCK))

            with contextlib.suppress(StoreError):
                await self._bounded(unlock, "release")
        await self._drop()
        await asyncio.sleep(0)  # each abandoned call's aside has closed its sessions
        for aside in list(self._aside):  # ... and no longer waits for its cancellation
            aside.cancel()
        await asyncio.gather(*self._aside, return_exceptions=True)

    async def close(self) -> None:
        await self.release()

    async def _drop(self) -> None:
        self._term = None
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._close(conn)

    async def backend_pid(self) -> int | None:
        """The server process of the lock session (tests terminate it to simulate death)."""
        return None if self._conn is None else self._conn.info.backend_pid

    async def current(self) -> LeaderInfo:
        """Who leads, from the term row; StoreError when not answered within `timeout`."""

        async def read(opened: list[Conn]) -> tuple[Conn, tuple[Any, ...] | None]:
            conn = await self._session(opened)
            cur = await conn.execute("SELECT term, holder, elected_at FROM prober_leader")
            return conn, await cur.fetchone()

        conn, row = await self._bounded(read, "reading the leader")
        self._conn = conn
        if row is None:
            return LeaderInfo(0, "", 0.0)
        return LeaderInfo(int(row[0]), str(row[1]), float(row[2]))


def _conforms(url: str) -> tuple[Leadership, Leadership]:
    """mypy checks here that both implement the Leadership protocol."""
    return PgLeadership(url, ""), SoleLeader()
