"""Agent probes per second per core, with its rounds written in batches, next to probing
alone (what `prober run` does per probe before its engine).

    python -m bench.agent [-n 3000] [-c 50] [--repeats 3] [--postgres] [--json FILE]

The target (`bench.light_target`) runs in its own process on another core when there is
one; only this process's CPU (time.process_time, all threads) is counted. Each variant
does the same N probes (HttpProber, fresh connection each) at the same concurrency, each
probe a round of its own check (1,000 checks), recorded in the per-check metrics:
- `probe_only`: the single-node figure (probe + metrics; no engine, no store);
- `agent_memory`: + encode + RoundWriter batches into an in-memory RoundLog;
- `agent_sqlite`: + encode + RoundWriter batches into a local SQLite RoundLog (WAL,
  synchronous=FULL: every batch fsynced before it counts);
- `agent_postgres` (with --postgres): + encode + RoundWriter batches into PostgreSQL
  (a durable throwaway cluster on this machine, tests/pg.py; its server CPU is not
  counted here, only the agent's).
`agent_path_us_per_round` isolates what the agent adds per round, without the network:
encode + RoundRow + RoundWriter (batched into memory), CPU microseconds per round; on a
busy shared machine it is the steadier figure of the two.
Variants alternate (their order rotating) over the repeats; medians are reported. Also:
rows and payload bytes written per 1,000 probes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.probe_overhead import start_target
from prober.clock import SystemClock
from prober.config.model import Check
from prober.distributed.codec import encode
from prober.distributed.roundlog import RoundRow, StoredRound
from prober.distributed.sqlite_rounds import SqliteRoundLog
from prober.distributed.writer import RoundWriter
from prober.metrics.fastexpo import CheckSeriesTable
from prober.probes.http import HttpProber

VARIANTS = ("probe_only", "agent_memory", "agent_sqlite")
CHECKS = 1000


class MemoryLog:
    def __init__(self) -> None:
        self.rows = 0
        self.bytes = 0

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        self.rows += len(rows)
        self.bytes += sum(len(r.payload) for r in rows)

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        return [], cursor

    async def prune_rounds(self, before: float) -> int:
        return 0


async def run(
    variant: str, url: str, n: int, concurrency: int, pg: str | None = None
) -> dict[str, float]:
    checks = [Check(f"c{i}", "bench", url, timeout=5.0, interval=10.0) for i in range(CHECKS)]
    series = CheckSeriesTable()
    series.set_checks(checks)
    clock = SystemClock()
    tmp = tempfile.TemporaryDirectory()
    sink = None
    writer = None
    if variant == "agent_memory":
        sink = MemoryLog()
    elif variant == "agent_sqlite":
        sink = SqliteRoundLog(str(Path(tmp.name) / "rounds.db"))
    elif variant == "agent_postgres":
        from prober.store.postgres_rounds import PostgresRoundLog

        assert pg is not None
        sink = PostgresRoundLog(pg)
        await sink.open()
    if sink is not None:
        writer = RoundWriter(sink, clock)
    payload_bytes = 0
    async with HttpProber(clock) as prober:
        task = asyncio.ensure_future(writer.run()) if writer else None
        left = n
        failures = 0

        async def worker(k: int) -> None:
            nonlocal left, failures, payload_bytes
            i = k
            while left > 0:
                left -= 1
                check = checks[i % CHECKS]
                i += concurrency
                result = await prober.probe(check)
                failures += not result.ok
                series.record(check, [result])
                if writer is not None:
                    payload = encode([result])
                    payload_bytes += len(payload)
                    writer.add(RoundRow("bench", "agent-0", check.id, result.at, payload))

        await prober.probe(checks[0])  # warm-up
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        if writer is not None:
            left_over = await writer.drain(clock.monotonic() + 30)
            assert left_over == 0, "rounds left unwritten"
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    written = writer.written if writer else 0
    if isinstance(sink, SqliteRoundLog):
        sink.close()
    elif sink is not None and not isinstance(sink, MemoryLog):
        await sink.close()
    tmp.cleanup()
    return {
        "probes_per_cpu_s": n / cpu,
        "probes_per_s_wall": n / wall,
        "failures": failures,
        "rows_written": written,
        "payload_bytes_per_1000": payload_bytes / n * 1000,
    }


async def agent_path(rounds: int = 100_000) -> float:
    """CPU microseconds the agent adds per one-probe round: encode, row, buffer, batch."""
    from prober.probes.result import PHASES, Reason
    from prober.probes.result import ProbeResult as Result

    r = Result("c1", "bench", 1.78e9, Reason.OK, 0.01, 200, "", dict.fromkeys(PHASES, 0.001))
    writer = RoundWriter(MemoryLog(), SystemClock())
    task = asyncio.ensure_future(writer.run())
    cpu0 = time.process_time()
    for i in range(rounds):
        writer.add(RoundRow("bench", "agent-0", "c1", r.at, encode([r])))
        if i % 100 == 0:
            await asyncio.sleep(0)
    left = await writer.drain(time.monotonic() + 30)
    cpu = time.process_time() - cpu0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert left == 0 and writer.written == rounds
    return cpu / rounds * 1e6


def measure(n: int, concurrency: int, repeats: int, pg: str | None = None) -> dict[str, object]:
    variants = (*VARIANTS, "agent_postgres") if pg else VARIANTS
    k = len(variants)
    proc, url = start_target()
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    try:
        for r in range(repeats):
            for variant in variants[r % k :] + variants[: r % k]:  # rotate: no fixed order
                runs[variant].append(asyncio.run(run(variant, url, n, concurrency, pg)))
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    med = {v: statistics.median(r["probes_per_cpu_s"] for r in runs[v]) for v in variants}
    return {
        "n": n,
        "concurrency": concurrency,
        "repeats": repeats,
        "probes_per_cpu_s": med,
        "ratio_to_probe_only": {v: med[v] / med["probe_only"] for v in variants},
        "rows_per_1000_probes": {v: runs[v][0]["rows_written"] / n * 1000 for v in variants},
        "payload_bytes_per_1000_probes": runs["agent_memory"][0]["payload_bytes_per_1000"],
        "failures": sum(r["failures"] for v in variants for r in runs[v]),
        "agent_path_us_per_round": asyncio.run(agent_path()),
        "probe_only_us_per_probe": 1e6 / med["probe_only"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("-n", type=int, default=3000, help="probes per run")
    ap.add_argument("-c", "--concurrency", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--postgres", action="store_true", help="also into PostgreSQL")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    if args.postgres:
        from bench.pg_store import _database

        with _database(None) as pg:
            out = measure(args.n, args.concurrency, args.repeats, pg)
    else:
        out = measure(args.n, args.concurrency, args.repeats)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
