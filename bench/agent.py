"""Agent probes per second per core, with its rounds written in batches, next to probing
alone (what `prober run` does per probe before its engine).

    python -m bench.agent [-n 3000] [-c 50] [--repeats 3] [--postgres] [--loop uvloop]
                          [--json FILE]

The target (`bench.light_target`) runs in its own process on another core when there is
one; only this process's CPU (time.process_time, all threads) is counted: neither the
target's nor the PostgreSQL server's. Each variant does the same N probes (HttpProber,
fresh connection each) at the same concurrency, each probe a round of its own check (1,000
checks), on the event loop both `prober run` and `prober agent` use (uvloop when installed;
`--loop asyncio` for the plain one) and with the garbage collector as both set it
(prober/fastgc.py: no automatic full collections), after a full collection, so that each
run starts from the same heap:
- `probe_only`: the single-node figure (probe + per-check metrics: what `prober run` does
  per probe before its engine; no engine, no store, so the comparison is the strict one);
- `agent_memory`: the agent's own round handler (`Agent._on_round`: metrics, then the
  round staged in its RoundWriter, encoded with the others staged, batched) into an
  in-memory RoundLog;
- `agent_sqlite`: the same into a local SQLite RoundLog (WAL, synchronous=FULL: every batch
  fsynced before it counts);
- `agent_postgres` (with --postgres): the same into PostgreSQL (a durable throwaway
  cluster on this machine, tests/pg.py; one binary COPY and commit per batch).
`agent_path_us_per_round` isolates what the agent adds per round, without the network:
stage + encode + RoundRow + RoundWriter (batched into memory), CPU microseconds per round,
in a tight loop (so with hot caches: in the probing loop the same code costs more).
Variants alternate (their order rotating) over the repeats; medians are reported. Also:
rows and payload bytes written per 1,000 probes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.probe_overhead import start_target
from prober.clock import SystemClock
from prober.config.loader import parse_config
from prober.config.model import Config
from prober.distributed.agent import Agent
from prober.distributed.roundlog import RoundRow, StoredRound
from prober.distributed.sqlite_rounds import SqliteRoundLog
from prober.fastgc import quiet_gc
from prober.metrics.fastexpo import CheckSeriesTable
from prober.probes.http import HttpProber
from prober.store.postgres_rounds import PostgresRoundLog

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


def _config(url: str) -> Config:
    return parse_config(
        "components: [{id: bench, name: Bench}]\nchecks:\n"
        + "".join(
            f'  - {{id: c{i}, component: bench, url: "{url}", interval: 10s, timeout: 5s}}\n'
            for i in range(CHECKS)
        )
    )


async def run(
    variant: str, url: str, n: int, concurrency: int, pg: str | None = None
) -> dict[str, float]:
    """One variant's N probes; call it through `run_variant` (the loop and the GC)."""
    config = _config(url)
    checks = list(config.checks)
    series = CheckSeriesTable()
    series.set_checks(checks)
    clock = SystemClock()
    tmp = tempfile.TemporaryDirectory()
    sink: MemoryLog | SqliteRoundLog | PostgresRoundLog | None = None
    if variant == "agent_memory":
        sink = MemoryLog()
    elif variant == "agent_sqlite":
        sink = SqliteRoundLog(str(Path(tmp.name) / "rounds.db"))
    elif variant == "agent_postgres":
        assert pg is not None
        sink = PostgresRoundLog(pg)
        await sink.open()
    agent = None if sink is None else Agent(config, sink, "bench", clock=clock, name="agent-0")
    async with HttpProber(clock) as prober:
        task = asyncio.ensure_future(agent.writer.run()) if agent else None
        left = n
        failures = 0

        async def worker(k: int) -> None:
            nonlocal left, failures
            i = k
            while left > 0:
                left -= 1
                check = checks[i % CHECKS]
                i += concurrency
                result = await prober.probe(check)
                failures += not result.ok
                if agent is None:
                    series.record(check, [result])  # what `prober run` does before its engine
                else:
                    await agent._on_round(check, [result], 0.0)  # the agent's round handler

        await prober.probe(checks[0])  # warm-up
        gc.collect()  # every run starts from the same heap (full collections are manual)
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        if agent is not None:
            left_over = await agent.writer.drain(clock.monotonic() + 30)
            assert left_over == 0, "rounds left unwritten"
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    written = agent.writer.written if agent else 0
    if isinstance(sink, SqliteRoundLog):
        sink.close()
    elif isinstance(sink, PostgresRoundLog):
        await sink.close()
    tmp.cleanup()
    return {
        "probes_per_cpu_s": n / cpu,
        "probes_per_s_wall": n / wall,
        "failures": failures,
        "rows_written": written,
        "payload_bytes_per_1000": sink.bytes / n * 1000 if isinstance(sink, MemoryLog) else 0,
    }


