"""The SQL and row shapes SqliteStore uses: statements, column lists, row tuples."""

from __future__ import annotations

import sqlite3
from typing import Any

from prober.domain.incident import Incident, IncidentUpdate
from prober.store import codec
from prober.store.base import SavedState
from prober.store.rows import incidents_from_rows

INCIDENT_COLS = (
    "id, name, status, impact, started_at, created_at, updated_at, monitoring_at, "
    "resolved_at, components, impact_override, grp, recovered_at"
)
UPSERT_INCIDENT = (
    f"INSERT INTO incidents ({INCIDENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET name=excluded.name, status=excluded.status, "
    "impact=excluded.impact, started_at=excluded.started_at, created_at=excluded.created_at, "
    "updated_at=excluded.updated_at, monitoring_at=excluded.monitoring_at, "
    "resolved_at=excluded.resolved_at, components=excluded.components, "
    "impact_override=excluded.impact_override, grp=excluded.grp, "
    "recovered_at=excluded.recovered_at"
)
UPSERT_UPDATE = (
    "INSERT INTO incident_updates (id, incident_id, status, body, created_at, affected, "
    "automatic) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
    "incident_id=excluded.incident_id, status=excluded.status, body=excluded.body, "
    "created_at=excluded.created_at, affected=excluded.affected, automatic=excluded.automatic"
)
UPSERT_AGGREGATE = (
    "INSERT INTO probe_aggregates (check_id, minute, component, total, failures, "
    "latency_sum, latency_max) VALUES (?,?,?,?,?,?,?) ON CONFLICT (check_id, minute) DO "
    "UPDATE SET component=excluded.component, total=total+excluded.total, "
    "failures=failures+excluded.failures, latency_sum=latency_sum+excluded.latency_sum, "
    "latency_max=max(latency_max, excluded.latency_max)"
)
LAST_CHANGE_IDS = (
    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY component "
    "ORDER BY at DESC, id DESC) AS rn FROM status_changes WHERE at <= ?) WHERE rn = 1"
)
CLOSED = tuple(str(s) for s in codec.CLOSED_STATUSES)


UPSERT_ENGINE = (
    "INSERT INTO engine_state (id, state, saved_at, generation) VALUES (1, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET state=excluded.state, saved_at=excluded.saved_at, "
    "generation=excluded.generation"
)
# A commit without a state delta still counts (lock.py): only once an engine row exists.
BUMP_GENERATION = "UPDATE engine_state SET generation = ? WHERE id = 1"
UPSERT_COMPONENT = (
    "INSERT INTO component_state (component, state, saved_at) VALUES (?, ?, ?) "
    "ON CONFLICT (component) DO UPDATE SET state=excluded.state, saved_at=excluded.saved_at"
)


def generation(c: sqlite3.Connection) -> int:
    row = c.execute("SELECT generation FROM engine_state WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def load_state(c: sqlite3.Connection) -> SavedState | None:
    """The engine row, the component rows and the open incidents, or None without an
    engine row. ValueError: a row is not a JSON object."""
    row = c.execute("SELECT state FROM engine_state WHERE id = 1").fetchone()
    if row is None:
        return None
    components = {
        str(cid): codec.load_state(text)
        for cid, text in c.execute("SELECT component, state FROM component_state")
    }
    rows = c.execute(
        f"SELECT {INCIDENT_COLS} FROM incidents WHERE status NOT IN (?,?)",  # noqa: S608
        CLOSED,
    ).fetchall()
    return SavedState(codec.load_state(row[0]), components, load_incidents(c, rows))


def incident_row(inc: Incident) -> tuple[object, ...]:
    return (
        inc.id, inc.name, str(inc.status), str(inc.impact), inc.started_at, inc.created_at,
        inc.updated_at, inc.monitoring_at, inc.resolved_at, codec.dump_components(inc.components),
        int(inc.impact_override), inc.group, inc.recovered_at,
    )  # fmt: skip


def update_row(u: IncidentUpdate) -> tuple[object, ...]:
    return (
        u.id, u.incident_id, str(u.status), u.body, u.created_at,
        codec.dump_affected(u.affected_components), int(u.automatic),
    )  # fmt: skip


def load_incidents(c: sqlite3.Connection, rows: list[Any]) -> list[Incident]:
    """Incidents from incident rows (INCIDENT_COLS), each with all its updates."""
    if not rows:
        return []
    ids = [r[0] for r in rows]
    marks = ",".join("?" * len(ids))
    updates = c.execute(
        "SELECT id, incident_id, status, body, created_at, affected, automatic FROM "  # noqa: S608
        f"incident_updates WHERE incident_id IN ({marks}) ORDER BY created_at, seq",
        ids,
    )
    return incidents_from_rows(rows, updates)
