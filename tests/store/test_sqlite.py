"""SQLite-only behaviour: persistence, migrations, refusals and failure conditions."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from prober.domain.codec import StateDelta
from prober.errors import SchemaTooNewError, StoreError
from prober.store import sqlite_schema
from prober.store.base import ProbeAggregate
from prober.store.sqlite import SqliteStore
from prober.store.sqlite_schema import Migration, latest_version

from .factories import MAJOR, OP, changed, engine_row, opened, st


def db(tmp_path: Path) -> str:
    return str(tmp_path / "prober.db")


async def test_file_persists_across_close_and_reopen(tmp_path: Path) -> None:
    s = SqliteStore(db(tmp_path))
    await s.open()
    await s.apply(
        [opened("inc1"), changed("api", OP, MAJOR, 1000.0)],
        StateDelta({"seq": 1}, {"api": {"shown": "major_outage"}}),
        [("slack", "inc1-u1", b"payload")],
        now=1000.0,
    )
    await s.add_probe_aggregates([ProbeAggregate("c1", "api", 960, 4, 4, 2.0, 0.9)])
    before = await s.incidents()
    await s.close()

    s2 = SqliteStore(db(tmp_path))
    await s2.open()
    saved = await s2.load_state()
    assert saved is not None
    assert saved.engine == {"seq": 1}
    assert saved.components == {"api": {"shown": "major_outage"}}
    assert saved.open_incidents == before
    assert await s2.incidents() == before
    assert [d.event_key for d in await s2.due_deliveries(2000.0)] == ["inc1-u1"]
    assert len(await s2.status_changes(2000.0)) == 1
    assert (await s2.probe_aggregates("c1", 0))[0].failures == 4
    # a restart re-applying the last step duplicates nothing
    await s2.apply([opened("inc1")], None, [("slack", "inc1-u1", b"payload")], now=1001.0)
    assert len((await s2.incidents())[0].updates) == 1
    assert len(await s2.due_deliveries(2000.0)) == 1
    await s2.close()


async def test_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    s = SqliteStore(str(path))
    await s.open()
    await s.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version() >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"incidents", "incident_updates", "outbox", "probe_aggregates"} <= tables
    finally:
        conn.close()


async def test_missing_directory_is_reported(tmp_path: Path) -> None:
    s = SqliteStore(str(tmp_path / "nope" / "prober.db"))
    with pytest.raises(StoreError, match="does not exist"):
        await s.open()
    assert not (tmp_path / "nope").exists()


async def test_refuses_newer_schema_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    s = SqliteStore(str(path))
    with pytest.raises(SchemaTooNewError) as err:
        await s.open()
    msg = str(err.value)
    assert f"version {latest_version() + 5}" in msg and f"version {latest_version()}" in msg
    assert path.read_bytes() == before
    assert s.last_error == msg


async def test_refuses_a_corrupt_file_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "prober.db"
    garbage = b"this is not a database, it is somebody's notes\n" * 200
    path.write_bytes(garbage)
    s = SqliteStore(str(path))
    with pytest.raises(StoreError) as err:
        await s.open()
    assert not isinstance(err.value, SchemaTooNewError)
    assert "not a SQLite database" in str(err.value) and str(path) in str(err.value)
    assert path.read_bytes() == garbage
    # Only the lock file (one writer per database) is created beside it.
    assert sorted(os.listdir(tmp_path)) == ["prober.db", "prober.db.lock"]
    # the second attempt behaves the same (nothing was "repaired")
    with pytest.raises(StoreError):
        await s.open()
    assert path.read_bytes() == garbage


async def test_failing_migration_rolls_back_and_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = SqliteStore(db(tmp_path))
    await s.open()
    await s.close()
    good = sqlite_schema.migrations()
    broken = Migration(len(good) + 1, "9999_broken.sql", "CREATE TABLE half (x);\nNOT SQL AT ALL;")
    monkeypatch.setattr(sqlite_schema, "migrations", lambda: (*good, broken))
    with pytest.raises(StoreError, match=r"9999_broken\.sql"):
        await SqliteStore(db(tmp_path)).open()
    conn = sqlite3.connect(db(tmp_path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(good)
        assert (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE name='half'").fetchone()[0] == 0
        )
    finally:
        conn.close()


async def test_writes_run_on_the_store_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = sqlite_schema.connect

    def spy(path: str, sync: str) -> sqlite3.Connection:
        threads.append(threading.current_thread().name)
        return real(path, sync)

    monkeypatch.setattr(sqlite_schema, "connect", spy)
    s = SqliteStore(":memory:")
    await s.open()
    await s.apply([], None)
    await s.close()
    assert threads and all(t.startswith("prober-store") for t in threads)
    assert threading.current_thread().name not in threads


def test_rejects_unknown_synchronous_mode() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(":memory:", synchronous="OFF; DROP TABLE incidents")


# -- read-only and full disk --------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths appended to the list are made read-only (chmod; chattr +i when root) until the
    test calls `writable()` or ends."""
    paths: list[Path] = []
    yield paths
    for p in paths:
        _writable(p)


