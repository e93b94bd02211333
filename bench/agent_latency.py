"""Extra detection latency of the agent -> round log -> leader path.

    python -m bench.agent_latency [--seconds 20] [--checks 200] [--db URL|sqlite]

Three locations (eu, us, ap), each a RoundWriter with the agent's defaults (flush every
500 rounds or 200 ms), write every check's round (1 s interval, on the check's stable
phase) to one round log; the leader's Feed polls it every `--poll` seconds and merges by
quorum. For each decided round the latency is the poll time that decided it minus the
moment an in-process prober would have had the result (its start + its duration): the
flush wait, the write, the read, the poll period and the wait for the slowest location.
Without --db a durable throwaway PostgreSQL cluster is started (tests/pg.py); `sqlite`
uses a local SQLite round log. Real time, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from prober.clock import SystemClock
from prober.config.loader import parse_config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.distributed.roundlog import RoundLog, RoundRow
from prober.distributed.sqlite_rounds import SqliteRoundLog
from prober.distributed.writer import RoundWriter
from prober.domain.quorum import phase
from prober.probes.result import ProbeResult, Reason

LOCATIONS = ("eu", "us", "ap")
DURATION = 0.005


def _config(checks: int):  # type: ignore[no-untyped-def]
    lines = [
        "components: [{id: api, name: API}]",
        "checks:",
        *(
            f'  - {{id: c{i}, component: api, url: "http://127.0.0.1:9/", interval: 1s}}'
            for i in range(checks)
        ),
        "distributed: {locations: [eu, us, ap]}",
    ]
    return parse_config("\n".join(lines) + "\n")


async def _open(db: str) -> RoundLog:
    if db.startswith("sqlite:///"):
        return SqliteRoundLog(db.removeprefix("sqlite://"))
    from prober.store.postgres_rounds import PostgresRoundLog

    log = PostgresRoundLog(db)
    await log.open()
    return log


async def run(db: str, seconds: float, checks: int, poll: float) -> dict[str, object]:
    config = _config(checks)
    clock = SystemClock()
    logs = [await _open(db) for _ in range(len(LOCATIONS) + 1)]
    writers = [RoundWriter(log, clock) for log in logs[:-1]]
    tasks = [asyncio.ensure_future(w.run()) for w in writers]
    feed = Feed(logs[-1], config)
    latencies: list[float] = []
    ids = [c.id for c in config.checks]
    start = time.time()
    nxt = {c: start + (phase(c, 1.0) - start) % 1.0 for c in ids}
    stop_at = start + seconds

    async def agents() -> None:
        while time.time() < stop_at:
            now = time.time()
            for c in ids:
                while nxt[c] <= now:
                    at = nxt[c]
                    nxt[c] += 1.0
                    for loc, w in zip(LOCATIONS, writers, strict=True):
                        r = ProbeResult(c, "api", at, Reason.OK, DURATION, 200)
                        w.add(RoundRow(loc, f"{loc}-0", c, at, encode([r])))
            await asyncio.sleep(0.005)

    async def leader() -> None:
        while time.time() < stop_at + 3:
            await asyncio.sleep(poll)
            batch = await feed.poll(time.time())
            decided_at = time.time()
            for _, results in batch.rounds:
                latencies.append(decided_at - (results[0].at + results[0].duration))

    await asyncio.gather(agents(), leader())
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for log in logs:
        close = getattr(log, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "db": "sqlite" if db.startswith("sqlite") else "postgresql",
        "checks": checks,
        "locations": len(LOCATIONS),
        "seconds": seconds,
        "poll": poll,
        "rounds_decided": len(latencies),
        "rows_written": sum(w.written for w in writers),
        "extra_latency_s": {"p50": q[49], "p90": q[89], "p99": q[98], "max": latencies[-1]},
    }


@contextlib.contextmanager
def _database(db: str | None) -> Iterator[str]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'rounds.db'}"
        return
    if db:
        yield db
        return
    from bench.pg_store import _database as pg

    with pg(None) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--poll", type=float, default=0.25, help="leader poll period, seconds")
    ap.add_argument(
        "--db",
        default=None,
        help="postgresql:// URL, or sqlite (default: a throwaway PostgreSQL cluster)",
    )
    args = ap.parse_args(argv)
    with _database(args.db) as url:
        out = asyncio.run(run(url, args.seconds, args.checks, args.poll))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
