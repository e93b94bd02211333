"""The one Store protocol; memory and sqlite backends implement it and share contract tests.

Every `apply` is one transaction: the effects of one domain step together with the engine
state rows that changed with them, so a crash never leaves an announced incident unsaved
and a restart never duplicates one.

The engine's state is kept as rows, never one document (see prober/domain/codec.py):
- incidents and their updates: one row each, upserted from the incident effects; the
  engine's open incidents are read back from these rows (the only copy);
- one row per component (key: component id; value: the JSON object of
  `StateDelta.components[id]`), written only when the component changed;
- one small engine row (value: the JSON object of `StateDelta.engine`), written with
  every state delta.
A backend stores each row's JSON object as given and gives it back equal (after a JSON
round trip); it never looks inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prober.domain.codec import StateDelta
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


@dataclass(frozen=True, slots=True)
class SavedState:
    """The engine state rows as saved: the engine row, every component row, and the open
    incidents (each with all its updates) that the engine row's records name."""

    engine: Mapping[str, Any]
    components: Mapping[str, Mapping[str, Any]]
    open_incidents: Sequence[Incident]


class Store(Protocol):
    async def open(self) -> None:
        """Create or migrate the schema. Raises SchemaTooNewError for a newer database."""
        ...

    async def close(self) -> None: ...

    async def load_state(self) -> SavedState | None:
        """The engine state rows saved by `apply` (read in one consistent snapshot), or None
        when no engine row was ever saved (a fresh store). Raises ValueError when a saved
        row is not a JSON object (the caller rescues: a fresh engine keeping the open
        incidents, see prober/rescue.py)."""
        ...

    async def apply(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        """In one transaction: upsert the incidents and updates the effects carry and add
        their status changes (NetworkHealthChanged is not stored: metrics and logs carry
        it); write the state delta (None: no state change): the engine row replaced, each
        component row it names replaced, and when `state.complete` every other component
        row deleted; add the new outbox rows (webhook id, event key, payload), a
        (webhook, event key) already present being left as it is. Rows untouched by the
        delta are not rewritten. Idempotent: applying the same arguments twice leaves the
        store as applying them once."""
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
        finished outbox rows). Never touches the engine state rows or open incidents."""
        ...
