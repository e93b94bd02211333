"""The composition root: builds everything, owns start, stop and reload.

Flow: the runner hands each round of probe results to `_on_round`, which updates metrics and
feeds the domain engine; effects are applied in order — store first (one transaction with
the engine's state and the webhook outbox rows), then metrics, logs, and the snapshot that
every reader sees. The API reads snapshots and the store, never the runner.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from prober import __version__
from prober.api.statuspage import incident_json, page_json
from prober.clock import Clock, SystemClock
from prober.config import Check, Config
from prober.config.loader import load_config
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    NetworkHealthChanged,
)
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.snapshot import CheckView, StatusSnapshot
from prober.domain.status import Impact, IncidentStatus
from prober.errors import ConfigError, StoreError
from prober.history import Aggregator, daily_uptime
from prober.logs import REDACTOR, Throttle, get_logger
from prober.metrics import Metrics
from prober.probes.http import HttpProber
from prober.probes.result import ProbeResult
from prober.runner import Runner
from prober.store.base import Store
from prober.store.factory import make_store
from prober.webhooks import WebhookSender, deliveries_for

log = get_logger("prober.service")

UPTIME_DAYS = 90
RECENT_INCIDENTS = 50
RETENTION = 100 * 86400.0


@dataclass(frozen=True)
class Settings:
    config_path: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    db_path: str = "prober.db"
    api_token: str | None = None
    grace: float = 10.0
    watch_interval: float = 2.0
    tick_interval: float = 1.0
    state_save_interval: float = 15.0
    # Applied to every config loaded from the file (the demo points checks at its target).
    transform: Callable[[Config], Config] | None = None


class Service:
    """prober as one object: `await start()`, then `await stop()`; implements ApiBackend."""

    def __init__(self, settings: Settings, config: Config, clock: Clock | None = None) -> None:
        self.settings = settings
        self.config = config
        self.clock = clock or SystemClock()
        self.exporter = Metrics(version=__version__)
        self.store: Store = make_store(settings.db_path)
        self.store_ok = True
        self.store_problem = ""
        self.engine = Engine(config)
        self.prober = HttpProber(self.clock)
        self.runner = Runner(self.prober.probe, self._on_round, self.clock, grace=settings.grace)
        self.sender = WebhookSender(self.store, self.clock, self.exporter.webhook_delivery)
        self.aggregator = Aggregator()
        self.exporter.track_in_flight(lambda: self.runner.in_flight)
        self.exporter.track_skipped_rounds(lambda: self.runner.skipped_rounds)
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._last: dict[str, ProbeResult] = {}
        self._log_throttle = Throttle(60.0)
        self._last_success: dict[str, float] = {}
        self._incidents: dict[str, Incident] = {}
        self._uptime: dict[str, Any] = {}
        self._snapshot: StatusSnapshot | None = None
        self._version = 0
        self._dirty = True
        self._config_digest = _digest(settings.config_path)
        self._started = False
        self._network_healthy = True
        self._stopping = asyncio.Event()

    # ---- life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        REDACTOR.secrets = self.config.secret_values
        now = self.clock.now().timestamp()
        try:
            await self.store.open()
            state = await self.store.load_domain_state()
            self.engine = Engine(self.config, state)
        except StoreError as exc:
            self._store_failed("open", exc)
            from prober.store.memory import MemoryStore

            self.store = MemoryStore()  # keep probing and serving; never touch the bad file
            await self.store.open()
            self.sender = WebhookSender(self.store, self.clock, self.exporter.webhook_delivery)
        self.engine.reconfigure(self.config, now)
        self.exporter.set_checks(self.config.checks)
        self.exporter.config_reloaded(True, now)
        self.sender.configure(self.config.webhooks)
        await self._load_incidents()
        await self._refresh_uptime()
        self._rebuild(now)
        self.runner.start(self.config.checks)
        self._tasks = [
            asyncio.create_task(self._every(self.settings.tick_interval, self._tick)),
            asyncio.create_task(self._every(self.settings.watch_interval, self._watch_config)),
            asyncio.create_task(self._every(1.0, self._send_webhooks)),
            asyncio.create_task(self._every(60.0, self._minutely)),
            asyncio.create_task(self._every(self.settings.state_save_interval, self._save_state)),
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
        self._started = False
        await self.runner.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._flush_aggregates()
        await self._save_state()
        await self.sender.close()
        await self.prober.close()
        await self.store.close()
        log.info("prober_stopped")

    async def _every(self, seconds: float, fn: Any) -> None:
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
        self.exporter.record_round(check, results, lag)
        for r in results:
            self.aggregator.add(r)
            if r.ok:
                self._last_success[check.id] = r.at
        if results:
            self._log_transition(check, results[-1])
        now = self.clock.now().timestamp()
        effects = self.engine.observe(results, now)
        self._dirty = True
        if effects:
            await self._apply(effects, now)

    def _log_transition(self, check: Check, last: ProbeResult) -> None:
        """Log a check going bad or good again, throttled per check (flapping)."""
        prev = self._last.get(check.id)
        self._last[check.id] = last
        if prev is not None and prev.ok == last.ok:
            return
        if prev is None and last.ok:
            return
        held = self._log_throttle.allow(check.id, self.clock.monotonic())
        if held is None:
            return
        if last.ok:
            log.info("probe_recovered", check=check.id, component=check.component,
                     suppressed=held)
        else:
            log.warning("probe_failed", check=check.id, component=check.component,
                        reason=last.reason.value, status_code=last.status_code,
                        detail=last.detail, suppressed=held)

    async def _tick(self) -> None:
        now = self.clock.now().timestamp()
        effects = self.engine.tick(now)
        if effects:
            await self._apply(effects, now)
        if self._dirty:
            self._rebuild(now)

    async def _apply(self, effects: Sequence[Effect], now: float) -> None:
        """Store first, then metrics, logs and the snapshot."""
        async with self._lock:
            snap = self.snapshot()
            rows = deliveries_for(
                effects, self.config.webhooks, lambda i: incident_json(i, snap), page_json(snap)
            )
            try:
                await self.store.apply(effects, self.engine.to_state(), rows, now)
                self._store_recovered()
            except StoreError as exc:
                self._store_failed("write", exc)
            for effect in effects:
                self._announce(effect)
            self._merge_incidents(
                [e.incident for e in effects
                 if isinstance(e, IncidentOpened | IncidentUpdated | IncidentResolved)]
            )
            if any(isinstance(e, ComponentStateChanged) for e in effects):
                await self._refresh_uptime()
            self._rebuild(now)

    def _announce(self, effect: Effect) -> None:
        if isinstance(effect, ComponentStateChanged):
            log.warning(
                "component_status_changed",
                component=effect.component,
                old=effect.old.value,
                new=effect.new.value,
                failure_ratio=round(effect.failure_ratio, 4),
            )
        elif isinstance(effect, IncidentOpened):
            inc = effect.incident
            self.exporter.incident_opened(inc.impact.value, inc.created_at - inc.started_at)
            log.warning(
                "incident_opened",
                incident=inc.id,
                name=inc.name,
                impact=inc.impact.value,
                components=[c for c, _ in inc.components],
                started_at=inc.started_at,
            )
        elif isinstance(effect, IncidentResolved):
            inc = effect.incident
            if inc.duration is not None:
                self.exporter.incident_resolved(inc.duration)
            log.info("incident_resolved", incident=inc.id, duration=inc.duration)
        elif isinstance(effect, IncidentUpdated):
            log.info(
                "incident_updated",
                incident=effect.incident.id,
                status=effect.update.status.value,
                affected=len(effect.update.affected_components),
            )
        elif isinstance(effect, NetworkHealthChanged):
            self._network_healthy = effect.healthy
            self.exporter.network_healthy(effect.healthy)
            if effect.healthy:
                log.info("network_recovered")
            else:
                log.error("network_lost", detail="every check failed at once")

    # ---- store health ------------------------------------------------------------------
    def _store_failed(self, operation: str, exc: Exception) -> None:
        self.exporter.store_error(operation)
        self.exporter.store_healthy(False)
        if self.store_ok or self.store_problem != str(exc):
            log.error("store_failed", operation=operation, error=str(exc))
        self.store_ok = False
        self.store_problem = str(exc)

    def _store_recovered(self) -> None:
        if not self.store_ok:
            log.info("store_recovered")
        self.store_ok = True
        self.store_problem = ""
        self.exporter.store_healthy(True)

    async def _save_state(self) -> None:
        async with self._lock:
            try:
                await self.store.apply([], self.engine.to_state(), (), self.clock.now().timestamp())
                self._store_recovered()
            except StoreError as exc:
                self._store_failed("write", exc)

    async def _flush_aggregates(self) -> None:
        rows = self.aggregator.drain()
        if not rows:
            return
        try:
            await self.store.add_probe_aggregates(rows)
        except StoreError as exc:
            self._store_failed("write", exc)

    async def _minutely(self) -> None:
        await self._flush_aggregates()
        await self._refresh_uptime()
        try:
            await self.store.prune(self.clock.now().timestamp(), RETENTION)
        except StoreError as exc:
            self._store_failed("prune", exc)

    async def _send_webhooks(self) -> None:
        try:
            await self.sender.run_once()
        except StoreError as exc:
            self._store_failed("read", exc)

    # ---- snapshot ------------------------------------------------------------------------
    async def _load_incidents(self) -> None:
        """Read recent incidents once at start; effects keep the list current after that."""
        try:
            stored = await self.store.incidents(limit=RECENT_INCIDENTS)
        except StoreError as exc:
            self._store_failed("read", exc)
            stored = []
        self._incidents = {i.id: i for i in stored}
        self._merge_incidents(self.engine.open_incidents())

    def _merge_incidents(self, incidents: Sequence[Incident]) -> None:
        """Newest version of each incident; open ones first, then the most recent."""
        for inc in incidents:
            self._incidents[inc.id] = inc
        ordered = sorted(self._incidents.values(), key=lambda i: (not i.is_open, -i.created_at))
        self._incidents = {i.id: i for i in ordered[:RECENT_INCIDENTS]}
        still_open = [i for i in ordered if i.is_open]
        self.exporter.incidents_open(
            len(still_open), min((i.created_at for i in still_open), default=0.0)
        )

    async def _refresh_uptime(self) -> None:
        now = self.clock.now().timestamp()
        try:
            changes = await self.store.status_changes(now - UPTIME_DAYS * 86400)
        except StoreError as exc:
            self._store_failed("read", exc)
            return
        created = {v.id: v.created_at for v in self.engine.component_views(now)}
        self._uptime = daily_uptime(
            changes, [c.id for c in self.config.components], now, UPTIME_DAYS, created
        )

    def _rebuild(self, now: float) -> None:
        views = self.engine.component_views(now)
        self.exporter.set_components(views, {c.id: c.group for c in self.config.components})
        checks = tuple(
            CheckView(c.id, c.component, self._last.get(c.id), self._last_success.get(c.id))
            for c in self.config.checks
        )
        self._version += 1
        self._snapshot = StatusSnapshot(
            generated_at=now,
            page=self.config.page,
            components=tuple(views),
            checks=checks,
            incidents=tuple(self._incidents.values()),
            maintenances=tuple(self.engine.maintenance_windows(now)),
            uptime=dict(self._uptime),
            network_healthy=self._network_healthy,
            version=self._version,
        )
        self._dirty = False

    # ---- reload ------------------------------------------------------------------------
    async def _watch_config(self) -> None:
        digest = _digest(self.settings.config_path)
        if digest is not None and digest != self._config_digest:
            await self.reload()

    async def reload(self) -> tuple[bool, list[str]]:
        """Parse fully, then swap; a bad file keeps the running config."""
        self._config_digest = _digest(self.settings.config_path)
        now = self.clock.now().timestamp()
        try:
            config = await asyncio.to_thread(load_config, self.settings.config_path)
            if self.settings.transform is not None:
                config = self.settings.transform(config)
        except ConfigError as exc:
            errors = [str(i) for i in exc.issues]
            self.exporter.config_reloaded(False, now)
            for line in errors:
                log.error("config_reload_failed", error=line)
            return False, errors
        except OSError as exc:
            self.exporter.config_reloaded(False, now)
            log.error("config_reload_failed", error=str(exc))
            return False, [str(exc)]
        async with self._lock:
            self.config = config
            REDACTOR.secrets = config.secret_values
            effects = self.engine.reconfigure(config, now)
            self.runner.update(config.checks)
            self.exporter.set_checks(config.checks)
            self.sender.configure(config.webhooks)
            ids = {c.id for c in config.checks}
            self._last = {k: v for k, v in self._last.items() if k in ids}
            self._last_success = {k: v for k, v in self._last_success.items() if k in ids}
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
        if self._snapshot is None:
            self._rebuild(self.clock.now().timestamp())
        assert self._snapshot is not None
        return self._snapshot

    async def metrics(self) -> tuple[bytes, str]:
        # Yields to the loop between blocks of checks: a scrape never stalls probing.
        return await self.exporter.render_async(), CONTENT_TYPE_LATEST

    def ready(self) -> tuple[bool, str]:
        if not self._started:
            return False, "starting"
        if not self.store_ok:
            return False, f"store: {self.store_problem}"
        if not self._network_healthy:
            return False, "network: every check is failing at once"
        return True, "ready"

    def write_token(self) -> str | None:
        return self.settings.api_token

    async def write_incident(
        self,
        incident_id: str,
        status: IncidentStatus | None,
        body: str,
        impact: Impact | None,
    ) -> Incident:
        now = self.clock.now().timestamp()
        effects = self.engine.post_update(incident_id, now, status=status, body=body, impact=impact)
        await self._apply(effects, now)
        for effect in reversed(effects):
            if isinstance(effect, IncidentOpened | IncidentUpdated | IncidentResolved):
                return effect.incident
        if incident_id in self._incidents:
            return self._incidents[incident_id]
        raise KeyError(incident_id)


def _digest(path: str) -> bytes | None:
    """Content hash of the config file, following symlinks (Kubernetes ConfigMap swaps)."""
    try:
        return hashlib.sha256(Path(os.path.realpath(path)).read_bytes()).digest()
    except OSError:
        return None
