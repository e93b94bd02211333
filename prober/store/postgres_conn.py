"""PostgreSQL connections for prober: URLs, pools, numbered migrations, clear errors.

The driver is psycopg 3 (`psycopg[binary]`, `psycopg-pool`), chosen over asyncpg: it is
kept by PostgreSQL community developers and built on libpq, so everything operators
already use works unchanged (PG* environment variables, `sslmode`/`sslrootcert`, service
files and `.pgpass`, Unix sockets, `target_session_attrs` for failover hosts), it binds
parameters server-side and is fully typed. asyncpg is faster per row but speaks the
protocol itself, without libpq; prober's writes are batched, so the driver is not the
bound (bench/pg_store.py).

Migrations are the package-data files `prober/store/migrations/postgres/NNNN_name.sql`,
applied in order, each recorded in `prober_schema`, all in ONE transaction under a
transaction-scoped advisory lock: two replicas starting at once do not race (the second
waits, then finds nothing left to do), and a failed migration leaves nothing behind.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from prober.errors import SchemaTooNewError, StoreError

SCHEMES = ("postgresql", "postgres")
LOCK_SPACE = 0x70726F62  # "prob": the first key of prober's advisory locks
MIGRATE_LOCK = 1
LEADER_LOCK = 2

# libpq client keepalives for every prober connection (ignored on Unix sockets): a lost
# network fails a query within about 10 s instead of the kernel's default (hours).
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    "connect_timeout": 5,
}


# Server-side bounds for every prober session (set by `configure_session`). A client that
# goes silent (network cut, process frozen) inside a write transaction keeps that
# transaction's locks, among them the share lock on the term row that fencing takes
# (postgres_lease.check_term); the next leader's election waits on it. The server's TCP
# keepalives (5 s idle, 3 probes 2 s apart) end a silent session in about 11 s when the
# link is idle; `idle_in_transaction_session_timeout` ends it whatever the link does
# (unacknowledged data defeats keepalives). prober's transactions are short: milliseconds
# between statements.
IDLE_IN_TRANSACTION_TIMEOUT = 10.0  # seconds
SERVER_KEEPALIVES = (("idle", 5), ("interval", 2), ("count", 3))


async def configure_session(conn: psycopg.AsyncConnection[Any]) -> None:
    """Apply the server-side bounds above to one session (a pool's `configure` hook)."""
    settings = [(f"tcp_keepalives_{name}", str(value)) for name, value in SERVER_KEEPALIVES]
    settings.append(
        ("idle_in_transaction_session_timeout", str(int(IDLE_IN_TRANSACTION_TIMEOUT * 1000)))
    )
    for name, value in settings:
        await conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    if not conn.autocommit:
        await conn.commit()


def defaults(url: str) -> dict[str, Any]:
    """KEEPALIVES without the settings the URL (or PGCONNECT_TIMEOUT) already gives: the
    operator's own settings win."""
    try:
        given = set(conninfo_to_dict(url))
    except psycopg.ProgrammingError:
        given = set()
    if os.environ.get("PGCONNECT_TIMEOUT"):
        given.add("connect_timeout")
    return {k: v for k, v in KEEPALIVES.items() if k not in given}


_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def is_postgres_url(db: str) -> bool:
    return db.split("://", 1)[0].lower() in SCHEMES and "://" in db


_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs. Read as libpq reads it: the
    user info runs to the first '@' before any '/' (so a password may hold '#' or '?',
    which urllib would take for a fragment or a query), and `password=` may be a query
    parameter."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    cut = min((i for i in (rest.find("@"), rest.find("/")) if i >= 0), default=-1)
    if cut >= 0 and rest[cut] == "@" and ":" in rest[:cut]:
        user = rest[:cut].split(":", 1)[0]
        rest = f"{user}:***{rest[cut:]}"
    return scheme + sep + _QUERY_PASSWORD.sub(r"\g<1>***", rest)


def describe(exc: BaseException, url: str) -> str:
    """A message naming the database (password hidden) and what went wrong."""
    text = str(exc).strip().replace(url, redact(url))
    return f"database {redact(url)}: {type(exc).__name__}: {text}"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """The bundled PostgreSQL migrations, numbered 1..N without gaps."""
    folder = resources.files("prober.store").joinpath("migrations").joinpath("postgres")
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    if [mig.version for mig in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"bundled migrations are not numbered 1..N: {[m.name for m in found]}")
    return tuple(found)


async def connect(url: str, *, autocommit: bool = False) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=autocommit, **defaults(url))
    except psycopg.Error as exc:
        raise StoreError(describe(exc, url)) from exc


async def migrate(url: str) -> int:
    """Bring the schema to the latest version; return it. SchemaTooNewError for a database
    written by a newer prober (nothing modified)."""
    conn = await connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, MIGRATE_LOCK))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS prober_schema ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT coalesce(max(version), 0) FROM prober_schema")
            row = await cur.fetchone()
            version = int(row[0]) if row else 0
            latest = len(migrations())
            if version > latest:
                raise SchemaTooNewError(
                    f"database {redact(url)} has schema version {version}, newer than this "
                    f"prober supports (version {latest}): run a newer prober; nothing was "
                    "modified"
                )
            for mig in migrations():
                if mig.version <= version:
                    continue
                await conn.execute(mig.sql.encode())
                await conn.execute(
                    "INSERT INTO prober_schema (version, name) VALUES (%s, %s)",
                    (mig.version, mig.name),
                )
            return latest
    except psycopg.Error as exc:
        raise StoreError(f"migration failed: {describe(exc, url)}") from exc
    finally:
        await conn.close()