def run_variant(
    variant: str, url: str, n: int, concurrency: int, pg: str | None = None, loop: str = "uvloop"
) -> dict[str, float]:
    """`run` on the loop `prober run` and `prober agent` use (uvloop when installed) and
    with their garbage-collector setting (no automatic full collections)."""
    factory = None
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            loop = "asyncio"
        else:
            factory = uvloop.new_event_loop
    saved = gc.get_threshold()
    quiet_gc()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(run(variant, url, n, concurrency, pg))
    finally:
        gc.set_threshold(*saved)


async def agent_path(rounds: int = 100_000) -> float:
    """CPU microseconds the agent adds per one-probe round, without the network: stage the
    round, encode it with the others staged, RoundRow, batch (into memory)."""
    from prober.probes.result import PHASES, Reason
    from prober.probes.result import ProbeResult as Result

    r = Result("c1", "bench", 1.78e9, Reason.OK, 0.01, 200, "", dict.fromkeys(PHASES, 0.001))
    agent = Agent(_config("http://127.0.0.1:1/ok"), MemoryLog(), "bench", name="agent-0")
    writer = agent.writer
    task = asyncio.ensure_future(writer.run())
    cpu0 = time.process_time()
    for i in range(rounds):
        writer.stage(("c1", [r], str, 0))
        if i % 100 == 0:
            await asyncio.sleep(0)
    left = await writer.drain(time.monotonic() + 30)
    cpu = time.process_time() - cpu0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert left == 0 and writer.written == rounds
    return cpu / rounds * 1e6


def measure(
    n: int,
    concurrency: int,
    repeats: int,
    pg: str | None = None,
    loop: str = "uvloop",
    variants: Sequence[str] | None = None,
) -> dict[str, object]:
    if variants is None:
        variants = (*VARIANTS, "agent_postgres") if pg else VARIANTS
    variants = tuple(variants)
    if variants[0] != "probe_only":
        raise ValueError("the first variant must be probe_only (the single-node figure)")
    k = len(variants)
    load_start = os.getloadavg()
    proc, url = start_target()
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    try:
        for r in range(repeats):
            for variant in variants[r % k :] + variants[: r % k]:  # rotate: no fixed order
                runs[variant].append(run_variant(variant, url, n, concurrency, pg, loop))
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    med = {v: statistics.median(r["probes_per_cpu_s"] for r in runs[v]) for v in variants}
    base = [r["probes_per_cpu_s"] for r in runs["probe_only"]]
    out: dict[str, object] = {
        "n": n,
        "concurrency": concurrency,
        "repeats": repeats,
        "loop": loop if loop != "uvloop" or _have_uvloop() else "asyncio",
        "probes_per_cpu_s": med,
        "ratio_to_probe_only": {v: med[v] / med["probe_only"] for v in variants},
        # Each repeat's agent run against the same repeat's single-node run: drift on a
        # shared machine hits both alike, so the median of these is the steadier ratio.
        "paired_ratio_median": {
            v: statistics.median(
                r["probes_per_cpu_s"] / b for r, b in zip(runs[v], base, strict=True)
            )
            for v in variants
        },
        "all_runs_probes_per_cpu_s": {
            v: [round(r["probes_per_cpu_s"]) for r in runs[v]] for v in variants
        },
        "rows_per_1000_probes": {v: runs[v][0]["rows_written"] / n * 1000 for v in variants},
        "failures": sum(r["failures"] for v in variants for r in runs[v]),
        "agent_path_us_per_round": asyncio.run(agent_path()),
        "probe_only_us_per_probe": 1e6 / med["probe_only"],
        "load_average_start_end": [round(x, 2) for x in (*load_start, *os.getloadavg())],
    }
    if "agent_memory" in runs:
        out["payload_bytes_per_1000_probes"] = runs["agent_memory"][0]["payload_bytes_per_1000"]
    return out


def _have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("-n", type=int, default=3000, help="probes per run")
    ap.add_argument("-c", "--concurrency", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--postgres", action="store_true", help="also into PostgreSQL")
    ap.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop",
        help="event loop of every variant (default: uvloop, as prober run and prober agent)",
    )  # fmt: skip
    ap.add_argument(
        "--variants", help="comma-separated, probe_only first (default: all; with --postgres"
        " agent_postgres too)",
    )  # fmt: skip
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    variants = args.variants.split(",") if args.variants else None
    unknown = set(variants or ()) - {*VARIANTS, "agent_postgres"}
    if unknown:
        ap.error(f"unknown variants {sorted(unknown)}: choose from {(*VARIANTS, 'agent_postgres')}")
    if variants and "agent_postgres" in variants and not args.postgres:
        ap.error("variant agent_postgres needs --postgres")
    if args.postgres:
        from bench.pg_store import _database

        with _database(None) as pg:
            out = measure(args.n, args.concurrency, args.repeats, pg, args.loop, variants)
    else:
        out = measure(args.n, args.concurrency, args.repeats, None, args.loop, variants)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
