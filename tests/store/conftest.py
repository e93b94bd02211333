"""The `store` fixture runs every contract test on each backend: memory, SQLite (in memory
and in a file) and a real PostgreSQL (tests/pg.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from prober.store.base import Store
from prober.store.memory import MemoryStore
from prober.store.postgres import PostgresStore
from prober.store.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite-memory":
        s = SqliteStore(":memory:")
    elif request.param == "sqlite-file":
        s = SqliteStore(str(tmp_path / "prober.db"))
    else:  # a fresh database on the session's throwaway cluster (tests/pg.py)
        s = PostgresStore(request.getfixturevalue("pg_url"))
    await s.open()
    yield s
    await s.close()
