"""The composition root: builds everything, owns start, stop and reload.

Flow: the runner hands each round of probe results to `_on_round`, which updates metrics and
feeds the domain engine; effects are applied in order — store first (one transaction with
the engine's state and the webhook outbox rows, see keeper.py), then metrics and logs
(announce.py), then the snapshot every reader sees (snapshots.py). The API reads snapshots
and this object's ApiBackend methods, never the runner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from prober import __version__
from prober.announce import announce
from prober.api.statuspage import incident_json, page_json
from prober.clock import Clock, SystemClock
from prober.config import Check, Config
from prober.config.model import CANARY_COMPONENT
from prober.confirm import in_confirmation
from prober.domain.commands import Command, PostMortem, Result, execute
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.network import LOST
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.errors import StoreError
from prober.history import Aggregator, DailyProbes, daily_uptime
from prober.keeper import StoreKeeper
from prober.logs import REDACTOR, Throttle, get_logger
from prober.metrics import (
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_TEXT,
    Metrics,
)
from prober.probes.http import HttpProber
from prober.probes.result import ProbeResult
from prober.rescue import engine_from, read_config
from prober.runner import Runner
from prober.settings import Settings, quiet_gc
from prober.signals.traffic import Reading, TrafficSignals, engine_config, traffic_only
from prober.snapshots import RECENT_INCIDENTS, SnapshotBuilder
from prober.store.factory import make_store
from prober.timebase import DomainTime
from prober.webhooks import WebhookSender, deliveries_for

log = get_logger("prober.service")

__all__ = ["GC_FULL_INTERVAL", "RETENTION", "Service", "Settings", "quiet_gc"]

UPTIME_DAYS = 90
GC_FULL_INTERVAL = 600.0


RETENTION = 100 * 86400.0
HISTORY_LIMIT = 1000  # incidents read for one month of the history page


class Service:
    """prober as one object: `await start()`, then `await stop()`; implements ApiBackend."""

    def __init__(self, settings: Settings, config: Config, clock: Clock | None = None) -> None:
        self.settings = settings
        self.config = config
        self.clock = clock or SystemClock()
        self.exporter = Metrics(version=__version__, options=settings.metrics)
        self.keeper = StoreKeeper(
            make_store(settings.db_path, allow_new_db=settings.allow_new_db),
            self.exporter,
            clock=self.clock,
            on_saved=self._announce,
        )
        # the engine sees one virtual check per real-traffic signal (prober/signals/traffic.py)
        self.engine = Engine(engine_config(config))
        self.traffic = TrafficSignals(self.clock, self._on_traffic, self._on_reading)
        self._traffic_only = traffic_only(config)
        self.prober = HttpProber(self.clock)
        self.runner = Runner(self.prober.probe, self._on_round, self.clock, grace=settings.grace)
        self.sender: WebhookSender | None = None
        self.aggregator = Aggregator()
        self.daily = DailyProbes()  # uptime: probes per component and day
        self.view = SnapshotBuilder()
        self.exporter.track_in_flight(lambda: self.runner.in_flight)
        self.exporter.track_skipped_rounds(lambda: self.runner.skipped_rounds)
        self._lock = asyncio.Lock()  # one writer of engine state and store at a time
        self._reload_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._log_throttle = Throttle(60.0)
        self._dirty = True
        self._uptime_due = False
        self._uptime_at = 0.0
        self._built_at = 0.0
        self._config_digest = _digest(settings.config_path)
        self._started = False
        self._closing = False
        # Incident timers run on the monotonic clock (timebase.py); the store's own
        # timestamps (saved_at, the outbox) stay on the wall clock.
        self.time = DomainTime(self.clock)
        # A snapshot exists from the start: the HTTP thread may read it before start() ends.
        self._rebuild(self.time.now())

    # ---- life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        REDACTOR.secrets = self.config.secret_values
        now = self.time.now()
        state = await self.keeper.open()
        self.engine = await engine_from(engine_config(self.config), state, self.keeper)
        self.sender = WebhookSender(self.keeper.store, self.clock, self.exporter.webhook_delivery)
        self.sender.configure(self.config.webhooks)
        self.exporter.set_checks(self.config.checks)
        self.exporter.config_reloaded(True, now)
        no_days: list[tuple[str, int, int, int]] = []
        days = await self.keeper.call(
            "read", lambda: self.keeper.store.probe_days(now - UPTIME_DAYS * 86400), no_days
        )
        self.daily.seed(days)
        # What happened while prober was down (a quiet period that ended, a component
        # removed from the config) goes through the same pipeline as any other effect:
        # saved, announced, sent.
        async with self._lock:
            effects = self.engine.reconfigure(engine_config(self.config), now)
            if effects:
                await self._apply(effects, now)
        await self.keeper.flush()  # on disk (or queued, the store failing) before serving
        none: list[Incident] = []
        stored = await self.keeper.call(
            "read", lambda: self.keeper.store.incidents(limit=RECENT_INCIDENTS), none
        )
        self._merge_incidents([*stored, *self.engine.open_incidents()])
        await self._refresh_uptime()
        self._rebuild(now)
        self.runner.start(self.config.probed)
        self._configure_traffic(self.config)
        every = self._every
        self._tasks = [
            asyncio.create_task(self.keeper.run()),
            asyncio.create_task(every(self.settings.tick_interval, self._tick)),
            asyncio.create_task(every(self.settings.watch_interval, self._watch_config)),
            asyncio.create_task(every(1.0, self._send_webhooks)),
            asyncio.create_task(every(60.0, self._minutely)),
            asyncio.create_task(every(self.settings.state_save_interval, self._save_state)),
            asyncio.create_task(every(GC_FULL_INTERVAL, self._collect_garbage)),
            asyncio.create_task(every(self.settings.integrity_interval, self.check_integrity)),
        ]
        self._started = True
        gc.freeze()  # config and start-up objects: no full collection walks them again
        log.info(
            "prober_started",
            version=__version__,
            checks=len(self.config.checks),
            components=len(self.config.components),
        )

    async def stop(self) -> None:
        """Writes close first (503, waiting for any under way), then probing, then the
        store: nothing is acknowledged that the store did not take."""
        self._started = False
        async with self._lock:
            self._closing = True
        await self.runner.stop()
        await self.traffic.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._flush_aggregates()
        await self._save_state()
        if not await self.keeper.flush():
            log.error("store_unsaved_at_exit", pending_effects=self.keeper.pending_effects)
        if self.sender is not None:
            await self.sender.close()
        await self.prober.close()
        await self.keeper.close()
        log.info("prober_stopped")

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[object]]) -> None:
        while True:
            await self.clock.sleep(seconds)
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one periodic job must not stop the others
                log.exception("periodic_job_failed", job=getattr(fn, "__name__", "?"))

    # ---- probing -> domain -> effects ------------------------------------------------
    async def _on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        if check.component == CANARY_COMPONENT:  # evidence for the network guard only
            now, results = self._in_domain_time(results)
            async with self._lock:
                effects = self.engine.observe(results, now)
                if effects:
                    await self._apply(effects, now)
            return
        self.exporter.record_round(check, results, lag)
        if check.component not in self._traffic_only:  # traffic_only: probes have no say
            self._count_uptime(check.component, results)
        if results:
            self._log_transition(check, results[-1])
        self.view.record(check, results)
        now, results = self._in_domain_time(results)
        self._dirty = True
        if check.component in self._traffic_only:
            return  # its status comes from real traffic only (traffic.mode: traffic_only)
        async with self._lock:
            effects = self.engine.observe(results, now)
            if effects:
                await self._apply(effects, now)

    def _in_domain_time(self, results: list[ProbeResult]) -> tuple[float, list[ProbeResult]]:
        """The domain's now, and `results` stamped in domain time (after a wall-clock step
        the two differ; incident timers follow the monotonic clock, see timebase.py)."""
        now = self.time.now()
        if abs(self.time.offset) > 0.001:
            results = [dataclasses.replace(r, at=self.time.to_domain(r.at)) for r in results]
        return now, results

    def _count_uptime(self, component: str, results: Sequence[ProbeResult]) -> None:
        """Uptime follows what decides the status: probes, traffic samples (one per request)
        or both (mode worst); outside maintenance, while prober's own network is fine."""
        if not self._counts_for_uptime(component) or in_confirmation():
            return  # (a confirmation round is evidence, not a sample of time: confirm.py)
        for r in results:
            self.aggregator.add(r)
            if self.daily.add(r.component, r.at, r.ok):
                self._uptime_due = True

    def _counts_for_uptime(self, component: str) -> bool:
        # Only a network loss that canaries proved (`lost`) is prober's own; `unverified`
        # (everything unreachable, no canary) is shown as the outage it may be, and counted.
        if self.engine.network_state == LOST:
            return False
        try:
            return self.engine.status_of(component) is not ComponentStatus.UNDER_MAINTENANCE
        except KeyError:  # removed by a reload while its round was in flight
            return False

    # ---- real-traffic signals -> domain ----------------------------------------------
    def _configure_traffic(self, config: Config) -> None:
        self._traffic_only = traffic_only(config)
        self.exporter.set_traffic_components(c.id for c in config.components if c.traffic)
        self.traffic.configure(config.components)

    async def _on_traffic(self, component: str, results: list[ProbeResult]) -> None:
        self._dirty = True
        self._count_uptime(component, results)
        now, results = self._in_domain_time(results)
        async with self._lock:
            effects = self.engine.observe(results, now)
            if effects:
                await self._apply(effects, now)

    async def _on_reading(self, component: str, reading: Reading) -> None:
        """Every reading is a metric; no data and errors add no sample, but the engine holds
        the component's traffic verdict as it was until data returns (a log line too)."""
        self.exporter.traffic_reading(component, reading.outcome, reading.ratio, reading.rate)
        if reading.outcome == "ok":
            return
        if self._log_throttle.allow(f"traffic:{component}", self.clock.monotonic()) is not None:
            log.warning(
                "traffic_signal_no_data",
                component=component,
                outcome=reading.outcome,
                detail=reading.detail,
            )
        now = self.time.now()
        async with self._lock:
            effects = self.engine.traffic_no_data(component, now)
            if effects:
                await self._apply(effects, now)

    def _log_transition(self, check: Check, last: ProbeResult) -> None:
        """Log a check going bad or good again, throttled per check (flapping)."""
        prev = self.view.last(check.id)
        if (prev is None and last.ok) or (prev is not None and prev.ok == last.ok):
            return
        held = self._log_throttle.allow(check.id, self.clock.monotonic())
        if held is None:
            return
        if last.ok:
            log.info("probe_recovered", check=check.id, component=check.component, suppressed=held)
        else:
            log.warning(
                "probe_failed",
                check=check.id,
                component=check.component,
                reason=last.reason.value,
                status_code=last.status_code,
                detail=last.detail,
                suppressed=held,
            )

    async def _tick(self) -> None:
        now = self.time.now()
        async with self._lock:
            effects = self.engine.tick(now)
            if effects:
                await self._apply(effects, now)
        if self._uptime_due and now - self._uptime_at >= self.settings.uptime_interval:
            await self._refresh_uptime()
            self._dirty = True
        if self._dirty and now - self._built_at >= self.settings.snapshot_interval:
            self._rebuild(now)

    async def _apply(self, effects: Sequence[Effect], now: float, durable: bool = False) -> None:
        """Store first, then metrics and logs, then the snapshot. Caller holds the lock.

        Without `durable` the batch is queued for the keeper's writer task and this returns
        at once: probing never waits for the disk; the writer announces it once saved (or
        once a write failed: it stays queued and is retried). With `durable` (a human write)
        it is written now, and StoreError raised when it was not: acknowledged only on disk.
        """
        snap = self.snapshot()
        rows = deliveries_for(
            effects,
            self.config.webhooks,
            lambda i: incident_json(i, snap, with_updates=False),
            page_json(snap),
        )
        wall = self.clock.now().timestamp()
        if durable:
            await self.keeper.apply_durably(effects, self.engine.to_state(), rows, wall)
            self._announce(effects, now)
        else:
            self.keeper.submit(effects, self.engine.to_state(), rows, wall)

    def _announce(self, effects: Sequence[Effect], now: float) -> None:
        """After the store: metrics and logs, then the snapshot readers see."""
        for effect in effects:
            announce(effect, self.exporter)
        self._merge_incidents(
            [
                e.incident
                for e in effects
                if isinstance(e, IncidentOpened | IncidentUpdated | IncidentResolved)
            ]
        )
        if any(isinstance(e, ComponentStateChanged) for e in effects):
            self._uptime_due = True  # refreshed by the next tick, at most every 10 s
        self._rebuild(max(now, self._built_at))

    def _merge_incidents(self, incidents: Sequence[Incident]) -> None:
        still_open = self.view.merge_incidents(incidents)
        self.exporter.incidents_open(
            len(still_open), min((i.created_at for i in still_open), default=0.0)
        )

    # ---- periodic store work ---------------------------------------------------------
    async def _save_state(self) -> None:
        """Hysteresis counters, and any batch a failed write left queued."""
        async with self._lock:
            self.keeper.submit([], self.engine.to_state(), (), self.clock.now().timestamp())

    async def _flush_aggregates(self) -> None:
        rows = self.aggregator.drain()
        if rows:
            await self.keeper.call(
                "write", lambda: self.keeper.store.add_probe_aggregates(rows), None
            )

    async def _minutely(self) -> None:
        await self._flush_aggregates()
        await self._refresh_uptime()
        now = self.clock.now().timestamp()
        await self.keeper.call("prune", lambda: self.keeper.store.prune(now, RETENTION), None)

    async def check_integrity(self) -> None:
        """The full `integrity_check` on a schedule: a corrupt store is never written again
        and readiness says so (the start-up `quick_check` runs when the store opens)."""
        if not await self.keeper.check_integrity(full=True) and self.sender is not None:
            self.sender.store = self.keeper.store

    async def _collect_garbage(self) -> None:
        """The full collection the CLI takes off automatic (see `quiet_gc`), on a timer."""
        began = self.clock.monotonic()
        found = gc.collect()
        log.debug(
            "gc_full_collection", seconds=round(self.clock.monotonic() - began, 3), collected=found
        )

    async def _send_webhooks(self) -> None:
        if self.sender is not None:
            await self.keeper.call("read", self.sender.run_once, 0)

    async def _refresh_uptime(self) -> None:
        now = self.time.now()
        self._uptime_due, self._uptime_at = False, now
        since = now - UPTIME_DAYS * 86400
        changes = await self.keeper.call(
            "read", lambda: self.keeper.store.status_changes(since), None
        )
        if changes is None:
            return
        created = {v.id: v.created_at for v in self.engine.component_views(now)}
        self.daily.prune(since)
        # Pure and GIL-bound, but in a thread the loop still gets its turn every few ms.
        self.view.uptime = await asyncio.to_thread(
            daily_uptime,
            changes,
            [c.id for c in self.config.components],
            now,
            UPTIME_DAYS,
            created,
            self.daily.copy(),
        )

    def _rebuild(self, now: float) -> None:
        self._built_at = now
        snap = self.view.build(now, self.config, self.engine)
        self.exporter.set_components(
            snap.components, {c.id: c.group for c in self.config.components}
        )
        self._dirty = False

    # ---- reload ------------------------------------------------------------------------
    async def _watch_config(self) -> None:
        digest = _digest(self.settings.config_path)
        if digest is not None and digest != self._config_digest:
            await self.reload()

    async def reload(self) -> tuple[bool, list[str]]:
        """Parse fully, then swap; a bad file keeps the running config. One at a time."""
        async with self._reload_lock:
            return await self._reload()

    async def _reload(self) -> tuple[bool, list[str]]:
        self._config_digest = _digest(self.settings.config_path)
        now = self.time.now()
        config, errors = await read_config(self.settings.config_path, self.settings.transform)
        if config is None:
            self.exporter.config_reloaded(False, now)
            for line in errors:
                log.error("config_reload_failed", error=line)
            return False, errors
        async with self._lock:
            self.config = config
            REDACTOR.secrets = config.secret_values
            effects = self.engine.reconfigure(engine_config(config), now)
            self.runner.update(config.probed)
            self._configure_traffic(config)
            self.exporter.set_checks(config.checks)
            if self.sender is not None:
                self.sender.configure(config.webhooks)
            ids = {c.id for c in config.checks}
            self.view.keep_checks(config.checks)
            self._log_throttle.forget(ids)
            if effects:
                await self._apply(effects, now)
            self.exporter.config_reloaded(True, now)
            self._rebuild(now)
        gc.freeze()
        log.info("config_reloaded", checks=len(config.checks), components=len(config.components))
        return True, []

    # ---- ApiBackend ------------------------------------------------------------------------
    def snapshot(self) -> StatusSnapshot:
        if self.view.current is None:
            self._rebuild(self.time.now())
        assert self.view.current is not None
        return self.view.current

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        # Yields to the loop between blocks of checks: a scrape never stalls probing.
        body = await self.exporter.render_async(openmetrics=openmetrics)
        return body, CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT

    def ready(self) -> tuple[bool, str]:
        if self._closing:
            return False, "shutting down"
        if not self._started:
            return False, "starting"
        if self.keeper.degraded:
            return False, f"store: {self.keeper.degraded}"
        if self.keeper.problem:
            return False, f"store: {self.keeper.problem}"
        # Never on the targets or the network verdict (issue 11): a total outage must not
        # take the status page offline. That verdict is a metric, an alert and an API line.
        return True, "ready"

    def write_token(self) -> str | None:
        return self.settings.api_token

    async def command(self, command: Command) -> Result:
        """A person's command, acknowledged only once durable: written at once (as
        `write_incident`); refused with StoreError while shutting down or while the store
        cannot write, and if this very write fails the engine is rolled back, so the
        change is neither acknowledged nor saved later."""
        stored: Incident | None = None
        if isinstance(command, PostMortem):
            stored = self.view.incidents.get(command.incident_id)
            if stored is None:
                stored = await self.keeper.store.incident(command.incident_id)
        async with self._lock:
            if self._closing:
                raise StoreError("prober is shutting down; retry against the next instance")
            if self.keeper.degraded:  # nothing can be made durable: refuse before anything
                raise StoreError(self.keeper.degraded)
            now = self.time.now()
            before = self.engine.to_state()
            effects, result = execute(self.engine, command, now, stored)
            try:
                await self._apply(effects, now, durable=True)
            except StoreError:
                self.engine = Engine(engine_config(self.config), before)
                raise
        return result

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        none: list[Incident] = []
        return await self.keeper.call(
            "read",
            lambda: self.keeper.store.incidents_started(since, until, limit=HISTORY_LIMIT),
            none,
        )

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        async with self._lock:
            if self._closing:
                raise StoreError("prober is shutting down; retry against the next instance")
            if self.keeper.degraded:  # nothing can be made durable: refuse before anything
                raise StoreError(self.keeper.degraded)
            now = self.time.now()
            before = self.engine.to_state()
            effects = self.engine.post_update(
                incident_id, now, status=status, body=body, impact=impact
            )
            try:
                await self._apply(effects, now, durable=True)
            except StoreError:
                # Not on disk: not acknowledged, and not kept in memory either (it would
                # otherwise reach the store with a later batch after a 503).
                self.engine = Engine(engine_config(self.config), before)
                raise
        for effect in reversed(effects):
            if isinstance(effect, IncidentOpened | IncidentUpdated | IncidentResolved):
                return effect.incident
        if incident_id in self.view.incidents:
            return self.view.incidents[incident_id]
        raise KeyError(incident_id)


def _digest(path: str) -> bytes | None:
    """Content hash of the config file, following symlinks (Kubernetes ConfigMap swaps)."""
    try:
        return hashlib.sha256(Path(os.path.realpath(path)).read_bytes()).digest()
    except OSError:
        return None