def _read_only(p: Path) -> None:
    p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        with open(p / "probe" if p.is_dir() else p, "ab"):
            pass
    except OSError:
        return  # the permission bits are enough (not root)
    if (p / "probe").exists():
        (p / "probe").unlink()
    done = subprocess.run(["chattr", "+i", str(p)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(
            f"root cannot make {p} read-only on this filesystem (chattr +i: "
            f"{done.stderr!r}); run the store tests on a filesystem that supports it"
        )


def _writable(p: Path) -> None:
    subprocess.run(["chattr", "-i", str(p)], capture_output=True)
    p.chmod(0o755 if p.is_dir() else 0o644)


async def test_read_only_file_fails_apply_clearly_then_recovers(
    tmp_path: Path, read_only: list[Path]
) -> None:
    path = tmp_path / "prober.db"
    s = SqliteStore(str(path))
    await s.open()
    await s.apply([opened("inc1")], st(step=1))
    await s.close()

    read_only.append(path)
    _read_only(path)
    s = SqliteStore(str(path))
    await s.open()  # reading still works: the page keeps serving
    assert await engine_row(s) == {"step": 1}
    with pytest.raises(StoreError, match="read-only"):
        await s.apply([opened("inc2")], st(step=2))
    assert s.last_error is not None and "read-only" in s.last_error
    assert [i.id for i in await s.incidents()] == ["inc1"]

    _writable(path)
    await s.apply([opened("inc2", 2000.0)], st(step=2))
    assert s.last_error is None
    assert await engine_row(s) == {"step": 2}
    assert [i.id for i in await s.incidents()] == ["inc2", "inc1"]
    await s.close()


async def test_read_only_directory_is_reported_on_open(
    tmp_path: Path, read_only: list[Path]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "prober.db"
    s = SqliteStore(str(path))
    await s.open()
    await s.apply([], st(step=1))
    await s.close()

    read_only.append(folder)
    _read_only(folder)
    s = SqliteStore(str(path))
    with pytest.raises(StoreError, match="cannot open"):
        await s.open()
    _writable(folder)
    await s.open()
    assert await engine_row(s) == {"step": 1}
    await s.close()


async def test_disk_full_fails_apply_clearly_then_recovers(tmp_path: Path) -> None:
    s = SqliteStore(db(tmp_path))
    await s.open()
    await s.apply([], st(step=0))
    probe = sqlite3.connect(db(tmp_path))
    pages = probe.execute("PRAGMA page_count").fetchone()[0]
    probe.close()
    await s.set_max_page_count(pages + 4)
    big = "x" * 3000
    step = 0
    with pytest.raises(StoreError, match="full") as err:
        for step in range(1, 200):
            await s.apply(
                [opened(f"inc{step}")], st(step=step, pad=big), [("w", f"k{step}", b"p" * 3000)]
            )
    assert "database" in str(err.value)
    failed = step
    assert 1 < failed < 199
    assert s.last_error is not None
    # nothing of the failed apply is visible; reads keep working
    assert (await engine_row(s) or {})["step"] == failed - 1
    assert await s.incident(f"inc{failed}") is None
    assert len(await s.due_deliveries(1e9, limit=1000)) == failed - 1
    assert s.last_error is not None  # successful reads do not hide a failing write path

    await s.set_max_page_count(None)  # space is back
    await s.apply([opened(f"inc{failed}")], st(step=failed))
    assert s.last_error is None
    assert (await engine_row(s) or {})["step"] == failed
    assert await s.incident(f"inc{failed}") is not None
    await s.close()
    conn = sqlite3.connect(db(tmp_path))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_make_store_picks_the_backend(tmp_path: Path) -> None:
    from prober.store.factory import make_store
    from prober.store.memory import MemoryStore

    assert isinstance(make_store(None), MemoryStore)
    assert isinstance(make_store("memory"), MemoryStore)
    s = make_store(db(tmp_path), synchronous="FULL")
    assert isinstance(s, SqliteStore) and s.path == db(tmp_path)
    assert not (tmp_path / "prober.db").exists()  # nothing is created before open()
