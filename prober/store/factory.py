"""Choosing a Store from `--db` by its form: no path (or "memory") keeps everything in
memory; a `postgresql://` (or `postgres://`) URL is PostgreSQL; anything else is a SQLite
file (":memory:" allowed)."""

from __future__ import annotations

from prober.store.base import Store
from prober.store.memory import MemoryStore
from prober.store.postgres_conn import is_postgres_url
from prober.store.sqlite import SqliteStore

DEFAULT_DB_PATH = "prober.db"  # relative to the working directory; the chart mounts a volume


def make_store(db: str | None, *, synchronous: str = "NORMAL", allow_new_db: bool = False) -> Store:
    """MemoryStore for None, "" or "memory"; PostgresStore for a postgresql:// URL;
    otherwise SqliteStore(db). The store is not opened: call `await store.open()` (it raises
    StoreError clearly)."""
    if db is None or db in ("", "memory"):
        return MemoryStore()
    if is_postgres_url(db):
        from prober.store.postgres import PostgresStore  # psycopg is loaded only for it

        return PostgresStore(db)
    return SqliteStore(db, synchronous=synchronous, allow_new_db=allow_new_db)
