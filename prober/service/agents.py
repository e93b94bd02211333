"""The leader's evidence from the agents (issue 14): poll the feed about once a second
and feed each merged round to the engine, as in-process rounds are fed (intake.py).

All the rounds of one poll go to the engine in ONE step whose state row carries the feed's
position (`Feed.state()`, merged into the engine row by the pipeline): the effects and the
position are written in the same transaction, so a new leader resumes exactly there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prober.confirm import IN_CONFIRMATION
from prober.distributed.feed import Feed
from prober.domain.effects import Effect
from prober.domain.quorum import LocationState
from prober.errors import StoreError
from prober.logs import get_logger

if TYPE_CHECKING:
    from prober.service.core import Service

log = get_logger("prober.service")
PRUNE_INTERVAL = 60.0


def location_json(loc: LocationState) -> dict[str, Any]:
    return {
        "name": loc.location,
        "state": loc.state,
        "since": loc.since,
        "last_report": loc.last_seen,
        "checks": loc.checks,
        "unreachable": loc.unreachable,
    }


class AgentRounds:
    def __init__(self, service: Service, feed: Feed) -> None:
        self.service = service
        self.feed = feed
        self._config = service.config  # the feed's configuration
        self.rounds_fed = 0  # merged rounds fed to the engine (tests, bench)
        self.pruned_at = 0.0

    async def prune(self, now: float) -> None:
        """Every PRUNE_INTERVAL: drop rounds older than an hour (read long ago)."""
        if now - self.pruned_at < PRUNE_INTERVAL:
            return
        self.pruned_at = now
        try:
            dropped = await self.feed.prune(now)
        except StoreError as exc:
            log.warning("round_log_prune_failed", error=str(exc))
            return
        if dropped:
            log.debug("round_log_pruned", rows=dropped)

    async def poll(self, leading: Callable[[], bool]) -> None:
        s, feed = self.service, self.feed
        if s.config is not self._config:  # reloaded: new checks, policy, locations
            self._config = s.config
            feed.reconfigure(s.config)
        wall = s.clock.now().timestamp()
        await self.prune(wall)
        batch = await feed.poll(wall)
        locations = [location_json(loc) for loc in batch.locations]
        s.live.locations = locations
        for loc in batch.changed:
            log.info("location_state", location=loc.location, state=loc.state)
        checks = {c.id: c for c in s.config.checks}
        async with s.live.lock:
            if not leading() or s.live.closing:
                return  # a new leadership resumes from the saved position
            now = s.live.time.now()
            effects: list[Effect] = []
            for (check_id, results), k in zip(batch.rounds, batch.confirmations, strict=True):
                check = checks.get(check_id)
                if check is None:
                    continue
                self.rounds_fed += 1
                feed.fed += 1
                # as an in-process round; a confirmation round as one (uptime leaves it out)
                token = IN_CONFIRMATION.set(k > 0)
                try:
                    stamped = s.intake.take(check, results, 0.0)
                finally:
                    IN_CONFIRMATION.reset(token)
                if stamped is not None:
                    effects.extend(s.live.engine.observe(stamped, now))
            s.pipeline.engine_extra = {"feed": {**feed.state(), "locations": locations}}
            if effects:
                await s.pipeline.apply(effects, now)
            else:
                s.keeper.submit([], s.pipeline.delta(), (), s.clock.now().timestamp())
            s.pipeline.dirty = True
