"""The leader end to end, rounds per second on one core (part of bench/distributed.py).

`checks` checks (1 s interval) probed from three locations for `rounds` rounds are first
written to the round log as the agents write them (one row per location, check and round,
batched); then the leader's path runs alone over them, as prober/service/role.py does each
poll: `Feed.poll` (read the rows from PostgreSQL, decode, merge the three locations by
quorum), `Engine.observe` of every merged round, and one fenced `PostgresStore.apply` of the
effects and the state delta per poll (under a real PgLeadership term). The figure is merged
rounds per CPU-second of this process (the server's CPU is not counted) and per wall second.
"""

from __future__ import annotations

import time
from typing import Any

from bench.agent_latency import LOCATIONS, _config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.domain.engine import Engine
from prober.probes.result import ProbeResult, Reason
from prober.signals.traffic import engine_config
from prober.store.postgres import PostgresStore
from prober.store.postgres_lease import PgLeadership
from prober.store.postgres_rounds import PostgresRoundLog
from prober.store.rounds import RoundRow


async def leader_throughput(url: str, checks: int, rounds: int) -> dict[str, Any]:
    config = _config(checks)
    ids = [c.id for c in config.checks]
    log = PostgresRoundLog(url)
    await log.open()
    start = time.time() - rounds - 2  # recent: the feed skips rows older than 60 s
    batch: list[RoundRow] = []
    for k in range(rounds):
        for c in ids:
            at = start + k
            payload = encode([ProbeResult(c, "api", at, Reason.OK, 0.005, 200)])
            batch += [RoundRow(loc, f"{loc}-0", c, at, payload) for loc in LOCATIONS]
            if len(batch) >= 1500:
                await log.append_rounds(batch)
                batch = []
    if batch:
        await log.append_rounds(batch)
    await log.close()

    leadership = PgLeadership(url, "bench-leader")
    assert await leadership.acquire()
    store = PostgresStore(url)
    store.fence(leadership)
    await store.open()
    engine = Engine(engine_config(config))
    feed = Feed(PostgresRoundLog(url), config)
    await feed.open()
    decided = polls = 0
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while decided < checks * rounds and polls < 10_000:
            polls += 1
            got = await feed.poll(time.time())
            now = time.time()
            effects = []
            for _check, results in got.rounds:
                effects.extend(engine.observe(results, now))
                decided += 1
            await store.apply(effects, engine.state_delta(), (), now)
            if not got.read and not got.rounds:
                break
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await feed.close()
        await store.close()
        await leadership.release()
    return {
        "checks": checks,
        "rounds": rounds,
        "rows_read": checks * rounds * len(LOCATIONS),
        "merged_rounds": decided,
        "polls": polls,
        "rounds_per_cpu_s": decided / cpu if cpu else 0.0,
        "rounds_per_wall_s": decided / wall if wall else 0.0,
        "rows_per_cpu_s": decided * len(LOCATIONS) / cpu if cpu else 0.0,
    }
