"""prober as one object, wired from collaborators it is given (see build.py).

Flow: the runner hands each round of probe results to the intake (intake.py), which
updates metrics and feeds the domain engine; effects go down the pipeline (pipeline.py):
store first (one transaction with the engine's state and the webhook outbox rows, see
keeper.py), then metrics and logs (announce.py), then the snapshot, published as one
immutable value. The periodic jobs are one table (upkeep.py) run by one scheduler
(jobs.py); the reloader (reload.py) parses fully, then swaps.

The HTTP thread reads only `published()` and sends everything else through `submit()`
(prober/api/backend.py states the rule); in-process callers may use the ApiBackend
methods directly, on this loop.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from prober import __version__
from prober.api.backend import ApiCommand, Published, dispatch
from prober.clock import Clock
from prober.config import Config
from prober.distributed.feed import Feed
from prober.domain.commands import Command, PostMortem, Result, execute
from prober.domain.effects import Effect
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import Impact, IncidentStatus
from prober.keeper import StoreKeeper
from prober.logs import REDACTOR, get_logger
from prober.metrics import CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, Metrics
from prober.rescue import engine_from
from prober.runner import ProbeFn, Runner
from prober.service.intake import Intake
from prober.service.jobs import Scheduler
from prober.service.live import Live
from prober.service.pipeline import INCIDENT_EFFECTS, EffectPipeline
from prober.service.reload import Reloader
from prober.service.role import Role
from prober.service.upkeep import UPTIME_DAYS, Upkeep
from prober.settings import Settings
from prober.signals.traffic import engine_config
from prober.snapshots import RECENT_INCIDENTS
from prober.store.lease import Leadership, SoleLeader
from prober.timebase import DomainTime
from prober.uptime import DailyProbes
from prober.webhooks import WebhookSender

log = get_logger("prober.service")

HISTORY_LIMIT = 1000  # incidents read for one month of the history page


class Service:
    """`await start()`, then `await stop()`; implements ApiBackend on its own loop."""

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        clock: Clock,
        keeper: StoreKeeper,
        exporter: Metrics,
        probe: ProbeFn,
        sender: WebhookSender,
        close_probe: Callable[[], Awaitable[None]] | None = None,
        leadership: Leadership | None = None,
        feed: Feed | None = None,
    ) -> None:
        self.settings, self.clock, self.keeper, self.exporter = settings, clock, keeper, exporter
        self.sender = sender
        # Incident timers run on the monotonic clock (timebase.py); the store's own
        # timestamps (saved_at, the outbox) stay on the wall clock.
        self.live = Live.of(config, DomainTime(clock))
        # A snapshot is published from the start: the HTTP thread may read it at once.
        self.pipeline = EffectPipeline(self.live, keeper, exporter, clock, settings.api_token)
        keeper.on_saved = self.pipeline.announce
        self.intake = Intake(self.live, self.pipeline, clock)
        self.runner = Runner(
            probe,
            self.intake.on_round,
            clock,
            grace=settings.grace,
            undecided=lambda component: self.live.engine.undecided(component),  # det11b
        )
        exporter.track_in_flight(lambda: self.runner.in_flight)
        exporter.track_skipped_rounds(lambda: self.runner.skipped_rounds)
        self.upkeep = Upkeep(settings, self.pipeline, self.intake, sender, clock)
        self.reloader = Reloader(settings, self.pipeline, self.intake, self.runner, sender)
        self.scheduler = Scheduler(clock)
        self._close_probe = close_probe
        self._writer: asyncio.Task[None] | None = None
        # Several replicas on one database (role.py); None: the single node, always leader.
        self.role: Role | None = None
        if leadership is not None and not isinstance(leadership, SoleLeader):
            self.role = Role(self, leadership, feed)
        # submit() works from construction on (the CLI serves HTTP before start() ends)
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()

    @property
    def config(self) -> Config:
        return self.live.config

    @property
    def engine(self) -> Engine:
        return self.live.engine

    @property
    def daily(self) -> DailyProbes:
        return self.intake.daily

    # ---- life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        config, now = self.live.config, self.live.time.now()
        REDACTOR.secrets = config.secret_values
        if self.role is not None:
            await self._start_replica(self.role)
            return
        state = await self.keeper.open()
        self.live.engine = await engine_from(engine_config(config), state, self.keeper)
        self.sender.store = self.keeper.store
        self.sender.configure(config.webhooks)
        self.exporter.set_checks(config.checks)
        self.exporter.config_reloaded(True, now)
        await self._seed_uptime(now)
        # What happened while prober was down (a quiet period that ended, a component
        # removed from the config) goes through the same pipeline as any other effect.
        await self.pipeline.step(lambda e, t: e.reconfigure(engine_config(config), t), now)
        await self.keeper.flush()  # on disk (or queued, the store failing) before serving
        await self._seed_incidents()
        await self.upkeep.refresh_uptime()
        self.runner.start(config.probed)
        self.intake.configure_traffic(config)
        self._writer = asyncio.create_task(self.keeper.run())
        self.scheduler.start(self.upkeep.jobs(self.reloader.watch))
        self.live.started = True
        self.pipeline.rebuild(now)
        gc.freeze()  # config and start-up objects: no full collection walks them again
        log.info(
            "prober_started",
            version=__version__,
            checks=len(config.checks),
            components=len(config.components),
        )

    async def _start_replica(self, role: Role) -> None:
        """One of several replicas: start as a follower (the page from the database) and
        contend at once; StoreError when the database cannot be opened (never a memory
        store: an unfenced replica must not lead)."""
        config, now = self.live.config, self.live.time.now()
        await self.keeper.open()
        await role.open()
        self.live.follower = True
        self.exporter.set_checks(config.checks)
        self.exporter.config_reloaded(True, now)
        await self.upkeep.refresh_uptime()
        await role.refresh()
        keep = {"watch_config", "collect_garbage"}
        jobs = [j for j in self.upkeep.jobs(self.reloader.watch) if j.name in keep]
        self.scheduler.start([*role.jobs(), *jobs])
        self.live.started = True
        await role.contend()
        self.pipeline.rebuild(self.live.time.now())
        log.info("prober_started", version=__version__, checks=len(config.checks), replica=True)

    async def _seed_uptime(self, now: float) -> None:
        no_days: list[tuple[str, int, int, int]] = []
        since = now - UPTIME_DAYS * 86400
        days = await self.keeper.call("read", lambda: self.keeper.store.probe_days(since), no_days)
        self.intake.daily.seed(days)

    async def _seed_incidents(self) -> None:
        none: list[Incident] = []
        stored = await self.keeper.call(
            "read", lambda: self.keeper.store.incidents(limit=RECENT_INCIDENTS), none
        )
        self.pipeline.merge_incidents([*stored, *self.live.engine.open_incidents()])

    async def stop(self) -> None:
        """Writes close first (503, waiting for any under way), then probing, then the
        store: nothing is acknowledged that the store did not take."""
        self.live.started = False
        async with self.live.lock:
            self.live.closing = True
        self.pipeline.publish()
        if self.role is not None:
            await self.scheduler.stop()
            await self.role.stop()
            await self.intake.traffic.stop()
            if self._close_probe is not None:
                await self._close_probe()
            await self.keeper.close()
            log.info("prober_stopped")
            return
        await self.runner.stop()
        await self.intake.traffic.stop()
        await self.scheduler.stop()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.upkeep.flush_aggregates()
        await self.upkeep.save_state()
        if not await self.keeper.flush():
            log.error("store_unsaved_at_exit", pending_effects=self.keeper.pending_effects)
        await self.sender.close()
        if self._close_probe is not None:
            await self._close_probe()
        await self.keeper.close()
        log.info("prober_stopped")

    # ---- the HTTP thread's two doors (prober/api/backend.py) ----------------------------
    def published(self) -> Published:
        return self.pipeline.published

    def submit(self, command: ApiCommand) -> Future[object]:
        """From any thread: run `command` on this service's loop."""
        assert self._loop is not None, "submit() before start()"
        return asyncio.run_coroutine_threadsafe(dispatch(self, command), self._loop)

    # ---- ApiBackend (on this loop) --------------------------------------------------------
    def snapshot(self) -> StatusSnapshot:
        return self.pipeline.snapshot()

    def ready(self) -> tuple[bool, str]:
        return self.pipeline.ready()

    def write_token(self) -> str | None:
        return self.settings.api_token

    def locations(self) -> Sequence[Mapping[str, Any]]:
        return self.pipeline.published.locations

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        # Yields to the loop between blocks of checks: a scrape never stalls probing.
        body = await self.exporter.render_async(openmetrics=openmetrics)
        return body, CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT

    async def reload(self) -> tuple[bool, list[str]]:
        return await self.reloader.reload()

    async def check_integrity(self) -> None:
        await self.upkeep.check_integrity()

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        none: list[Incident] = []
        store = self.keeper.store
        return await self.keeper.call(
            "read", lambda: store.incidents_started(since, until, limit=HISTORY_LIMIT), none
        )

    async def command(self, command: Command) -> Result:
        """A person's command, acknowledged only once durable (EffectPipeline.durably)."""
        stored: Incident | None = None
        if isinstance(command, PostMortem):
            stored = self.pipeline.view.incidents.get(command.incident_id)
            if stored is None:
                stored = await self.keeper.store.incident(command.incident_id)
        results: list[Result] = []

        def change(engine: Engine, now: float) -> list[Effect]:
            effects, result = execute(engine, command, now, stored)
            results.append(result)
            return effects

        await self.pipeline.durably(change)
        return results[0]

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        effects = await self.pipeline.durably(
            lambda engine, now: engine.post_update(
                incident_id, now, status=status, body=body, impact=impact
            )
        )
        for effect in reversed(effects):
            if isinstance(effect, INCIDENT_EFFECTS):
                return effect.incident
        if incident_id in self.pipeline.view.incidents:
            return self.pipeline.view.incidents[incident_id]
        raise KeyError(incident_id)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
