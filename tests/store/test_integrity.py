"""Corruption inside the file, a vanished database or WAL, an unreadable saved state: each
is noticed, reported, and never written over."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from prober.errors import StoreError, StoreLostError
from prober.store.sqlite import SqliteStore
from tests.store.factories import engine_row, opened, st

PAGE = 4096


async def filled(path: Path, n: int = 200) -> None:
    store = SqliteStore(str(path))
    await store.open()
    for i in range(n):
        await store.apply([opened(f"i{i}" + "x" * 300, float(i))], st(n=i))
    await store.close()


def corrupt_pages(path: Path, first: int = 3, count: int = 4) -> bytes:
    data = bytearray(path.read_bytes())
    assert len(data) > (first + count) * PAGE
    for p in range(first, first + count):
        data[p * PAGE + 8 : (p + 1) * PAGE] = bytes((i * 37 + 11) % 256 for i in range(PAGE - 8))
    path.write_bytes(bytes(data))
    return bytes(data)


async def test_a_corrupt_page_inside_the_file_is_refused_at_open_and_left_untouched(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p.db"
    await filled(db)
    before = corrupt_pages(db)
    store = SqliteStore(str(db))
    with pytest.raises(StoreError, match="corrupt"):
        await store.open()
    assert db.read_bytes() == before


async def test_integrity_check_reports_corruption_found_while_running(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    await filled(db)
    store = SqliteStore(str(db))
    await store.open()
    try:
        assert await store.check(full=True) is None
        with sqlite3.connect(db) as other:  # checkpoint, so the pages live in the main file
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        corrupt_pages(db)
        await store.apply([], st(n=-1))  # a cached page or not: the check reads the file
        problem = await store.check(full=True)
        assert problem is not None and "corrupt" in problem and str(db) in problem
    finally:
        await store.close()


async def test_a_database_that_vanished_is_refused_unless_allowed(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    await filled(db, 3)
    db.unlink()
    with pytest.raises(StoreLostError, match="allow-new-db"):
        await SqliteStore(str(db)).open()
    assert not db.exists(), "refusing creates nothing"
    store = SqliteStore(str(db), allow_new_db=True)
    await store.open()
    await store.close()
    again = SqliteStore(str(db))
    await again.open()  # the new database is the one on record now
    await again.close()


async def crashed(tmp_path: Path) -> Path:
    """The files a kill -9 leaves: the database, its WAL (holding the last commits) and the
    lock file, copied while the store is open; the copy has no live connection."""
    db = tmp_path / "p.db"
    store = SqliteStore(str(db))
    await store.open()
    await store.apply([opened("i1", 1.0)], st(n=1))
    await store.apply([opened("i2", 2.0)], st(n=2))
    crash = tmp_path / "crash"
    crash.mkdir()
    for name in ("p.db", "p.db-wal", "p.db.lock"):
        shutil.copyfile(tmp_path / name, crash / name)
    await store.close()
    return crash / "p.db"


async def test_a_wal_lost_after_a_crash_is_refused_unless_allowed(tmp_path: Path) -> None:
    db = await crashed(tmp_path)
    os.unlink(f"{db}-wal")
    with pytest.raises(StoreLostError, match="write-ahead log"):
        await SqliteStore(str(db)).open()
    store = SqliteStore(str(db), allow_new_db=True)
    await store.open()
    await store.close()


async def test_a_wal_checkpointed_by_another_tool_after_a_crash_is_fine(tmp_path: Path) -> None:
    db = await crashed(tmp_path)
    other = sqlite3.connect(db)  # e.g. `sqlite3 prober.db 'PRAGMA integrity_check'`
    other.execute("PRAGMA integrity_check").fetchall()
    other.close()  # the last connection checkpoints the WAL into the file and removes it
    assert not (db.parent / "p.db-wal").exists()
    assert "generation=2" in (db.parent / "p.db.lock").read_text()
    store = SqliteStore(str(db))
    await store.open()
    assert await engine_row(store) == {"n": 2}
    await store.close()
