"""The periodic work of the service: engine ticks, store upkeep, uptime, webhooks, GC.
`jobs()` is the one table of what runs how often."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable

from prober.clock import Clock
from prober.logs import get_logger
from prober.service.intake import Intake
from prober.service.jobs import Job
from prober.service.pipeline import EffectPipeline
from prober.settings import Settings
from prober.uptime import daily_uptime
from prober.webhooks import WebhookSender

log = get_logger("prober.service")

UPTIME_DAYS = 90
GC_FULL_INTERVAL = 600.0
RETENTION = 100 * 86400.0


class Upkeep:
    def __init__(
        self,
        settings: Settings,
        pipeline: EffectPipeline,
        intake: Intake,
        sender: WebhookSender,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.live = pipeline.live
        self.keeper = pipeline.keeper
        self.intake = intake
        self.sender = sender
        self.clock = clock
        self.uptime_at = 0.0

    def jobs(self, watch_config: Callable[[], Awaitable[object]]) -> list[Job]:
        s = self.settings
        return [
            Job("tick", s.tick_interval, self.tick),
            Job("watch_config", s.watch_interval, watch_config),
            Job("send_webhooks", 1.0, self.send_webhooks),
            Job("minutely", 60.0, self.minutely),
            Job("save_state", s.state_save_interval, self.save_state),
            Job("collect_garbage", GC_FULL_INTERVAL, self.collect_garbage),
            Job("check_integrity", s.integrity_interval, self.check_integrity),
            Job("recheck_integrity", s.integrity_recheck_interval, self.recheck_integrity),
        ]

    async def tick(self) -> None:
        now = self.live.time.now()
        await self.pipeline.step(lambda engine, t: engine.tick(t), now)
        p = self.pipeline
        if p.uptime_due and now - self.uptime_at >= self.settings.uptime_interval:
            await self.refresh_uptime()
            p.dirty = True
        if p.dirty and now - p.built_at >= self.settings.snapshot_interval:
            p.rebuild(now)
        else:
            p.publish()  # readiness follows the store within one tick

    async def save_state(self) -> None:
        """Hysteresis counters, and any batch a failed write left queued."""
        async with self.live.lock:
            self.keeper.submit([], self.pipeline.delta(), (), self.clock.now().timestamp())

    async def flush_aggregates(self) -> None:
        rows = self.intake.aggregator.drain()
        if rows:
            await self.keeper.call(
                "write", lambda: self.keeper.store.add_probe_aggregates(rows), None
            )

    async def minutely(self) -> None:
        await self.flush_aggregates()
        await self.refresh_uptime()
        now = self.clock.now().timestamp()
        await self.keeper.call("prune", lambda: self.keeper.store.prune(now, RETENTION), None)

    async def check_integrity(self) -> None:
        """The full `integrity_check` on a schedule: a corrupt store is never written again
        and readiness says so (the start-up `quick_check` runs when the store opens)."""
        if not await self.keeper.check_integrity(full=True):
            self.sender.store = self.keeper.store
        self.pipeline.publish()

    async def recheck_integrity(self) -> None:
        """While an integrity problem is reported on a store still in use (PostgreSQL: a
        schema version other than ours), check again: a passing check clears it, nothing
        else does. Not on a memory stand-in (SQLite corruption: a restart is needed)."""
        if self.keeper.integrity and not self.keeper.degraded:
            await self.check_integrity()

    async def collect_garbage(self) -> None:
        """The full collection the CLI takes off automatic (see `quiet_gc`), on a timer."""
        began = self.clock.monotonic()
        found = gc.collect()
        seconds = round(self.clock.monotonic() - began, 3)
        log.debug("gc_full_collection", seconds=seconds, collected=found)

    async def send_webhooks(self) -> None:
        await self.keeper.call("read", self.sender.run_once, 0)

    async def refresh_uptime(self) -> None:
        now = self.live.time.now()
        self.pipeline.uptime_due, self.uptime_at = False, now
        since = now - UPTIME_DAYS * 86400
        changes = await self.keeper.call(
            "read", lambda: self.keeper.store.status_changes(since), None
        )
        if changes is None:
            return
        created = {v.id: v.created_at for v in self.live.engine.component_views(now)}
        daily = self.intake.daily
        daily.prune(since)
        # Pure and GIL-bound, but in a thread the loop still gets its turn every few ms.
        self.pipeline.view.uptime = await asyncio.to_thread(
            daily_uptime,
            changes,
            [c.id for c in self.live.config.components],
            now,
            UPTIME_DAYS,
            created,
            daily.copy(),
        )
