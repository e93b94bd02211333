"""The seam between the HTTP layer and the service: what handlers may ask of prober.

The service implements `ApiBackend`; the API never reaches the runner or the store directly.
"""

from __future__ import annotations

from typing import Protocol

from prober.domain.incident import Incident
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import Impact, IncidentStatus


class ApiBackend(Protocol):
    def snapshot(self) -> StatusSnapshot:
        """The current immutable snapshot (cheap: no I/O, no copying)."""
        ...

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        """The Prometheus exposition, text 0.0.4 or OpenMetrics: (body, content type)."""
        ...

    def ready(self) -> tuple[bool, str]:
        """(ready, human reason) for /-/ready."""
        ...

    async def reload(self) -> tuple[bool, list[str]]:
        """Re-read the configuration: (applied, error messages)."""
        ...

    async def write_incident(
        self,
        incident_id: str,
        status: IncidentStatus | None,
        body: str,
        impact: Impact | None,
    ) -> Incident:
        """Add a human update to an incident and return the incident as stored.

        Raises KeyError for an unknown incident and ValueError for a transition the
        lifecycle refuses (for example an update to a resolved incident).
        """
        ...

    def write_token(self) -> str | None:
        """The bearer token for writes, or None when writes are disabled."""
        ...
