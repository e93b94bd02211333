"""The one Store protocol; memory and sqlite backends implement it and share contract tests.

Every `apply` is one transaction: the effects of one domain step together with the domain
state that produced them, so a crash never leaves an announced incident unsaved and a
restart never duplicates one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prober.domain.effects import Effect
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus


@dataclass(frozen=True, slots=True)
class ProbeAggregate:
    """Probe history kept as one row per check per minute, not a row per probe."""

    check_id: str
    component: str
    minute: int  # epoch seconds, floored to the minute
    total: int
    failures: int
    latency_sum: float
    latency_max: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery in the outbox (at least once, never duplicated by a restart)."""

    id: int
    webhook: str
    event_key: str  # unique per (webhook, incident update): the idempotency key
    payload: bytes
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True, slots=True)
class StatusChange:
    component: str
    at: float
    status: ComponentStatus


class Store(Protocol):
    async def open(self) -> None:
        """Create or migrate the schema. Raises SchemaTooNewError for a newer database."""
        ...

    async def close(self) -> None: ...

    async def load_domain_state(self) -> Mapping[str, Any] | None:
        """The last domain state saved by `apply`, or None for a fresh store."""
        ...

    async def apply(
        self,
        effects: Sequence[Effect],
        domain_state: Mapping[str, Any],
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        """Persist effects, the new domain state and new outbox rows
        (webhook id, event key, payload) in one transaction."""
        ...

    async def incidents(self, limit: int = 50, since: float | None = None) -> list[Incident]:
        """Open incidents first, then the most recent; each with all its updates.
        With `since`, closed incidents last updated before `since` are left out."""
        ...

    async def incidents_started(
        self, since: float, until: float, limit: int = 1000
    ) -> list[Incident]:
        """Incidents that started in [since, until), open or closed, the earliest first;
        each with all its updates (the history page of one month)."""
        ...

    async def incident(self, incident_id: str) -> Incident | None: ...

    async def status_changes(self, since: float) -> list[StatusChange]:
        """Component status changes since `since`, plus each component's status at `since`
        (as a change dated `since`), oldest first: the timeline uptime is computed from."""
        ...

    async def add_probe_aggregates(self, rows: Sequence[ProbeAggregate]) -> None: ...

    async def probe_aggregates(self, check_id: str, since: float) -> list[ProbeAggregate]: ...

    async def probe_days(self, since: float) -> list[tuple[str, int, int, int]]:
        """Probe aggregates since `since` summed per component and UTC day:
        (component, day start in epoch seconds, total, failures), in no particular order."""
        ...

    async def due_deliveries(self, now: float, limit: int = 100) -> list[Delivery]: ...

    async def delivery_done(self, delivery_id: int) -> None: ...

    async def delivery_failed(self, delivery_id: int, next_attempt_at: float | None) -> None:
        """Record a failed attempt; None gives up (the row is kept, marked dropped)."""
        ...

    async def check(self, full: bool = False) -> str | None:
        """An integrity check (`full`) or a quick one: None when fine, else the problem."""
        ...

    async def prune(self, now: float, retention: float) -> None:
        """Drop probe aggregates and resolved incidents older than `retention` seconds
        (also old status changes, except each component's last one before the cutoff, and
        finished outbox rows)."""
        ...
