"""PostgreSQL write cost: rows and bytes written per 1,000 probes, and append rate.

    python -m bench.pg_store [--db postgresql://...] [--probes 20000] [--batch 100]

Without --db a throwaway cluster is started (tests/pg.py, PostgreSQL's durable defaults:
fsync on, synchronous commit, full-page writes) and removed at the end. Agents append one
row per probe (check, time, encoded result) in one transaction per batch; the figures are
per 1,000 probes: rows, heap+index growth of the `rounds` table, and WAL bytes (what
replication and backups carry), measured with pg_current_wal_lsn / pg_total_relation_size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator

import orjson
import psycopg

from prober.store.postgres_rounds import PostgresRoundLog
from prober.store.rounds import RoundRow


def payload(i: int) -> bytes:
    """An encoded probe result of the size agents send (status, latency, reason, code)."""
    return orjson.dumps(
        {"ok": i % 50 != 0, "latency": 0.0123 + i % 7 / 1000, "reason": "", "code": 200}
    )


async def _wal_and_size(url: str) -> tuple[int, int, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, pg_total_relation_size('rounds'),"
            " (SELECT count(*) FROM rounds)"
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])


async def run(url: str, probes: int, batch: int) -> dict[str, float]:
    log = PostgresRoundLog(url)
    await log.open()
    try:
        await log.append_rounds([RoundRow("warm", "a", "c", 0.0, b"x")])
        wal0, size0, rows0 = await _wal_and_size(url)
        t0 = time.perf_counter()
        for start in range(0, probes, batch):
            await log.append_rounds(
                [
                    RoundRow("eu-west", "agent-0", f"check-{i % 1000}", 1.7e9 + i, payload(i))
                    for i in range(start, min(start + batch, probes))
                ]
            )
        elapsed = time.perf_counter() - t0
        wal1, size1, rows1 = await _wal_and_size(url)
        t1 = time.perf_counter()
        cursor, read = 0, 0
        while True:
            got, cursor = await log.rounds_after(cursor, 5000)
            if not got:
                break
            read += len(got)
        read_s = time.perf_counter() - t1
    finally:
        await log.close()
    k = probes / 1000
    return {
        "probes": probes,
        "batch": batch,
        "rows_per_1000_probes": (rows1 - rows0) / k,
        "table_bytes_per_1000_probes": (size1 - size0) / k,
        "wal_bytes_per_1000_probes": (wal1 - wal0) / k,
        "append_probes_per_s": probes / elapsed,
        "read_rows_per_s": read / read_s if read_s else 0.0,
    }


@contextlib.contextmanager
def _database(db: str | None) -> Iterator[str]:
    if db:
        yield db
        return
    from tests.pg import throwaway_cluster

    with throwaway_cluster(durable=True) as cluster:
        cluster.psql('CREATE DATABASE "bench"')
        yield cluster.url("bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="a postgresql:// URL (default: a throwaway local cluster)")
    ap.add_argument("--probes", type=int, default=20_000)
    ap.add_argument("--batch", type=int, action="append", help="rows per transaction")
    args = ap.parse_args()
    with _database(args.db) as url:
        for batch in args.batch or [1, 100, 1000]:
            n = min(args.probes, 2000) if batch == 1 else args.probes
            r = asyncio.run(run(url, n, batch))
            print(
                f"batch {batch:>5}: {r['rows_per_1000_probes']:.0f} rows, "
                f"{r['table_bytes_per_1000_probes'] / 1024:.1f} KiB table+index, "
                f"{r['wal_bytes_per_1000_probes'] / 1024:.1f} KiB WAL per 1,000 probes; "
                f"append {r['append_probes_per_s']:,.0f} probes/s, "
                f"read {r['read_rows_per_s']:,.0f} rows/s ({r['probes']} probes)"
            )


if __name__ == "__main__":
    main()
