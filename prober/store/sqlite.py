"""SqliteStore: the default Store, one SQLite file (or ":memory:") behind a writer thread.

Every call runs on one dedicated thread that owns the connection, so the event loop never
blocks on disk. Each `apply` is a single transaction holding its effects, the engine state
rows that changed (the engine row and the changed components' rows, see base.py) and the
new outbox rows. sqlite3 errors become StoreError with an actionable message; a
failed write is rolled back (and the connection reopened when it may be stuck, e.g. after a
read-only volume) so the store works again once the condition clears.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from prober.domain.codec import StateDelta
from prober.domain.effects import Effect
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus
from prober.errors import StoreError
from prober.store import codec, sqlite_schema
from prober.store import sqlite_sql as sql
from prober.store.base import Delivery, ProbeAggregate, SavedState, StatusChange
from prober.store.lock import FileLock
from prober.store.rows import apply_rows

T = TypeVar("T")

_SYNC_MODES = ("NORMAL", "FULL", "EXTRA")


class SqliteStore:
    """The Store protocol on SQLite. `path` is a file, or ":memory:" for tests."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "NORMAL",
        max_page_count: int | None = None,
        allow_new_db: bool = False,
    ) -> None:
        if synchronous.upper() not in _SYNC_MODES:
            raise ValueError(f"synchronous must be one of {_SYNC_MODES}, not {synchronous!r}")
        self.path = path
        self._sync = synchronous.upper()
        self._max_pages = max_page_count  # a size cap (also how tests provoke SQLITE_FULL)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._opened = False
        self._lock = None if path == ":memory:" else FileLock(path)
        self._allow_new = allow_new_db
        self._generation = 0  # commits of the domain state (see lock.py)
        self.last_error: str | None = None  # for readiness; None while healthy

    # -- plumbing ---------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        if self._executor is None or not self._opened:
            raise StoreError(f"database {self.path!r}: store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, write)

    def _call(self, fn: Callable[[sqlite3.Connection], T], write: bool) -> T:
        """On the writer thread: (re)connect if needed, run fn, map errors to StoreError."""
        try:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                result = fn(self._conn)
            except sqlite3.Error as exc:
                # A connection opened while the volume was read-only stays read-only: reopen
                # it and retry once (the failed transaction was rolled back).
                if not sqlite_schema.needs_reconnect(exc) or self.path == ":memory:":
                    raise
                self._recover(exc)
                self._conn = self._connect()
                result = fn(self._conn)
        except StoreError as exc:
            self.last_error = str(exc)
            raise
        except sqlite3.Error as exc:
            self._recover(exc)
            self.last_error = sqlite_schema.describe(exc, self.path)
            raise StoreError(self.last_error) from exc
        if write:  # reads may succeed while writes fail (disk full): only a write clears it
            self.last_error = None
        return result

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite_schema.connect(self.path, self._sync)
        if self._max_pages is not None:
            conn.execute(f"PRAGMA max_page_count={int(self._max_pages)}")
        return conn

    def _recover(self, exc: sqlite3.Error) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is dropped below when the rollback itself failed
        else:
            if not sqlite_schema.needs_reconnect(exc) or self.path == ":memory:":
                return
        if self.path != ":memory:":
            conn.close()
            self._conn = None

    # -- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        if self._opened:
            return
        if self._lock is not None:
            self._lock.acquire()  # StoreLockedError: another process has the file
            try:
                self._lock.check_present(self._allow_new)
            except StoreError:
                self._lock.release()
                raise
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prober-store")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, self._connect)
        except BaseException as exc:
            self.last_error = str(exc)
            self._executor.shutdown(wait=False)
            self._executor = None
            if self._lock is not None:
                self._lock.release()
            raise
        self._opened = True
        self.last_error = None
        try:
            self._generation = await self._run(sql.generation, write=False)
            if self._lock is not None:
                self._lock.check_generation(self._generation, self._allow_new)
        except StoreError:
            await self.close()
            raise

    async def check(self, full: bool = False) -> str | None:
        """`PRAGMA integrity_check` (full) or `quick_check`: None when fine, else the
        problem. Reads only; never repairs or writes."""
        pragma = "integrity_check" if full else "quick_check"

        def q(c: sqlite3.Connection) -> list[str]:
            return [str(r[0]) for r in c.execute(f"PRAGMA {pragma}(20)").fetchall()]

        rows = await self._run(q, write=False)
        if rows == ["ok"]:
            return None
        return f"database {self.path!r} is corrupt ({pragma}: {'; '.join(rows[:5])})"

    async def close(self) -> None:
        if self._executor is None:
            return
        loop = asyncio.get_running_loop()

        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await loop.run_in_executor(self._executor, _close)
        self._executor.shutdown(wait=False)
        self._executor = None
        self._opened = False
        if self._lock is not None:
            self._lock.release()

    async def set_max_page_count(self, pages: int | None) -> None:
        """Change the size cap at run time (None: SQLite's default, effectively no cap)."""
        self._max_pages = pages
        value = 1073741823 if pages is None else int(pages)
        await self._run(lambda c: c.execute(f"PRAGMA max_page_count={value}").fetchone())

    # -- domain state and incidents ---------------------------------------------------
    async def load_state(self) -> SavedState | None:
        def q(c: sqlite3.Connection) -> SavedState | None:
            c.execute("BEGIN")  # one snapshot for the three reads
            try:
                return sql.load_state(c)
            finally:
                c.execute("COMMIT")

        return await self._run(q, write=False)

    async def apply(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        r = apply_rows(effects, state, deliveries, now, sql.incident_row, sql.update_row)

        def body(c: sqlite3.Connection) -> bool:
            c.executemany(sql.UPSERT_INCIDENT, r.incidents)
            c.executemany(sql.UPSERT_UPDATE, r.updates)
            c.executemany(
                "INSERT OR IGNORE INTO status_changes (component, at, old, new, failure_ratio) "
                "VALUES (?,?,?,?,?)",
                r.changes,
            )
            if r.complete:
                c.execute("DELETE FROM component_state")
            c.executemany(sql.UPSERT_COMPONENT, r.components)
            c.executemany(
                "INSERT OR IGNORE INTO outbox (webhook, event_key, payload, next_attempt_at, "
                "created_at, ordering) VALUES (?,?,?,?,?,?)",
                r.outbox,
            )
            if r.engine is not None:
                c.execute(sql.UPSERT_ENGINE, (r.engine, now, generation))
                return True
            return c.execute(sql.BUMP_GENERATION, (generation,)).rowcount > 0

        generation = self._generation + 1
        if not await self._run(lambda c: sqlite_schema.transaction(c, body)):
            return  # no engine row yet: nothing to count
        self._generation = generation
        if self._lock is not None:  # after the commit: a crash in between errs safe
            self._lock.record(generation=str(generation))

    async def incidents(self, limit: int = 50, since: float | None = None) -> list[Incident]:
        def q(c: sqlite3.Connection) -> list[Incident]:
            rows = c.execute(
                f"SELECT {sql.INCIDENT_COLS} FROM incidents WHERE ? IS NULL OR status NOT IN (?,?) "  # noqa: S608
                "OR updated_at >= ? ORDER BY status IN (?,?), created_at DESC, id LIMIT ?",
                (since, *sql.CLOSED, since, *sql.CLOSED, max(limit, 0)),
            ).fetchall()
            return sql.load_incidents(c, rows)

        return await self._run(q, write=False)

    async def incidents_started(
        self, since: float, until: float, limit: int = 1000
    ) -> list[Incident]:
        def q(c: sqlite3.Connection) -> list[Incident]:
            rows = c.execute(
                f"SELECT {sql.INCIDENT_COLS} FROM incidents "  # noqa: S608
                "WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id LIMIT ?",
                (since, until, max(limit, 0)),
            ).fetchall()
            return sql.load_incidents(c, rows)

        return await self._run(q, write=False)

    async def incident(self, incident_id: str) -> Incident | None:
        def q(c: sqlite3.Connection) -> Incident | None:
            rows = c.execute(
                f"SELECT {sql.INCIDENT_COLS} FROM incidents WHERE id = ?",  # noqa: S608
                (incident_id,),
            ).fetchall()
            found = sql.load_incidents(c, rows)
            return found[0] if found else None

        return await self._run(q, write=False)

    async def status_changes(self, since: float) -> list[StatusChange]:
        def q(c: sqlite3.Connection) -> list[StatusChange]:
            base = c.execute(
                f"SELECT component, new FROM status_changes WHERE id IN ({sql.LAST_CHANGE_IDS})",  # noqa: S608
                (since,),
            ).fetchall()
            after = c.execute(
                "SELECT component, at, old, new FROM status_changes WHERE at > ? ORDER BY at, id",
                (since,),
            ).fetchall()
            return codec.timeline(
                since,
                {comp: ComponentStatus(new) for comp, new in base},
                [(r[0], r[1], ComponentStatus(r[2]), ComponentStatus(r[3])) for r in after],
            )

        return await self._run(q, write=False)

    # -- probe aggregates -------------------------------------------------------------
    async def add_probe_aggregates(self, rows: Sequence[ProbeAggregate]) -> None:
        params = [
            (a.check_id, a.minute, a.component, a.total, a.failures, a.latency_sum, a.latency_max)
            for a in rows
        ]
        await self._run(
            lambda c: sqlite_schema.transaction(
                c, lambda t: t.executemany(sql.UPSERT_AGGREGATE, params)
            )
        )

    async def probe_aggregates(self, check_id: str, since: float) -> list[ProbeAggregate]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT check_id, component, minute, total, failures, latency_sum, latency_max "
                "FROM probe_aggregates WHERE check_id = ? AND minute >= ? ORDER BY minute",
                (check_id, since),
            ).fetchall(),
            write=False,
        )
        return [ProbeAggregate(*r) for r in rows]

    async def probe_days(self, since: float) -> list[tuple[str, int, int, int]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT component, (minute / 86400) * 86400 AS day, SUM(total), SUM(failures) "
                "FROM probe_aggregates WHERE minute >= ? GROUP BY component, day",
                (int(since),),
            ).fetchall(),
            write=False,
        )
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]

    # -- webhook outbox ---------------------------------------------------------------
    async def due_deliveries(self, now: float, limit: int = 100) -> list[Delivery]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, webhook, event_key, payload, attempts, next_attempt_at FROM outbox o "
                "WHERE state = 'pending' AND next_attempt_at <= ? AND NOT EXISTS (SELECT 1 "
                "FROM outbox p WHERE p.webhook = o.webhook AND p.ordering = o.ordering AND "
                "p.state = 'pending' AND p.id < o.id) ORDER BY next_attempt_at, id LIMIT ?",
                (now, max(limit, 0)),
            ).fetchall(),
            write=False,
        )
        return [Delivery(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    async def delivery_done(self, delivery_id: int) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE outbox SET state = 'done', attempts = attempts + 1, payload = x'' "
                "WHERE id = ? AND state = 'pending'",
                (delivery_id,),
            ).fetchall()
        )

    async def delivery_failed(self, delivery_id: int, next_attempt_at: float | None) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE outbox SET attempts = attempts + 1, "
                "state = CASE WHEN ? IS NULL THEN 'dropped' ELSE state END, "
                "next_attempt_at = coalesce(?, next_attempt_at) "
                "WHERE id = ? AND state = 'pending'",
                (next_attempt_at, next_attempt_at, delivery_id),
            ).fetchall()
        )

    async def prune(self, now: float, retention: float) -> None:
        cutoff = now - retention

        def body(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM probe_aggregates WHERE minute < ?", (cutoff,))
            c.execute(
                "DELETE FROM incidents WHERE status IN (?,?) AND resolved_at IS NOT NULL "
                "AND resolved_at < ?",
                (*sql.CLOSED, cutoff),
            )  # updates go with them (ON DELETE CASCADE)
            # Keep each component's last change before the cutoff: uptime needs its baseline.
            c.execute(
                f"DELETE FROM status_changes WHERE at < ? AND id NOT IN ({sql.LAST_CHANGE_IDS})",  # noqa: S608
                (cutoff, cutoff),
            )
            c.execute("DELETE FROM outbox WHERE state = 'dropped' AND created_at < ?", (cutoff,))
            # Delivered rows lost their payload when marked done; the key stays a day so a
            # re-applied effect is still recognised, then the row goes.
            c.execute(
                "DELETE FROM outbox WHERE state = 'done' AND created_at < ?",
                (now - min(retention, codec.DONE_KEPT),),
            )

        await self._run(lambda c: sqlite_schema.transaction(c, body))
