"""One writer per database: an exclusive lock on `<db>.lock`, held for the process's life.

SQLite's own locking lets two processes share a file, each believing it is alone: both
would open every incident and send every webhook. `flock` on a side file refuses the second
at once; the holder writes its pid and host into the file so the refusal can name it. The
lock goes with the process (kill -9 included): no stale lock to clean up by hand. (On NFS
flock may be local to one client: keep the database on a local or block volume,
ReadWriteOnce.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket

from prober.errors import StoreError, StoreLockedError


class FileLock:
    def __init__(self, db_path: str) -> None:
        self.path = f"{db_path}.lock"
        self._fd: int | None = None

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
                    "directory exists and is writable") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read(fd)
            os.close(fd)
            raise StoreLockedError(
                f"database {self.path[:-5]!r} is in use by another prober ({holder}); only "
                "one process may write a database: stop the other one or use another --db"
            ) from exc
        if writable:
            with contextlib.suppress(OSError):  # a full disk: the lock holds all the same
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
