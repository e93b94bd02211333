"""Builds the immutable StatusSnapshot that every reader sees, from the engine's views and
what the shell remembers: each check's last result, recent incidents, daily uptime."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prober.config.model import Check, Config
from prober.domain import human
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.domain.snapshot import CheckView, DayUptime, StatusSnapshot
from prober.probes.result import ProbeResult

RECENT_INCIDENTS = 50


class SnapshotBuilder:
    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}  # open first, then newest first
        self.uptime: dict[str, tuple[DayUptime, ...]] = {}
        # Each check's view is rebuilt when its round ends, not at every snapshot.
        self._checks: dict[str, CheckView] = {}
        self._version = 0
        self.current: StatusSnapshot | None = None

    def last(self, check_id: str) -> ProbeResult | None:
        view = self._checks.get(check_id)
        return None if view is None else view.last

    def record(self, check: Check, results: Sequence[ProbeResult]) -> None:
        if not results:
            return
        prev = self._checks.get(check.id)
        success = prev.last_success_at if prev is not None else None
        for r in results:
            if r.ok:
                success = r.at
        self._checks[check.id] = CheckView(check.id, check.component, results[-1], success)

    def keep_checks(self, checks: Iterable[Check]) -> None:
        """After a reload: forget removed checks and those moved to another component."""
        wanted = {c.id: c.component for c in checks}
        self._checks = {k: v for k, v in self._checks.items() if wanted.get(k) == v.component}

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
            components=tuple(human.overlay(engine.component_views(now), engine.open_incidents())),
            checks=tuple(
                self._checks.get(c.id) or CheckView(c.id, c.component, None, None)
                for c in config.checks
            ),
            incidents=tuple(self.incidents.values()),
            maintenances=tuple(engine.maintenance_windows(now)),
            uptime=dict(self.uptime),
            network_healthy=engine.network_healthy,
            network_state=engine.network_state,
            version=self._version,
        )
        return self.current
