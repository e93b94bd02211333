"""The Engine's read side: network verdict, component views, incidents, maintenances.

A mixin of `Engine` (engine.py): what the API, metrics and status page read of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prober.domain import maintenance
from prober.domain import traffic as signal
from prober.domain.incident import Incident
from prober.domain.snapshot import ComponentView, MaintenanceWindow
from prober.domain.state import ComponentHealth
from prober.domain.status import ComponentStatus

if TYPE_CHECKING:
    from prober.domain.incidents import IncidentBook
    from prober.domain.network import NetworkGuard
    from prober.domain.policy import Config, Maintenance

MAINTENANCE_HORIZON_DAYS = 7.0


class EngineViews:
    """The views of an `Engine`."""

    # The engine's tables these views read (set by Engine.__init__ / _apply_config).
    config: Config
    signals: signal.Signals
    book: IncidentBook
    guard: NetworkGuard
    _health: dict[str, ComponentHealth]
    _shown: dict[str, ComponentStatus]
    _created: dict[str, float]
    _updated: dict[str, float]

    def _all_maintenances(self) -> tuple[Maintenance, ...]:
        raise NotImplementedError  # Engine's

    @property
    def network_healthy(self) -> bool:
        return self.guard.healthy

    @property
    def network_state(self) -> str:
        """`ok`, `lost` (canaries confirm prober's own loss) or `unverified` (every target
        unreachable and no canary to tell: shown as the outage it may be)."""
        return self.guard.state

    def undecided(self, component: str) -> int:
        """Whether (truthy) and which way the component's probe statistics want more
        evidence now (pure: the runner may probe its checks sooner; see
        ComponentHealth.undecided: WANT_NONE, WANT_EVIDENCE or WANT_END)."""
        health = self._health.get(component)
        return health.undecided() if health is not None else 0

    def status_of(self, component: str) -> ComponentStatus:
        return self._shown[component]

    def component_views(self, now: float) -> list[ComponentView]:
        views = []
        for position, comp in enumerate(self.config.components, start=1):
            health = self._health[comp.id]
            counts = signal.driver(health, self.signals.health.get(comp.id)).window.counts(now)
            views.append(
                ComponentView(
                    id=comp.id,
                    name=comp.name,
                    group=comp.group,
                    description=comp.description,
                    position=position,
                    status=self._shown[comp.id],
                    failure_ratio=counts.ratio,
                    samples=counts.total,
                    latency_p95=health.window.percentile(now, 0.95),
                    created_at=self._created.get(comp.id, now),
                    updated_at=self._updated.get(comp.id, self._created.get(comp.id, now)),
                )
            )
        return views

    def open_incidents(self) -> list[Incident]:
        return self.book.open_incidents()

    def maintenance_windows(self, now: float) -> list[MaintenanceWindow]:
        """Active and upcoming (next 7 days) maintenance occurrences."""
        return maintenance.upcoming(self._all_maintenances(), now, MAINTENANCE_HORIZON_DAYS)
