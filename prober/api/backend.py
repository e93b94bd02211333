"""The seam between the HTTP layer and the service: what handlers may ask of prober.

Handlers see an `ApiBackend`. Across the thread boundary (prober/api/thread.py) the
service is reached through a `ServiceLink` with exactly two doors:

- `published()`: ONE immutable value, `Published` (the snapshot, readiness and the write
  token), swapped whole by the service loop; reading it needs no lock and no loop.
- `submit(command)`: everything else (writes, reload, history, /metrics) as a marshalled
  `ApiCommand`, run on the service's loop (`asyncio.run_coroutine_threadsafe`); the HTTP
  thread awaits the returned future.

The API never reaches the runner, the engine or the store directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

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

    def locations(self) -> Sequence[Mapping[str, Any]]:
        """The agents' locations as the leader last judged them (empty without agents)."""
        ...


@dataclass(frozen=True, slots=True)
class Published:
    """What the service publishes for readers on other threads, swapped whole: at every
    snapshot rebuild (each effect, and every few seconds for ratios), and at every tick
    (so readiness follows the store and the life cycle within `tick_interval`, 1 s)."""

    snapshot: StatusSnapshot
    ready: tuple[bool, str]
    write_token: str | None
    locations: tuple[Mapping[str, Any], ...] = ()  # several locations (issue 14)


# ---- the marshalled commands ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RenderMetrics:
    openmetrics: bool = False


@dataclass(frozen=True, slots=True)
class Reload:
    pass


@dataclass(frozen=True, slots=True)
class RunCommand:
    command: Command


@dataclass(frozen=True, slots=True)
class WriteIncident:
    incident_id: str
    status: IncidentStatus | None
    body: str
    impact: Impact | None


@dataclass(frozen=True, slots=True)
class ReadHistory:
    since: float
    until: float


ApiCommand = RenderMetrics | Reload | RunCommand | WriteIncident | ReadHistory


class ServiceLink(Protocol):
    """The only two things the HTTP thread may use of the service."""

    def published(self) -> Published: ...

    def submit(self, command: ApiCommand) -> Future[object]: ...


async def dispatch(backend: ApiBackend, command: ApiCommand) -> object:
    """Run a marshalled command on `backend` (on the backend's own loop)."""
    match command:
        case RenderMetrics(openmetrics):
            return await backend.metrics(openmetrics)
        case Reload():
            return await backend.reload()
        case RunCommand(cmd):
            return await backend.command(cmd)
        case WriteIncident(incident_id, status, body, impact):
            return await backend.write_incident(incident_id, status, body, impact)
        case ReadHistory(since, until):
            return await backend.incident_history(since, until)
    raise TypeError(f"not an API command: {command!r}")
