"""The mutable state the service's parts share, on the probing loop only."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from prober.config import Config
from prober.domain.engine import Engine
from prober.probes.result import ProbeResult
from prober.signals.traffic import engine_config, traffic_only
from prober.timebase import DomainTime


@dataclass
class Live:
    """The running config and engine. `lock`: one writer of engine state and store at a
    time. `closing`: writes refused (stop() under way); `started`: start() finished."""

    config: Config
    engine: Engine
    time: DomainTime
    traffic_only: frozenset[str] = frozenset()
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: bool = False
    closing: bool = False
    # Several replicas (prober/service/role.py): True while another replica leads; then
    # nothing is written and a person's write is refused (NotLeaderError). `role`: who
    # leads, for /-/ready ("" on a single node).
    follower: bool = False
    role: str = ""
    leader: str = ""  # the leader's identity as last read (a follower's 503 names it)
    locations: list[dict[str, Any]] = field(default_factory=list)  # the agents' locations

    @classmethod
    def of(cls, config: Config, time: DomainTime) -> Live:
        # the engine sees one virtual check per real-traffic signal (prober/signals/traffic.py)
        live = cls(config, Engine(engine_config(config)), time)
        live.traffic_only = frozenset(traffic_only(config))
        return live

    def in_domain_time(self, results: list[ProbeResult]) -> tuple[float, list[ProbeResult]]:
        """The domain's now, and `results` stamped in domain time (after a wall-clock step
        the two differ; incident timers follow the monotonic clock, see timebase.py)."""
        now = self.time.now()
        if abs(self.time.offset) > 0.001:
            results = [dataclasses.replace(r, at=self.time.to_domain(r.at)) for r in results]
        return now, results
