"""SQLite connection set-up: pragmas, numbered migrations, and clear error messages.

Migrations are the package-data files `prober/store/migrations/NNNN_name.sql`, applied in
order, each in its own transaction together with `PRAGMA user_version = NNNN`; a failing
migration rolls back and raises (never swallowed). Opening never writes to a file that is
not a database or whose schema is newer than ours, so such files are left byte-for-byte
untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TypeVar

from prober.errors import SchemaTooNewError, StoreError

T = TypeVar("T")

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """The bundled migrations, numbered 1..N without gaps (a packaging error otherwise)."""
    folder = resources.files("prober.store").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    if [mig.version for mig in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"bundled migrations are not numbered 1..N: {[m.name for m in found]}")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


def describe(exc: BaseException, path: str) -> str:
    """A message an operator can act on, naming the file and the condition."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = f"database {path!r}"
    if name == "SQLITE_FULL":
        return f"{where}: disk or database is full ({exc}); free space, prober will retry"
    if name.startswith("SQLITE_READONLY"):
        return f"{where}: read-only file, directory or volume ({exc})"
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or name.startswith("SQLITE_CORRUPT"):
        return (
            f"{where}: not a SQLite database or corrupt ({exc}); prober will not modify or "
            "delete it: move it aside or restore a backup"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return f"{where}: cannot open ({exc}); check the directory exists and is writable"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"{where}: locked by another process ({exc})"
    if name.startswith("SQLITE_IOERR"):
        return f"{where}: I/O error ({exc})"
    return f"{where}: {exc}"


def needs_reconnect(exc: BaseException) -> bool:
    """After these the connection may be stuck in its failure (a read-only fallback open,
    a broken file handle): reopen it on the next call."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR"))


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """Open, check and migrate `path`; raise StoreError (or SchemaTooNewError) clearly."""
    if path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise StoreError(f"database {path!r}: directory {parent!r} does not exist")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    except sqlite3.Error as exc:
        raise StoreError(describe(exc, path)) from exc
    try:
        _prepare(conn, path, synchronous)
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, path: str, synchronous: str) -> None:
    try:
        # Reading the header first: a non-database fails here, before anything is written.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise StoreError(describe(exc, path)) from exc
    if version > 0:  # an existing database: a structural check before anything is written
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)").fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(describe(exc, path)) from exc
        if rows != ["ok"]:
            raise StoreError(
                f"database {path!r} is corrupt (quick_check: {'; '.join(rows[:5])}); prober "
                "will not modify it: move it aside or restore a backup"
            )
    latest = latest_version()
    if version > latest:
        raise SchemaTooNewError(
            f"database {path!r} has schema version {version}, newer than this prober "
            f"supports (version {latest}): run a newer prober or point --db elsewhere; "
            "the file was not modified"
        )
    try:
        if path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"database {path!r}: could not enable WAL (got {mode!r})")
        # WAL + NORMAL: a commit is durable against a process crash (kill -9) because the
        # WAL is written before COMMIT returns; only a power loss or kernel crash can drop
        # the last commits, and never leaves a corrupt or half-applied database. FULL would
        # add an fsync per apply; pass synchronous="FULL" when power-loss durability matters.
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.Error as exc:
        raise StoreError(describe(exc, path)) from exc
    migrate(conn, path, version)


def migrate(conn: sqlite3.Connection, path: str, version: int) -> None:
    for mig in migrations():
        if mig.version <= version:
            continue
        script = f"BEGIN IMMEDIATE;\n{mig.sql}\n;PRAGMA user_version = {mig.version};\nCOMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"migration {mig.name} failed: {describe(exc, path)}") from exc


def transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """Run `body` in one BEGIN IMMEDIATE transaction: committed, or rolled back and raised."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            # If this fails, SqliteStore._recover drops the connection (still in a transaction).
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result
