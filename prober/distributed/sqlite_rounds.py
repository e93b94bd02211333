"""A RoundLog in a local SQLite file (`--db sqlite:///path/rounds.db`): for one host, tests
and benchmarks. Several locations need a shared PostgreSQL (prober.store.rounds).

Writes run in a worker thread; a batch is one transaction, committed (WAL, synchronous
FULL) before `append_rounds` returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence

from prober.distributed.roundlog import RoundRow, StoredRound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    location TEXT NOT NULL,
    agent TEXT NOT NULL,
    check_id TEXT NOT NULL,
    at REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rounds_at ON rounds (at);
"""


class SqliteRoundLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def _append(self, rows: Sequence[RoundRow]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO rounds (location, agent, check_id, at, payload) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(r.location, r.agent, r.check_id, r.at, r.payload) for r in rows],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        if rows:
            await asyncio.to_thread(self._append, rows)

    def _after(self, cursor: int, limit: int) -> tuple[list[StoredRound], int]:
        with self._lock:
            found = self._db.execute(
                "SELECT id, location, agent, check_id, at, payload FROM rounds "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (cursor, limit),
            ).fetchall()
        out = [StoredRound(i, loc, ag, c, at, bytes(p)) for i, loc, ag, c, at, p in found]
        return out, (out[-1].id if out else cursor)

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        return await asyncio.to_thread(self._after, cursor, limit)

    def _prune(self, before: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM rounds WHERE at < ?", (before,)).rowcount

    async def prune_rounds(self, before: float) -> int:
        return await asyncio.to_thread(self._prune, before)

    def close(self) -> None:
        with self._lock:
            self._db.close()
