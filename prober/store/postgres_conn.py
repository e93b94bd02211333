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

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from prober.errors import SchemaTooNewError, StoreError

SCHEMES = ("postgresql", "postgres")
LOCK_SPACE = 0x70726F62  # "prob": the first key of prober's advisory locks
MIGRATE_LOCK = 1
LEADER_LOCK = 2

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def is_postgres_url(db: str) -> bool:
    return db.split("://", 1)[0].lower() in SCHEMES and "://" in db


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


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
        return await psycopg.AsyncConnection.connect(url, autocommit=autocommit)
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
