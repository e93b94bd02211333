"""One writer per database: a second SqliteStore on the same file is refused, naming the
holder; the lock goes with the holder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from prober.errors import StoreError, StoreLockedError
from prober.store.sqlite import SqliteStore


async def test_a_second_store_on_the_same_file_is_refused_naming_the_holder(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "p.db")
    first, second = SqliteStore(db), SqliteStore(db)
    await first.open()
    try:
        with pytest.raises(StoreLockedError) as info:
            await second.open()
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in str(info.value)
        assert "p.db" in str(info.value)
    finally:
        await first.close()
    await second.open()  # released with its holder
    await second.close()


async def test_a_missing_directory_is_a_store_error_not_a_lock_conflict(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "nope" / "p.db"))
    with pytest.raises(StoreError) as info:
        await store.open()
    assert not isinstance(info.value, StoreLockedError)
