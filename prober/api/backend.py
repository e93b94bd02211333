"""The seam between the HTTP layer and the service: what handlers may ask of prober.

The service implements `ApiBackend`; the API never reaches the runner or the store directly.
"""

from __future__ import annotations

from typing import Protocol

from prober.domain.commands import Command, Result
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

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        """Incidents that started in [since, until), as stored (for the monthly history)."""
        ...

    async def command(self, command: Command) -> Result:
        """Run a person's command (prober/domain/commands.py) and return the incident or
        maintenance as it now stands, once durable. Raises commands.UnknownName for an
        unknown component or template, KeyError for an unknown incident or maintenance id,
        ValueError for what the lifecycle refuses, StoreError when it cannot be made
        durable now."""
        ...

    def write_token(self) -> str | None:
        """The bearer token for writes, or None when writes are disabled."""
        ...
