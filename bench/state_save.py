"""Bytes written to save the engine's state after a change, with a real Engine and store.

    python bench/state_save.py [--checks 10000] [--components 10000] [--saves 200]

Builds the engine of bench/engine_bench.py (one check per component by default, 1 in 100
answering 500, 1 in 200 unreachable), runs one warm-up interval of rounds, then measures
`--saves` changes: each is one probe round (`observe`) followed by the save the service
makes after it, through SqliteStore on a file (WAL, synchronous NORMAL) and through
MemoryStore. Printed per save: the JSON bytes handed to the store, and the bytes the
process wrote to the file system (`wchar` of /proc/self/io, the WAL frames included).

The same script runs against the code before the state rows (the whole state saved as
one document: `store.apply(effects, engine.to_state())`) and after (`engine.state_delta()`):
it imports the checkout it sits in, so copy it into an older checkout's bench/ and run it
there to compare. Figures of 2026-11-29 (2 shared cores), `--saves 200` / `--saves 100`:

    before  500 components: 1,653,219 B of JSON, 4,990,906 B written, 135 ms per save
            10,000 components: 6,107,710 B of JSON, 24,535,015 B written, 715 ms per save
    after   500 components: 3,559 B of JSON, 32,760 B written, 0.9 ms per save
            10,000 components: 869 B of JSON, 8,605 B written, 0.7 ms per save
            (the first save of an engine is whole: 2.5 MB / 14.6 MB on disk)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine_bench import T0, make_config, reason_of
from prober.domain.engine import Engine
from prober.probes.result import ProbeResult, Reason
from prober.store import codec
from prober.store.sqlite import SqliteStore

ROWS = hasattr(Engine, "state_delta")  # the state rows (after) or one document (before)


def wchar() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def disk_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def payload(state: Any) -> int:
    """JSON bytes handed to the store for this save."""
    if not ROWS:
        return len(codec.dump_state(state))
    rows = [state.engine, *state.components.values()]
    return sum(len(codec.dump_state(r)) for r in rows)


def encode_whole(engine: Engine) -> str:
    """Encoding a complete delta (the first save, a reload): orjson against json."""
    import json

    if not ROWS:
        return ""
    delta = Engine(engine.config, engine.to_state()).state_delta()  # a new engine's: whole
    rows = [delta.engine, *delta.components.values()]
    t0 = time.perf_counter()
    size = sum(len(codec.dump_state(r)) for r in rows)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for r in rows:
        json.dumps(r, sort_keys=True)
    plain = time.perf_counter() - t0
    return (
        f"complete delta {size / 1e6:.1f} MB encoded in {fast * 1e3:.0f} ms with orjson, "
        f"{plain * 1e3:.0f} ms with json"
    )


def round_of(config: Any, index: int, at: float) -> list[ProbeResult]:
    check = config.checks[index]
    reason = reason_of(index)
    code = 500 if reason is Reason.HTTP_5XX else (200 if reason is Reason.OK else None)
    return [ProbeResult(check.id, check.component, at, reason, 0.004, status_code=code)]


def save_of(engine: Engine) -> Any:
    return engine.state_delta() if ROWS else engine.to_state()


async def run(checks: int, components: int, saves: int, interval: float) -> None:
    config = make_config(checks, components, interval)
    engine = Engine(config)
    step = interval / checks
    for i in range(checks):  # one warm-up interval: every window holds a round
        engine.observe(round_of(config, i, T0 + i * step), T0 + i * step + 0.004)
    with tempfile.TemporaryDirectory() as d:
        store = SqliteStore(str(Path(d) / "bench.db"))
        await store.open()
        await store.apply([], save_of(engine), (), T0)  # the first save is always whole
        first_file = disk_size(Path(d))
        sent = written = engine_row = 0
        spent = 0.0
        base = T0 + interval
        for n in range(saves):  # bounded
            i = (n * 7919) % checks  # spread over the checks
            at = base + n * step
            effects = engine.observe(round_of(config, i, at), at + 0.004)
            t0 = time.perf_counter()
            state = save_of(engine)
            size = payload(state)
            w0 = wchar()
            await store.apply(effects, state, (), at)
            written += wchar() - w0
            spent += time.perf_counter() - t0
            sent += size
            if ROWS:
                engine_row = max(engine_row, len(codec.dump_state(state.engine)))
        await store.close()
    whole = encode_whole(engine)
    print(
        f"{'rows' if ROWS else 'document':<9} {checks:>7,} checks {components:>6,} components | "
        f"first save {first_file / 1e6:6.2f} MB on disk | per save: "
        f"{sent / saves:>10,.0f} B of JSON, {written / saves:>10,.0f} B written, "
        f"{spent / saves * 1e3:6.2f} ms (encode + SQLite)"
        + (f"; engine row at most {engine_row:,} B" if ROWS else "")
    )
    if whole:
        print(f"{'':<9} {whole}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--components", type=int, nargs="+", default=[500, 10_000])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args(argv)
    for components in args.components:
        asyncio.run(run(args.checks, components, args.saves, args.interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
