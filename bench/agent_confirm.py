"""Detection with agents and confirmation rounds (issues 11 and 14): time from the start of
a total outage of one check to `major_outage` at the leader, at the defaults (15 s, one
request a round), three locations.

    python -m bench.agent_confirm [--offsets 0.05,3,7.5,11,14.5]

Two harnesses, both on simulated time (no real waiting):
- `agents`: three real `Agent`s (the real Runner with its confirmation rounds and their
  jitter, seeded) writing to a memory round log, the leader's `Feed` and the real engine
  (tests/distributed/test_confirm_agents.py);
- `domain`: the same, with the runner's Confirmer and the agent's labels simulated
  (tests/domain/quorum_world.py).
Scenarios: the outage seen by all three locations; by two (the third passes); by two with
the third location lost (no network) beforehand. Each outage starts `offset` seconds
after a round; also printed: the rows the agents wrote and the merged confirmation rounds
the engine got in the two intervals after the start. Last, for comparison, the same
outage when agents sent no confirmation rounds (as before issue 14's fix).
"""

from __future__ import annotations

import argparse
import asyncio
import random
from types import SimpleNamespace

import prober.confirm_rounds
from prober.probes.result import Reason
from tests.distributed import test_confirm_agents as agents
from tests.domain import quorum_world as domain

SCENARIOS = {
    "all three": (("eu", "us", "ap"), False),
    "two of three": (("eu", "us"), False),
    "two, the third lost": (("eu", "us"), True),
}
ALL = ("api-check", "web-check", "db-check")


def _seed_runner_jitter(seed: int) -> None:
    seeds = iter(range(seed, seed + 1_000_000))

    class Seeded(random.Random):
        def __init__(self, x: object = None) -> None:
            super().__init__(next(seeds) if x is None else x)

    prober.confirm_rounds.random = SimpleNamespace(Random=Seeded)  # type: ignore[assignment]


async def agents_run(
    locations: tuple[str, ...], lost: bool, offset: float
) -> tuple[float, int, int]:
    w = await agents.started(agents.World())
    if lost:
        w.outcome = agents.fails(("ap",), ALL, w.now, Reason.CONNECT)
        await w.run(120.0)
    start = w.next_round() + offset
    rows_before, merged_before = len(w.log.rows), w.merged_confirmations
    w.outcome = agents.fails(locations, ("api-check",), start, then=w.outcome)
    await w.run(start - w.now + 2 * agents.INTERVAL)
    await w.stop()
    took = float("inf") if w.major_at is None else w.major_at - start
    return took, len(w.log.rows) - rows_before, w.merged_confirmations - merged_before


def domain_run(
    locations: tuple[str, ...], lost: bool, offset: float, confirm: int = 13, span: float = 30.0
) -> tuple[float, int, int]:
    w = domain.World(15.0, confirm=confirm)
    w.run(120.0)
    if lost:
        w.outcome = domain.fails(("ap",), ALL, w.now, Reason.CONNECT)
        w.run(300.0)
    start = w.next_round("api-check") + offset
    rows_before, merged_before = len(w.rows), w.fed_confirmations
    w.outcome = domain.combine(w.outcome, domain.fails(locations, ("api-check",), start))
    w.run(start - w.now + span)
    took = w.major_at.get("api", float("inf")) - start
    return took, len(w.rows) - rows_before, w.fed_confirmations - merged_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offsets", default="0.05,3,7.5,11,14.5")
    args = parser.parse_args()
    offsets = [float(x) for x in args.offsets.split(",")]
    _seed_runner_jitter(14)
    print("outage start -> major_outage, 15 s interval, 1 request a round, 3 locations")
    print("(bar: two intervals, 30 s; rows = rows the agents wrote in those 30 s)")
    for name, (locations, lost) in SCENARIOS.items():
        for harness in ("agents", "domain"):
            runs = []
            for offset in offsets:
                if harness == "agents":
                    runs.append(asyncio.run(agents_run(locations, lost, offset)))
                else:
                    runs.append(domain_run(locations, lost, offset))
            took = ", ".join(f"{t:.1f}" for t, _, _ in runs)
            rows = max(r for _, r, _ in runs)
            merged = min(m for _, _, m in runs)
            print(
                f"  {name:<20} {harness:<7} {took} s (worst {max(t for t, _, _ in runs):.1f}); "
                f"rows <= {rows}, merged confirmation rounds >= {merged}"
            )
    before = [domain_run(("eu", "us", "ap"), False, o, confirm=0, span=600.0) for o in offsets]
    took = ", ".join(f"{t:.1f}" for t, _, _ in before)
    print(f"  before: agents without confirmation rounds (domain), all three: {took} s")


if __name__ == "__main__":
    main()
