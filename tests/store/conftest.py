"""The `store` fixture runs every contract test on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from prober.store.base import Store
from prober.store.memory import MemoryStore
from prober.store.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite-memory":
        s = SqliteStore(":memory:")
    else:
        s = SqliteStore(str(tmp_path / "prober.db"))
    await s.open()
    yield s
    await s.close()
