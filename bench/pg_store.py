"""PostgreSQL: rows and bytes written per 1,000 probes, append rate, failover time.

    python -m bench.pg_store [--db postgresql://...] [--probes 20000] [--batch 100]
                             [--failovers 5]

Without --db a throwaway cluster is started (tests/pg.py, PostgreSQL's durable defaults:
fsync on, synchronous commit, full-page writes) and removed at the end. Agents append one
row per probe (check, time, encoded result) in one transaction per batch; the figures are
per 1,000 probes: rows, heap+index growth of the `rounds` table, and WAL bytes (what
replication and backups carry), measured with pg_current_wal_lsn / pg_total_relation_size.
The leader's own writes per 1,000 probes are measured too: one probe-aggregate upsert per
check per minute (PostgresStore.add_probe_aggregates), i.e. per `interval`-second round
60/interval probes fold into one row.

Leader state saves: the engine of bench/engine_bench.py (1,000 checks, 500 components),
one probe round at a time, each followed by the save the service makes after it
(`PostgresStore.apply(effects, engine.state_delta())`: the engine row and the changed
component row, as upserts).

Failover: a leader process (tests/store/lease_child.py) is killed with SIGKILL; the time
until a waiting contender (polling every 10 ms) holds term + 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg

from prober.store.base import ProbeAggregate
from prober.store.postgres import PostgresStore
from prober.store.postgres_lease import PgLeadership
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


async def _db_bytes(url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, pg_database_size(current_database())"
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


async def leader_aggregates(url: str, checks: int, interval: float, minutes: int) -> str:
    """The leader's aggregate upserts for `checks` probed every `interval` s."""
    store = PostgresStore(url)
    await store.open()
    try:
        per_minute = max(1, round(60 / interval))
        wal0, size0 = await _db_bytes(url)
        for m in range(minutes):
            await store.add_probe_aggregates(
                [ProbeAggregate(f"check-{i}", f"comp-{i % 50}", 1_700_000_000 + 60 * m,
                                per_minute, 0, 0.01 * per_minute, 0.02) for i in range(checks)]
            )  # fmt: skip
        wal1, size1 = await _db_bytes(url)
    finally:
        await store.close()
    k = checks * minutes * per_minute / 1000
    return (
        f"leader aggregates ({checks} checks every {interval:g} s, {minutes} min): "
        f"{checks * minutes / k:.1f} rows, {(wal1 - wal0) / k / 1024:.1f} KiB WAL, "
        f"{(size1 - size0) / k / 1024:.1f} KiB database growth per 1,000 probes"
    )


ROOT = Path(__file__).resolve().parent.parent


async def leader_saves(url: str, checks: int, components: int, probes: int) -> str:
    from bench.engine_bench import T0, make_config
    from bench.state_save import round_of
    from prober.domain.engine import Engine

    interval = 10.0
    config = make_config(checks, components, interval)
    engine = Engine(config)
    step = interval / checks
    for i in range(checks):  # one warm-up interval: every window holds a round
        engine.observe(round_of(config, i, T0 + i * step), T0 + i * step + 0.004)
    store = PostgresStore(url)
    await store.open()
    try:
        await store.apply([], engine.state_delta(), (), T0)  # the first save is whole
        wal0, size0 = await _db_bytes(url)
        t0 = time.perf_counter()
        for n in range(probes):
            i = (n * 7919) % checks
            at = T0 + interval + n * step
            effects = engine.observe(round_of(config, i, at), at + 0.004)
            await store.apply(effects, engine.state_delta(), (), at)
        spent = time.perf_counter() - t0
        wal1, size1 = await _db_bytes(url)
    finally:
        await store.close()
    k = probes / 1000
    return (
        f"leader state saves ({checks} checks, {components} components, one save per probe): "
        f"{(wal1 - wal0) / k / 1024:.1f} KiB WAL, {(size1 - size0) / k / 1024:.1f} KiB "
        f"database growth per 1,000 probes; {spent / probes * 1e3:.2f} ms per save"
    )


async def failover(url: str, times: int) -> list[float]:
    """Seconds from SIGKILL of the leader process to a contender holding term + 1."""
    out: list[float] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for n in range(times):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.store.lease_child", url, f"leader-{n}",
            stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
        )  # fmt: skip
        waiter = PgLeadership(url, f"waiter-{n}")
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            term = int(line.split()[1])
            assert not await waiter.acquire()
            child.send_signal(signal.SIGKILL)
            t0 = time.perf_counter()
            for _ in range(3000):  # at most ~30 s
                if await waiter.acquire():
                    break
                await asyncio.sleep(0.01)
            took = time.perf_counter() - t0
            await child.wait()
            if waiter.term != term + 1:
                raise RuntimeError(f"no failover within 30 s (term {waiter.term})")
            out.append(took)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            await waiter.release()
    return out


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
    ap.add_argument("--failovers", type=int, default=5)
    args = ap.parse_args()
    with _database(args.db) as url:
        print(asyncio.run(leader_aggregates(url, checks=1000, interval=10.0, minutes=10)))
        print(asyncio.run(leader_saves(url, checks=1000, components=500, probes=2000)))
        times = asyncio.run(failover(url, args.failovers))
        print(
            f"failover after kill -9 ({len(times)} runs): median "
            f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )
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
