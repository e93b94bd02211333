"""What can still be read from a database prober cannot open for writing.

A read-only volume, or a file that failed its checks at open, leaves prober on a memory
store (nothing is written to it). So that the page and the engine still show the incidents
that were open, the saved state (engine and component rows; or, in a database from before
migration 0005, which cannot be migrated here, the whole saved state) and open incidents
are read with a separate read-only connection: `mode=ro` first, then `immutable=1` (needed
where even the `-shm` file cannot be created; it ignores a `-wal` a crash left, so it may
be older). Any error: nothing salvaged.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import quote

from prober.domain.codec import join_state
from prober.domain.incident import Incident
from prober.store import codec
from prober.store import sqlite_sql as sql
from prober.store.sqlite import SqliteStore


def salvage(path: str) -> tuple[dict[str, Any] | None, list[Incident]]:
    """(saved domain state, open incidents) read without writing anything; (None, [])
    when nothing can be read."""
    if path == ":memory:":
        return None, []
    for mode in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(f"file:{quote(path)}?{mode}", uri=True)
        except sqlite3.Error:
            continue
        try:
            state, incidents = _read(conn)
        except (sqlite3.Error, ValueError):
            continue
        finally:
            conn.close()
        return state, incidents
    return None, []


def _read(conn: sqlite3.Connection) -> tuple[dict[str, Any] | None, list[Incident]]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "engine_state" in tables:
        saved = sql.load_state(conn, SqliteStore._load)
        if saved is None:
            return None, []
        state = join_state(saved.engine, saved.components, saved.open_incidents)
        return state, list(saved.open_incidents)
    rows = conn.execute(
        f"SELECT {sql.INCIDENT_COLS} FROM incidents WHERE status NOT IN (?,?)",  # noqa: S608
        sql.CLOSED,
    ).fetchall()
    incidents = SqliteStore._load(conn, rows)
    row = conn.execute("SELECT state FROM domain_state WHERE id = 1").fetchone()
    return (codec.load_state(row[0]) if row is not None else None), incidents
