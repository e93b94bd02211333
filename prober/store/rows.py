"""What the SQL backends share: the rows one `Store.apply` writes, and incidents built
back from incident and update rows (the SQLite and PostgreSQL stores differ only in their
SQL and driver, prober/store/sqlite_sql.py and postgres_sql.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prober.domain.codec import StateDelta
from prober.domain.effects import Effect
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import Impact, IncidentStatus
from prober.store import codec

Row = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ApplyRows:
    """The rows of one `apply`, encoded before the transaction (a TypeError writes nothing,
    and the rows are a snapshot whatever mutates later)."""

    engine: str | None  # the engine row's document, None when the state did not change
    components: list[Row]  # (component, document, saved_at) of the changed components
    complete: bool  # every other component row is deleted
    incidents: list[Row]
    updates: list[Row]
    changes: list[Row]  # (component, at, old, new, failure_ratio)
    outbox: list[Row]  # (webhook, event_key, payload, next_attempt_at, created_at, ordering)


def apply_rows(
    effects: Sequence[Effect],
    state: StateDelta | None,
    deliveries: Sequence[tuple[str, str, bytes]],
    now: float,
    incident_row: Callable[[Incident], Row],
    update_row: Callable[[IncidentUpdate], Row],
) -> ApplyRows:
    writes = codec.expand(effects, () if state is None else state.incidents)
    return ApplyRows(
        engine=None if state is None else codec.dump_state(state.engine),
        components=[]
        if state is None
        else [(cid, codec.dump_state(row), now) for cid, row in state.components.items()],
        complete=state is not None and state.complete,
        incidents=[incident_row(i) for i in writes.incidents],
        updates=[update_row(u) for u in writes.updates],
        changes=[
            (c.component, c.at, str(c.old), str(c.new), c.failure_ratio)
            for c in writes.status_changes
        ],
        outbox=[(w, k, bytes(p), now, now, codec.ordering(k)) for w, k, p in deliveries],
    )


def incidents_from_rows(rows: Sequence[Any], update_rows: Iterable[Any]) -> list[Incident]:
    """Incidents from incident rows (INCIDENT_COLS) and their update rows (id, incident_id,
    status, body, created_at, affected, automatic), in the incident rows' order."""
    by_incident: dict[str, list[IncidentUpdate]] = {r[0]: [] for r in rows}
    for r in update_rows:
        by_incident[r[1]].append(
            IncidentUpdate(
                r[0],
                r[1],
                IncidentStatus(r[2]),
                r[3],
                r[4],
                codec.load_affected(r[5]),
                bool(r[6]),
            )
        )
    return [
        Incident(
            id=r[0],
            name=r[1],
            status=IncidentStatus(r[2]),
            impact=Impact(r[3]),
            started_at=r[4],
            created_at=r[5],
            updated_at=r[6],
            monitoring_at=r[7],
            resolved_at=r[8],
            components=codec.load_components(r[9]),
            updates=tuple(by_incident[r[0]]),
            impact_override=bool(r[10]),
            group=r[11],
            recovered_at=r[12],
        )
        for r in rows
    ]
