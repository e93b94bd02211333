"""An immutable picture of everything prober knows, rebuilt by the shell after each change.

Readers (the API, the page, /metrics' component series) only ever see a whole snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from prober.config.model import Page
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult


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


@dataclass(frozen=True, slots=True)
class DayUptime:
    """Share of one UTC day spent in each status (fractions summing to 1 over known time)."""

    day: str  # YYYY-MM-DD
    seconds: dict[str, float]  # status value -> seconds in that status that day

    @property
    def uptime(self) -> float | None:
        known = sum(self.seconds.values())
        if known <= 0:
            return None
        good = self.seconds.get("operational", 0.0) + self.seconds.get("under_maintenance", 0.0)
        return good / known


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
