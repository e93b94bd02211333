"""The leader's side (prober/service/agents.py): a merged confirmation round from the
agents goes to the engine as evidence and is left out of probe-based uptime, as an
in-process confirmation round is (prober/confirm.py IN_CONFIRMATION)."""

from __future__ import annotations

from pathlib import Path

from prober.config.loader import parse_config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.distributed.roundlog import RoundRow
from prober.domain.quorum import phase
from prober.probes.result import ProbeResult, Reason
from prober.service.agents import AgentRounds
from tests.service.test_service_inprocess import World, config_text

from .memlog import MemoryRoundLog

LOCATIONS = ("eu", "us", "ap")


def probes(component: str, daily: dict[tuple[str, int], tuple[int, int]]) -> int:
    return sum(total for (c, _), (total, _failed) in daily.items() if c == component)


async def test_merged_confirmation_rounds_are_evidence_but_not_uptime(tmp_path: Path) -> None:
    w = World(tmp_path)
    await w.service.start()
    try:
        await w.service.runner.stop()  # the agents probe here, not the replica
        config = parse_config(config_text() + "distributed: {locations: [eu, us, ap]}\n")
        log = MemoryRoundLog()
        agents = AgentRounds(w.service, Feed(log, config))
        check = next(c for c in config.checks if c.id == "api-check")
        now = w.clock.now().timestamp()
        at = now - (now - phase(check.id, check.interval)) % check.interval
        rows = []
        for loc in LOCATIONS:  # round n everywhere, then confirmations 1 to 3 everywhere
            for k, start in enumerate((at, at + 0.4, at + 0.8, at + 1.2)):
                results = [
                    ProbeResult(check.id, "api", start, Reason.HTTP_5XX, 0.01, 500)
                    for _ in range(check.requests_per_round)
                ]
                rows.append(RoundRow(loc, f"{loc}-0", check.id, start, encode(results, str, k)))
        await log.append_rounds(rows)
        uptime_before = probes("api", w.service.daily.copy())
        view = next(v for v in w.service.engine.component_views(now) if v.id == "api")
        await w.run(2)
        await agents.poll(lambda: True)
        assert agents.rounds_fed == 4  # the regular round and its three confirmations
        after = next(v for v in w.service.engine.component_views(now + 2) if v.id == "api")
        assert after.samples - view.samples == 4 * check.requests_per_round  # all evidence
        # uptime counts the regular round only
        assert probes("api", w.service.daily.copy()) - uptime_before == check.requests_per_round
    finally:
        await w.service.stop()
