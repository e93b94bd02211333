"""SqliteStore: the default Store, one SQLite file (or ":memory:") behind a writer thread.

Every call runs on one dedicated thread that owns the connection, so the event loop never
blocks on disk. Each `apply` is a single transaction holding its effects, the domain state
and the new outbox rows. sqlite3 errors become StoreError with an actionable message; a
failed write is rolled back (and the connection reopened when it may be stuck, e.g. after a
read-only volume) so the store works again once the condition clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from prober.domain.effects import Effect
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.errors import StoreError
from prober.store import codec, sqlite_schema
from prober.store.base import Delivery, ProbeAggregate, StatusChange

T = TypeVar("T")

_INCIDENT_COLS = (
    "id, name, status, impact, started_at, created_at, updated_at, monitoring_at, "
    "resolved_at, components, impact_override, grp, recovered_at"
)
_UPSERT_INCIDENT = (
    f"INSERT INTO incidents ({_INCIDENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET name=excluded.name, status=excluded.status, "
    "impact=excluded.impact, started_at=excluded.started_at, created_at=excluded.created_at, "
    "updated_at=excluded.updated_at, monitoring_at=excluded.monitoring_at, "
    "resolved_at=excluded.resolved_at, components=excluded.components, "
    "impact_override=excluded.impact_override, grp=excluded.grp, "
    "recovered_at=excluded.recovered_at"
)
_UPSERT_UPDATE = (
    "INSERT INTO incident_updates (id, incident_id, status, body, created_at, affected, "
    "automatic) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
    "incident_id=excluded.incident_id, status=excluded.status, body=excluded.body, "
    "created_at=excluded.created_at, affected=excluded.affected, automatic=excluded.automatic"
)
_UPSERT_AGGREGATE = (
    "INSERT INTO probe_aggregates (check_id, minute, component, total, failures, "
    "latency_sum, latency_max) VALUES (?,?,?,?,?,?,?) ON CONFLICT (check_id, minute) DO "
    "UPDATE SET component=excluded.component, total=total+excluded.total, "
    "failures=failures+excluded.failures, latency_sum=latency_sum+excluded.latency_sum, "
    "latency_max=max(latency_max, excluded.latency_max)"
)
_LAST_CHANGE_IDS = (
    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY component "
    "ORDER BY at DESC, id DESC) AS rn FROM status_changes WHERE at <= ?) WHERE rn = 1"
)
_CLOSED = tuple(str(s) for s in codec.CLOSED_STATUSES)
_SYNC_MODES = ("NORMAL", "FULL", "EXTRA")


def _incident_row(inc: Incident) -> tuple[object, ...]:
    return (
        inc.id, inc.name, str(inc.status), str(inc.impact), inc.started_at, inc.created_at,
        inc.updated_at, inc.monitoring_at, inc.resolved_at, codec.dump_components(inc.components),
        int(inc.impact_override), inc.group, inc.recovered_at,
    )  # fmt: skip


def _update_row(u: IncidentUpdate) -> tuple[object, ...]:
    return (
        u.id, u.incident_id, str(u.status), u.body, u.created_at,
        codec.dump_affected(u.affected_components), int(u.automatic),
    )  # fmt: skip


class SqliteStore:
    """The Store protocol on SQLite. `path` is a file, or ":memory:" for tests."""

    def __init__(
        self, path: str, *, synchronous: str = "NORMAL", max_page_count: int | None = None
    ) -> None:
        if synchronous.upper() not in _SYNC_MODES:
            raise ValueError(f"synchronous must be one of {_SYNC_MODES}, not {synchronous!r}")
        self.path = path
        self._sync = synchronous.upper()
        self._max_pages = max_page_count  # a size cap (also how tests provoke SQLITE_FULL)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._opened = False
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

    @staticmethod
    def _tx(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                # If this fails, _recover drops the connection (still in a transaction).
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return result

    # -- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        if self._opened:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prober-store")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, self._connect)
        except BaseException as exc:
            self.last_error = str(exc)
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._opened = True
        self.last_error = None

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

    async def set_max_page_count(self, pages: int | None) -> None:
        """Change the size cap at run time (None: SQLite's default, effectively no cap)."""
        self._max_pages = pages
        value = 1073741823 if pages is None else int(pages)
        await self._run(lambda c: c.execute(f"PRAGMA max_page_count={value}").fetchone())

    # -- domain state and incidents ---------------------------------------------------
    async def load_domain_state(self) -> Mapping[str, Any] | None:
        row = await self._run(
            lambda c: c.execute("SELECT state FROM domain_state WHERE id = 1").fetchone(),
            write=False,
        )
        return None if row is None else codec.load_state(row[0])

    async def apply(
        self,
        effects: Sequence[Effect],
        domain_state: Mapping[str, Any],
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        # Encode on the caller's side: the rows are a snapshot, whatever mutates later.
        state = codec.dump_state(domain_state)
        writes = codec.expand(effects)
        incidents = [_incident_row(i) for i in writes.incidents]
        updates = [_update_row(u) for u in writes.updates]
        changes = [
            (c.component, c.at, str(c.old), str(c.new), c.failure_ratio)
            for c in writes.status_changes
        ]
        network = [(n.at, int(n.healthy)) for n in writes.network]
        outbox = [(w, k, bytes(p), now, now) for w, k, p in deliveries]

        def body(c: sqlite3.Connection) -> None:
            c.executemany(_UPSERT_INCIDENT, incidents)
            c.executemany(_UPSERT_UPDATE, updates)
            c.executemany(
                "INSERT OR IGNORE INTO status_changes (component, at, old, new, failure_ratio) "
                "VALUES (?,?,?,?,?)",
                changes,
            )
            c.executemany(
                "INSERT OR IGNORE INTO network_health (at, healthy) VALUES (?,?)", network
            )
            c.execute(
                "INSERT INTO domain_state (id, state, saved_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state=excluded.state, saved_at=excluded.saved_at",
                (state, now),
            )
            c.executemany(
                "INSERT OR IGNORE INTO outbox (webhook, event_key, payload, next_attempt_at, "
                "created_at) VALUES (?,?,?,?,?)",
                outbox,
            )

        await self._run(lambda c: self._tx(c, body))

    @staticmethod
    def _load(c: sqlite3.Connection, rows: list[Any]) -> list[Incident]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        marks = ",".join("?" * len(ids))
        by_incident: dict[str, list[IncidentUpdate]] = {i: [] for i in ids}
        for r in c.execute(
            "SELECT id, incident_id, status, body, created_at, affected, automatic FROM "  # noqa: S608
            f"incident_updates WHERE incident_id IN ({marks}) ORDER BY created_at, seq",
            ids,
        ):
            by_incident[r[1]].append(
                IncidentUpdate(
                    r[0],
                    r[1],
                    IncidentStatus(r[2]),
                    r[3],
                    r[4],
                    codec.load_affected(r[5]),
                    bool(r[6]),
                )
            )
        return [
            Incident(
                id=r[0],
                name=r[1],
                status=IncidentStatus(r[2]),
                impact=Impact(r[3]),
                started_at=r[4],
                created_at=r[5],
                updated_at=r[6],
                monitoring_at=r[7],
                resolved_at=r[8],
                components=codec.load_components(r[9]),
                updates=tuple(by_incident[r[0]]),
                impact_override=bool(r[10]),
                group=r[11],
                recovered_at=r[12],
            )
            for r in rows
        ]

    async def incidents(self, limit: int = 50, since: float | None = None) -> list[Incident]:
        def q(c: sqlite3.Connection) -> list[Incident]:
            rows = c.execute(
                f"SELECT {_INCIDENT_COLS} FROM incidents WHERE ? IS NULL OR status NOT IN (?,?) "  # noqa: S608
                "OR updated_at >= ? ORDER BY status IN (?,?), created_at DESC, id LIMIT ?",
                (since, *_CLOSED, since, *_CLOSED, max(limit, 0)),
            ).fetchall()
            return self._load(c, rows)

        return await self._run(q, write=False)

    async def incident(self, incident_id: str) -> Incident | None:
        def q(c: sqlite3.Connection) -> Incident | None:
            rows = c.execute(
                f"SELECT {_INCIDENT_COLS} FROM incidents WHERE id = ?",  # noqa: S608
                (incident_id,),
            ).fetchall()
            found = self._load(c, rows)
            return found[0] if found else None

        return await self._run(q, write=False)

    async def status_changes(self, since: float) -> list[StatusChange]:
        def q(c: sqlite3.Connection) -> list[StatusChange]:
            base = c.execute(
                f"SELECT component, new FROM status_changes WHERE id IN ({_LAST_CHANGE_IDS})",  # noqa: S608
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
        await self._run(lambda c: self._tx(c, lambda t: t.executemany(_UPSERT_AGGREGATE, params)))

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
                "SELECT id, webhook, event_key, payload, attempts, next_attempt_at FROM outbox "
                "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
                "LIMIT ?",
                (now, max(limit, 0)),
            ).fetchall(),
            write=False,
        )
        return [Delivery(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    async def delivery_done(self, delivery_id: int) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE outbox SET state = 'done', attempts = attempts + 1 "
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
                (*_CLOSED, cutoff),
            )  # updates go with them (ON DELETE CASCADE)
            # Keep each component's last change before the cutoff: uptime needs its baseline.
            c.execute(
                f"DELETE FROM status_changes WHERE at < ? AND id NOT IN ({_LAST_CHANGE_IDS})",  # noqa: S608
                (cutoff, cutoff),
            )
            c.execute("DELETE FROM network_health WHERE at < ?", (cutoff,))
            c.execute("DELETE FROM outbox WHERE state != 'pending' AND created_at < ?", (cutoff,))

        await self._run(lambda c: self._tx(c, body))
