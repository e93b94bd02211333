"""Choosing a Store from `--db`: no path (or "memory") keeps everything in memory."""

from __future__ import annotations

from prober.store.base import Store
from prober.store.memory import MemoryStore
from prober.store.sqlite import SqliteStore

DEFAULT_DB_PATH = "prober.db"  # relative to the working directory; the chart mounts a volume


def make_store(db: str | None, *, synchronous: str = "NORMAL", allow_new_db: bool = False) -> Store:
    """MemoryStore for None, "" or "memory"; otherwise SqliteStore(db) (":memory:" allowed).
    The store is not opened: call `await store.open()` (it raises StoreError clearly)."""
    if db is None or db in ("", "memory"):
        return MemoryStore()
    return SqliteStore(db, synchronous=synchronous, allow_new_db=allow_new_db)
