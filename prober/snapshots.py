"""Builds the immutable StatusSnapshot that every reader sees, from the engine's views and
what the shell remembers: each check's last result, recent incidents, daily uptime."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prober.config.model import Config
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.snapshot import CheckView, DayUptime, StatusSnapshot
from prober.probes.result import ProbeResult

RECENT_INCIDENTS = 50


class SnapshotBuilder:
    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}  # open first, then newest first
        self.uptime: dict[str, tuple[DayUptime, ...]] = {}
        self._last: dict[str, ProbeResult] = {}
        self._last_success: dict[str, float] = {}
        self._version = 0
        self.current: StatusSnapshot | None = None

    def last(self, check_id: str) -> ProbeResult | None:
        return self._last.get(check_id)

    def record(self, check_id: str, results: Sequence[ProbeResult]) -> None:
        for r in results:
            if r.ok:
                self._last_success[check_id] = r.at
        if results:
            self._last[check_id] = results[-1]

    def keep_checks(self, ids: set[str]) -> None:
        self._last = {k: v for k, v in self._last.items() if k in ids}
        self._last_success = {k: v for k, v in self._last_success.items() if k in ids}

    def merge_incidents(self, incidents: Iterable[Incident]) -> list[Incident]:
        """Keep the newest version of each incident; returns the open ones."""
        for inc in incidents:
            self.incidents[inc.id] = inc
        ordered = sorted(self.incidents.values(), key=lambda i: (not i.is_open, -i.created_at))
        self.incidents = {i.id: i for i in ordered[:RECENT_INCIDENTS]}
        return [i for i in ordered if i.is_open]

    def build(self, now: float, config: Config, engine: Engine) -> StatusSnapshot:
        self._version += 1
        self.current = StatusSnapshot(
            generated_at=now,
            page=config.page,
            components=tuple(engine.component_views(now)),
            checks=tuple(
                CheckView(c.id, c.component, self._last.get(c.id), self._last_success.get(c.id))
                for c in config.checks
            ),
            incidents=tuple(self.incidents.values()),
            maintenances=tuple(engine.maintenance_windows(now)),
            uptime=dict(self.uptime),
            network_healthy=engine.network_healthy,
            version=self._version,
        )
        return self.current
