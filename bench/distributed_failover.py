"""Failover time of real `prober run` replicas on PostgreSQL (part of bench/distributed.py).

Two replicas and one agent (location `a`, two checks every second against a loopback
target) share the database. Each run: SIGKILL the leader process, then poll the database
every 10 ms for
- `elected`: the new term in `prober_leader` (the new leader's first write: its election);
- `first_write`: the new leader's first state write after its election (`engine_state`
  saved after the kill: the feed's rounds applied under the new term),
both measured from the kill; then the killed replica is started again (a follower) before
the next run. Median and max over the runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.e2e.distributed import AgentProcess, Receiver, Replica, distributed_config
from tests.e2e.target import Target


async def _leader(replicas: list[Replica], within: float = 30.0) -> Replica:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for r in replicas:
            if r.up and await r.metric("prober_leader") == 1.0:
                return r
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no leader within {within:g} s")


async def _read(conn: psycopg.AsyncConnection[Any]) -> tuple[int, float, float]:
    cur = await conn.execute(
        "SELECT term, elected_at, (SELECT max(saved_at) FROM engine_state) FROM prober_leader"
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2] or 0.0)


async def failover(url: str, runs: int, tmp: Path) -> dict[str, Any]:
    if runs <= 0:
        return {"runs": 0, "error": "no runs asked"}
    target, receiver = Target(), Receiver()
    await target.start()
    await receiver.start()
    config = distributed_config(tmp / "failover.yaml", target.url, receiver.url, locations=("a",))
    agent = AgentProcess("a", config, url)
    replicas = [Replica(f"r{i}", config, url) for i in range(2)]
    elected: list[float] = []
    first_write: list[float] = []
    try:
        await agent.start()
        for r in replicas:
            await r.start()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for _ in range(runs):
                leader = await _leader(replicas)
                term, _, _ = await _read(conn)
                await asyncio.sleep(2.0)  # the leader is feeding rounds and saving state
                killed_at = time.time()
                await leader.kill()
                got_term: float | None = None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    new_term, elected_at, saved = await _read(conn)
                    if new_term > term and got_term is None:
                        got_term = elected_at - killed_at
                    if got_term is not None and saved > elected_at:
                        first_write.append(saved - killed_at)
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise RuntimeError("no new leader wrote within 30 s of the kill")
                elected.append(got_term)
                await leader.start()
    finally:
        for r in replicas:
            if r.proc is not None and r.proc.returncode is None:
                await r.stop()
        await agent.stop()
        await target.stop()
        await receiver.stop()

    def summary(xs: list[float]) -> dict[str, float]:
        return {"median": statistics.median(xs), "max": max(xs), "min": min(xs)}

    return {
        "runs": runs,
        "elected_s": summary(elected),
        "first_write_s": summary(first_write),
        "all_elected_s": [round(x, 3) for x in elected],
        "all_first_write_s": [round(x, 3) for x in first_write],
    }
