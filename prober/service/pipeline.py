"""The effect pipeline: store first, then announce (metrics and logs), then publish.

Every effect the engine returns goes this way and no other: queued for the keeper's
writer task (or, for a person's write, written at once and acknowledged only once
durable); once saved, announced (announce.py); then the snapshot rebuilt and published
as one immutable `Published` value, the only thing the HTTP thread reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from prober.announce import announce
from prober.api.backend import Published
from prober.api.statuspage import incident_json, page_json
from prober.clock import Clock
from prober.domain.codec import StateDelta
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.snapshot import StatusSnapshot
from prober.errors import StoreError
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.service.live import Live
from prober.signals.traffic import engine_config
from prober.snapshots import SnapshotBuilder
from prober.store.lease import NotLeaderError
from prober.webhooks import deliveries_for

Change = Callable[[Engine, float], Sequence[Effect]]
INCIDENT_EFFECTS = IncidentOpened | IncidentUpdated | IncidentResolved


class EffectPipeline:
    def __init__(
        self,
        live: Live,
        keeper: StoreKeeper,
        exporter: Metrics,
        clock: Clock,
        write_token: str | None,
    ) -> None:
        self.live = live
        self.keeper = keeper
        self.exporter = exporter
        self.clock = clock
        self.view = SnapshotBuilder()
        self._token = write_token
        self.dirty = True  # probe results since the last rebuild
        self.uptime_due = False  # a status changed: uptime to refresh
        self.built_at = 0.0
        # merged into the engine row of every state delta (the feed's position, role.py)
        self.engine_extra: dict[str, Any] = {}
        self.published = self._rebuild_value(live.time.now())

    # ---- in: one change of the engine, applied --------------------------------------
    async def step(self, change: Change, now: float) -> None:
        """Run `change` on the engine under the lock; its effects go down the pipeline."""
        async with self.live.lock:
            effects = change(self.live.engine, now)
            if effects:
                await self.apply(effects, now)

    async def durably(self, change: Change) -> Sequence[Effect]:
        """A person's change, acknowledged only once durable: refused with StoreError while
        shutting down or while the store cannot write; if this very write fails the engine
        is rolled back, so the change is neither acknowledged nor saved with a later batch."""
        async with self.live.lock:
            if self.live.closing:
                raise StoreError("prober is shutting down; retry against the next instance")
            if self.live.follower:
                raise NotLeaderError(self.live.leader)
            if self.keeper.degraded:  # nothing can be made durable: refuse before anything
                raise StoreError(self.keeper.degraded)
            now = self.live.time.now()
            before = self.live.engine.to_state()
            effects = change(self.live.engine, now)
            try:
                await self.apply(effects, now, durable=True)
            except StoreError:
                self.live.engine = Engine(engine_config(self.live.config), before)
                self.publish()  # readiness says so at once
                raise
        return effects

    async def apply(self, effects: Sequence[Effect], now: float, durable: bool = False) -> None:
        """Store first, then metrics and logs, then the snapshot. Caller holds the lock.

        Without `durable` the batch is queued for the keeper's writer task and this returns
        at once: probing never waits for the disk; the writer announces it once saved (or
        once a write failed: it stays queued and is retried). With `durable` (a human write)
        it is written now, and StoreError raised when it was not: acknowledged only on disk.
        """
        if self.live.follower:  # another replica leads: it writes, this one never does
            self.rebuild(max(now, self.built_at))
            return
        snap = self.snapshot()
        rows = deliveries_for(
            effects,
            self.live.config.webhooks,
            lambda i: incident_json(i, snap, with_updates=False),
            page_json(snap),
        )
        wall = self.clock.now().timestamp()
        state = self.delta()
        if durable:
            await self.keeper.apply_durably(effects, state, rows, wall)
            self.announce(effects, now)
        else:
            self.keeper.submit(effects, state, rows, wall)

    def delta(self) -> StateDelta:
        """The engine's state delta, its engine row carrying `engine_extra`."""
        delta = self.live.engine.state_delta()
        if self.engine_extra:
            delta = dataclasses.replace(delta, engine={**delta.engine, **self.engine_extra})
        return delta

    # ---- out: announce, then publish -----------------------------------------------
    def announce(self, effects: Sequence[Effect], now: float) -> None:
        """After the store: metrics and logs, then the snapshot readers see."""
        for effect in effects:
            announce(effect, self.exporter)
        self.merge_incidents([e.incident for e in effects if isinstance(e, INCIDENT_EFFECTS)])
        if any(isinstance(e, ComponentStateChanged) for e in effects):
            self.uptime_due = True  # refreshed by the next tick, at most every 10 s
        self.rebuild(max(now, self.built_at))

    def merge_incidents(self, incidents: Sequence[Incident]) -> None:
        still_open = self.view.merge_incidents(incidents)
        self.exporter.incidents_open(
            len(still_open), min((i.created_at for i in still_open), default=0.0)
        )

    def rebuild(self, now: float) -> None:
        self.published = self._rebuild_value(now)

    def _rebuild_value(self, now: float) -> Published:
        self.built_at = now
        config = self.live.config
        snap = self.view.build(now, config, self.live.engine)
        self.exporter.set_components(snap.components, {c.id: c.group for c in config.components})
        self.dirty = False
        return Published(snap, self.ready(), self._token, tuple(self.live.locations))

    def publish(self) -> None:
        """Readiness may have changed (store, life cycle): the same snapshot, republished."""
        self.published = Published(
            self.snapshot(), self.ready(), self._token, tuple(self.live.locations)
        )

    def ready(self) -> tuple[bool, str]:
        if self.live.closing:
            return False, "shutting down"
        if not self.live.started:
            return False, "starting"
        if self.keeper.degraded:
            return False, f"store: {self.keeper.degraded}"
        if self.keeper.integrity:  # until a check passes again (keeper.check_integrity)
            return False, f"store integrity: {self.keeper.integrity}"
        if self.keeper.problem:
            return False, f"store: {self.keeper.problem}"
        # Never on the targets or the network verdict (issue 11): a total outage must not
        # take the status page offline. That verdict is a metric, an alert and an API line.
        # Several replicas: a healthy follower is ready too (it serves the page).
        return True, f"ready; {self.live.role}" if self.live.role else "ready"

    def snapshot(self) -> StatusSnapshot:
        if self.view.current is None:
            self.rebuild(self.live.time.now())
        assert self.view.current is not None
        return self.view.current
