"""Incident value types. Timestamps are epoch seconds (float, UTC)."""

from __future__ import annotations

from dataclasses import dataclass

from prober.domain.status import ComponentStatus, Impact, IncidentStatus


@dataclass(frozen=True, slots=True)
class AffectedComponent:
    code: str  # component id
    name: str
    old_status: ComponentStatus
    new_status: ComponentStatus


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    id: str
    incident_id: str
    status: IncidentStatus
    body: str
    created_at: float
    affected_components: tuple[AffectedComponent, ...] = ()
    automatic: bool = True


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    name: str
    status: IncidentStatus
    impact: Impact
    started_at: float  # the first failing probe of the episode
    created_at: float  # detected_at: when prober opened it
    updated_at: float
    monitoring_at: float | None = None
    resolved_at: float | None = None
    # Components ever affected, in the order they joined, and their current statuses.
    components: tuple[tuple[str, ComponentStatus], ...] = ()
    updates: tuple[IncidentUpdate, ...] = ()  # oldest first
    impact_override: bool = False  # an SRE set the impact by hand
    group: str | None = None  # with incidents.per_group
    # The last failing probe of the episode, once every component is fine again (cleared
    # by a relapse): when it really ended. Monitoring and quiet time come after it.
    recovered_at: float | None = None

    @property
    def detected_at(self) -> float:
        return self.created_at

    @property
    def duration(self) -> float | None:
        """Started to recovered (the episode itself); started to resolved for an incident
        resolved without a known recovery (by hand while still failing)."""
        if self.recovered_at is not None and self.resolved_at is not None:
            return max(0.0, self.recovered_at - self.started_at)
        return None if self.resolved_at is None else self.resolved_at - self.started_at

    @property
    def is_open(self) -> bool:
        return self.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
