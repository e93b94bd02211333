"""Micro benchmark of the stores: aggregate upserts and incident effects per second.

    python bench/store_bench.py [--sync NORMAL|FULL]

Probe results are aggregated per check and minute before they reach the store, so a
thousand probes per second become one row per check per minute; this shows what those
rows, and incident transitions (one transaction each), cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prober.domain.codec import StateDelta
from prober.domain.effects import ComponentStateChanged, IncidentOpened, IncidentUpdated
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.store.base import ProbeAggregate, Store
from prober.store.memory import MemoryStore
from prober.store.sqlite import SqliteStore

OP, MAJOR = ComponentStatus.OPERATIONAL, ComponentStatus.MAJOR_OUTAGE


def aggregates(n: int, checks: int = 200) -> list[ProbeAggregate]:
    return [
        ProbeAggregate(f"check-{i % checks}", "api", 60 * (i // checks), 60, i % 3, 6.0, 0.4)
        for i in range(n)
    ]


def incident_effects(n: int) -> list[list[object]]:
    """n applies: each opens an incident or adds an update, with a status change."""
    out: list[list[object]] = []
    inc: Incident | None = None
    for k in range(n):
        at = 1000.0 + k
        aff = (AffectedComponent("api", "Platform API", OP, MAJOR),)
        if k % 5 == 0:
            iid = f"inc-{k}"
            upd = IncidentUpdate(f"{iid}-u0", iid, IncidentStatus.INVESTIGATING, "x", at, aff)
            inc = Incident(iid, "Elevated 500 rates", IncidentStatus.INVESTIGATING,
                           Impact.CRITICAL, at, at, at, components=(("api", MAJOR),),
                           updates=(upd,))  # fmt: skip
            effect: object = IncidentOpened(inc)
        else:
            assert inc is not None
            upd = IncidentUpdate(f"{inc.id}-u{k}", inc.id, IncidentStatus.IDENTIFIED, "y", at, aff)
            inc = replace(inc, updated_at=at, updates=(*inc.updates, upd))
            effect = IncidentUpdated(inc, upd)
        out.append([effect, ComponentStateChanged("api", OP, MAJOR, at, 1.0)])
    return out


async def bench(name: str, store: Store, state_size: int) -> None:
    await store.open()
    rows = aggregates(10_000)
    t = time.perf_counter()
    await store.add_probe_aggregates(rows)
    one = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, len(rows), 200):  # one flush per minute of 200 checks
        await store.add_probe_aggregates(rows[i : i + 200])
    batched = time.perf_counter() - t
    steps = incident_effects(1_000)
    # Each apply writes the engine row and one changed component's row (bench/state_save.py
    # measures the rows of a real engine).
    first = StateDelta(
        {"seq": 0}, {f"c{i}": {"shown": "operational", "n": i} for i in range(state_size)}, True
    )
    await store.apply([], first, (), 0.0)
    t = time.perf_counter()
    for i, effects in enumerate(steps):
        state = StateDelta({"seq": i}, {f"c{i % state_size}": {"shown": "major_outage", "n": i}})
        await store.apply(effects, state, [("hook", f"k{i}", b"{}")], now=float(i))  # type: ignore[arg-type]
    applies = time.perf_counter() - t
    await store.close()
    print(
        f"{name:<22} aggregates: {len(rows) / one:>9,.0f} rows/s in one batch, "
        f"{len(rows) / batched:>9,.0f} rows/s in batches of 200 | "
        f"incident applies: {len(steps) / applies:>7,.0f}/s "
        f"({applies / len(steps) * 1e3:.2f} ms each)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-components", type=int, default=50)
    args = parser.parse_args()
    await bench("memory", MemoryStore(), args.state_components)
    await bench("sqlite :memory:", SqliteStore(":memory:"), args.state_components)
    with tempfile.TemporaryDirectory() as d:
        for sync in ("NORMAL", "FULL"):
            path = str(Path(d) / f"{sync}.db")
            await bench(f"sqlite file {sync}", SqliteStore(path, synchronous=sync),
                        args.state_components)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
