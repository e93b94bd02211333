"""A throwaway PostgreSQL cluster per test session, and a fresh database per test.

`pg_cluster` (session scope) runs `initdb` in a temporary directory and `pg_ctl start -w`
with the server listening only on a Unix socket in that directory (`listen_addresses=''`:
no TCP at all). When the tests run as root the cluster runs as the `postgres` user
(the server refuses root): the directory is chown'ed to it and the binaries run through
`runuser -u postgres --`. At the end the cluster is stopped (`-m immediate`) and removed.

`pg_url` (function scope) makes a fresh database per test with `CREATE DATABASE ... TEMPLATE
template0` (a file copy, tens of milliseconds) and gives its `postgresql://` URL.

A missing PostgreSQL fails the tests with the reason (scripts/test.sh installs the Debian
`postgresql` package): the PostgreSQL backend is never silently left untested. Outside CI
and not root (where the package cannot be installed by the test command), it is a skip
with the reason instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest


def _bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb (Debian), else PATH."""

    def major(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _unavailable(reason: str) -> None:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip(f"{reason} (not root and not CI: skipped; CI fails here)")
    pytest.fail(f"{reason}: install the Debian `postgresql` package (scripts/test.sh does)")


@dataclass(frozen=True, slots=True)
class PgCluster:
    socket_dir: str
    port: int
    user: str

    def url(self, dbname: str) -> str:
        return (
            f"postgresql://{self.user}@/{dbname}?host={quote(self.socket_dir, safe='')}"
            f"&port={self.port}"
        )

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return str(cur.fetchall()) if cur.description else ""


def _run(cmd: list[str], as_postgres: bool) -> subprocess.CompletedProcess[str]:
    if as_postgres:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class PgUnavailable(RuntimeError):
    """PostgreSQL is not installed or cannot be run here."""


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[PgCluster]:
    """initdb + pg_ctl start in a temporary directory (Unix socket only); stopped and
    removed on exit; not `durable` (tests): no fsync, asynchronous commit, no full-page
    writes; `durable` (benchmarks): PostgreSQL's defaults. PgUnavailable when PostgreSQL
    is missing; RuntimeError when it fails."""
    bindir = _bindir()
    if bindir is None:
        raise PgUnavailable("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin)")
    as_postgres = os.geteuid() == 0
    if as_postgres and shutil.which("runuser") is None:
        raise PgUnavailable("running as root needs `runuser` to start PostgreSQL as `postgres`")
    # A short path: a Unix socket path is limited to ~107 bytes.
    top = Path(tempfile.mkdtemp(prefix="prober-pg-", dir="/tmp"))
    data, sock = top / "data", top / "sock"
    sock.mkdir()
    user = "postgres" if as_postgres else os.environ.get("USER", "postgres")
    if as_postgres:
        shutil.chown(top, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = 5432  # only names the socket file (.s.PGSQL.5432) in our private directory
    started = False
    try:
        r = _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            as_postgres,
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed ({r.returncode}): {r.stderr.strip()}")
        opts = f"-c listen_addresses='' -c unix_socket_directories={sock} -p {port} "
        opts += "-c max_connections=200"
        if not durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        r = _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(top / "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            as_postgres,
        )
        if r.returncode != 0:
            log = (top / "log").read_text(errors="replace") if (top / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({r.returncode}): {r.stderr.strip()}\n{log}")
        started = True
        yield PgCluster(str(sock), port, user)
    finally:
        if started:
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                as_postgres,
            )
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except PgUnavailable as exc:
        _unavailable(str(exc))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards (connections forced out)."""
    name = "t_" + uuid.uuid4().hex[:16]
    pg_cluster.psql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
