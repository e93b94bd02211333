"""The Statuspage vocabulary as enums: wire values are the enum values."""

from __future__ import annotations

from enum import StrEnum


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def level(self) -> int:
        """Numeric value exported as prober_component_status (see docs/METRICS.md)."""
        return _LEVEL[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_LEVEL = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


# Impact of an incident from the worst component status it reached (documented rule).
IMPACT_OF_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.MAINTENANCE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}

# Page indicator and description (Statuspage /api/v2/status.json).
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
