"""Agents' writers and the leader's feed on a real PostgreSQL round log: three locations
write concurrently through RoundWriter, the feed reads every row once by its cursor and
merges them by quorum."""

from __future__ import annotations

import asyncio

from prober.clock import SystemClock
from prober.config.loader import parse_config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.distributed.roundlog import RoundRow
from prober.distributed.writer import RoundWriter, WriterSettings
from prober.domain.quorum import phase
from prober.probes.result import ProbeResult, Reason
from prober.store.postgres_rounds import PostgresRoundLog

CONFIG = parse_config(
    """
components: [{id: api, name: API}, {id: web, name: Web}]
checks:
  - {id: api-check, component: api, url: "http://127.0.0.1:9/", interval: 10s}
  - {id: web-check, component: web, url: "http://127.0.0.1:9/", interval: 10s}
distributed: {locations: [eu, us, ap]}
"""
)
ROUNDS = 30
T0 = 1_780_000_000.0


def rows(location: str) -> list[RoundRow]:
    out = []
    for check in ("api-check", "web-check"):
        base = T0 - T0 % 10 + phase(check, 10.0)
        for n in range(ROUNDS):
            at = base + 10 * n
            down = check == "api-check" and location in ("eu", "us") and n >= ROUNDS // 2
            reason = Reason.HTTP_5XX if down else Reason.OK
            r = ProbeResult(check, check.split("-")[0], at, reason, 0.05, 503 if down else 200)
            out.append(RoundRow(location, f"{location}-0", check, at, encode([r])))
    return out


async def test_three_writers_and_the_feed_on_postgres(pg_url: str) -> None:
    logs = [PostgresRoundLog(pg_url) for _ in range(4)]
    for log in logs:
        await log.open()
    try:
        clock = SystemClock()
        writers = [
            RoundWriter(log, clock, WriterSettings(flush_rounds=7, flush_interval=0.01))
            for log in logs[:3]
        ]
        tasks = [asyncio.ensure_future(w.run()) for w in writers]
        for w, loc in zip(writers, ("eu", "us", "ap"), strict=True):
            for row in rows(loc):
                w.add(row)
        for w in writers:
            assert await w.drain(clock.monotonic() + 30) == 0
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert [w.written for w in writers] == [2 * ROUNDS] * 3

        feed = Feed(logs[3], CONFIG, limit=11)
        feed.max_age = 1e9  # the rows are from a fixed past time
        now = T0 + 10 * ROUNDS + 10  # every round due, every location still live
        batch = await feed.poll(now)
        assert batch.read == 3 * 2 * ROUNDS and batch.errors == []
        decided = {(d.check_id, d.round): d for d in batch.decisions}
        assert len(decided) == 2 * ROUNDS  # one decision per check round, none twice
        api = sorted(
            (d for d in batch.decisions if d.check_id == "api-check"), key=lambda d: d.round
        )
        assert [d.counted for d in api] == [False] * (ROUNDS // 2) + [True] * (ROUNDS - ROUNDS // 2)
        assert all(not d.counted for d in batch.decisions if d.check_id == "web-check")
        assert (await feed.poll(now)).read == 0
    finally:
        for log in logs:
            await log.close()
