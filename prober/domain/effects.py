"""Effects the domain returns; the shell applies them in order: store, metrics, logs, hooks."""

from __future__ import annotations

from dataclasses import dataclass

from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import ComponentStatus


@dataclass(frozen=True, slots=True)
class ComponentStateChanged:
    component: str
    old: ComponentStatus
    new: ComponentStatus
    at: float
    failure_ratio: float


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    incident: Incident  # already carries its first (investigating) update


@dataclass(frozen=True, slots=True)
class IncidentUpdated:
    incident: Incident  # the incident after the update
    update: IncidentUpdate


@dataclass(frozen=True, slots=True)
class IncidentResolved:
    incident: Incident
    update: IncidentUpdate


@dataclass(frozen=True, slots=True)
class NetworkHealthChanged:
    """Every check failed at once (or recovered): prober's own network, not the targets."""

    healthy: bool
    at: float


Effect = (
    ComponentStateChanged
    | IncidentOpened
    | IncidentUpdated
    | IncidentResolved
    | NetworkHealthChanged
)
