"""An immutable picture of everything prober knows, rebuilt by the shell after each change.

Readers (the API, the page, /metrics' component series) only ever see a whole snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from prober.domain.incident import Incident
from prober.domain.observation import ProbeResult
from prober.domain.policy import Page
from prober.domain.status import ComponentStatus


@dataclass(frozen=True, slots=True)
class ComponentView:
    id: str
    name: str
    group: str | None
    description: str | None
    position: int  # 1-based order in checks.yaml
    status: ComponentStatus
    failure_ratio: float  # over the status window; 0.0 with no samples
    samples: int  # probes in the window
    latency_p95: float | None  # seconds, over the window
    created_at: float  # first seen by this prober (epoch seconds)
    updated_at: float  # last status change


@dataclass(frozen=True, slots=True)
class CheckView:
    id: str
    component: str
    last: ProbeResult | None
    last_success_at: float | None


# Statuspage's weights: a minute of partial outage counts as 0.3 of a minute of downtime,
# a minute of major outage as one; degraded performance is not downtime.
DOWNTIME_WEIGHT = {"major_outage": 1.0, "partial_outage": 0.3}


@dataclass(frozen=True, slots=True)
class DayUptime:
    """One UTC day of a component: its probes (what uptime is computed from) and the seconds
    spent in each status (what the bar's colour is computed from)."""

    day: str  # YYYY-MM-DD
    seconds: dict[str, float]  # status value -> seconds in that status that day
    probes: int = 0  # probe requests made that day (outside maintenance)
    failures: int = 0  # of which failed

    @property
    def uptime(self) -> float | None:
        """Successful probes over all probes; None when nothing was probed that day."""
        if self.probes <= 0:
            return None
        return (self.probes - self.failures) / self.probes

    @property
    def downtime(self) -> float:
        """Weighted downtime seconds: major outage + 0.3 x partial outage."""
        return sum(self.seconds.get(s, 0.0) * w for s, w in DOWNTIME_WEIGHT.items())


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """One concrete occurrence of a configured maintenance."""

    id: str  # maintenance id, plus the occurrence date for weekly ones
    name: str
    components: tuple[str, ...]
    starts_at: float
    ends_at: float
    description: str | None = None


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    generated_at: float
    page: Page
    components: tuple[ComponentView, ...]
    checks: tuple[CheckView, ...]
    incidents: tuple[Incident, ...]  # recent ones, open first then newest first
    maintenances: tuple[MaintenanceWindow, ...]  # active and upcoming
    uptime: dict[str, tuple[DayUptime, ...]]  # component id -> last 90 days, oldest first
    network_healthy: bool = True
    network_state: str = "ok"  # ok, lost (canaries confirm) or unverified (see network.py)
    version: int = 0  # increases with every rebuild: an ETag

    def component(self, component_id: str) -> ComponentView | None:
        for c in self.components:
            if c.id == component_id:
                return c
        return None

    @property
    def open_incidents(self) -> tuple[Incident, ...]:
        return tuple(i for i in self.incidents if i.is_open)
