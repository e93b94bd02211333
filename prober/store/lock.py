"""One writer per database: an exclusive lock on `<db>.lock`, held for the process's life.

SQLite's own locking lets two processes share a file, each believing it is alone: both
would open every incident and send every webhook. `flock` on a side file refuses the second
at once; the holder writes its pid and host into the file so the refusal can name it, and
after each commit of the domain state its number (`generation`): a database found older
than that at the next start lost commits (a lost `-wal` file, an older copy restored) and
one found missing was deleted; both are refused unless `--allow-new-db`. The
lock goes with the process (kill -9 included): no stale lock to clean up by hand. (On NFS
flock may be local to one client: keep the database on a local or block volume,
ReadWriteOnce.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket

from prober.errors import StoreError, StoreLockedError, StoreLostError


class FileLock:
    def __init__(self, db_path: str) -> None:
        self.db = db_path
        self.path = f"{db_path}.lock"
        self._fd: int | None = None
        self.previous: dict[str, str] = {}  # what the last holder recorded (see `record`)
        self._facts: dict[str, str] = {}
        self._writable = False

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise StoreLockedError naming the holder (pid and host);
        StoreError when the lock file cannot be opened at all (missing directory)."""
        if self._fd is not None:
            return
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise StoreError(f"database {self.path[:-5]!r}: directory {parent!r} does not exist")
        writable = True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            writable = False  # a read-only volume: an existing lock file still locks
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except OSError as exc:
                raise StoreError(
                    f"database lock {self.path!r}: cannot open ({exc.strerror}); check the "
                    "directory exists and is writable"
                ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read(fd).splitlines()[0] if _read(fd) else "holder unknown"
            os.close(fd)
            raise StoreLockedError(
                f"database {self.path[:-5]!r} is in use by another prober ({holder}); only "
                "one process may write a database: stop the other one or use another --db"
            ) from exc
        self.previous = _fields(_read(fd))
        self._fd = fd
        self._writable = writable
        self._facts = dict(self.previous)  # kept until this holder knows better
        self.record()

    def record(self, **fields: str) -> None:
        """Rewrite the lock file: the holder, and facts the next start checks (whether a
        database existed, whether its holder closed it cleanly)."""
        if self._fd is None or not self._writable:
            return
        self._facts.update(fields)
        text = f"pid {os.getpid()} on host {socket.gethostname()}\n" + "".join(
            f"{k}={v}\n" for k, v in sorted(self._facts.items())
        )
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)

    def check_present(self, allow_new: bool) -> None:
        """Before opening: refuse to create a database where one had commits."""
        recorded = int(self.previous.get("generation", "0") or 0)
        if os.path.exists(self.db) or recorded == 0:
            return
        if not allow_new:
            raise StoreLostError(
                f"database {self.db!r} had {recorded} commits (recorded in {self.path!r}) "
                f"and is gone: {_FIX}"
            )
        self._facts["generation"] = "0"
        self.record()

    def check_generation(self, found: int, allow_new: bool) -> None:
        """After opening: refuse a database older than the last commit made to it (a lost
        `-wal` file, a restored backup); it would restart older without a word."""
        recorded = int(self.previous.get("generation", "0") or 0)
        if found < recorded and not allow_new:
            raise StoreLostError(
                f"database {self.db!r} is older than its last commit (commit {found}, "
                f"{recorded} recorded in {self.path!r}): its write-ahead log {self.db}-wal was "
                f"lost or an older copy was restored: {_FIX}"
            )
        self.record(generation=str(found))

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


_FIX = (
    "restore it (and its -wal file) from a backup, or start with --allow-new-db to accept "
    "the loss of open incidents, history and pending webhooks"
)


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 1000, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
