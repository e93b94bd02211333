"""The SQL and row shapes PostgresStore uses (the SQLite ones are in sqlite_sql.py)."""

from __future__ import annotations

from typing import Any

import psycopg

from prober.domain.incident import Incident, IncidentUpdate
from prober.store import codec
from prober.store.rows import incidents_from_rows

INCIDENT_COLS = (
    "id, name, status, impact, started_at, created_at, updated_at, monitoring_at, "
    "resolved_at, components, impact_override, grp, recovered_at"
)
SELECT_INCIDENTS = f"SELECT {INCIDENT_COLS} FROM incidents"  # noqa: S608 (constants only)
UPSERT_INCIDENT = (
    f"INSERT INTO incidents ({INCIDENT_COLS}) VALUES "  # noqa: S608
    "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
    "ON CONFLICT (id) DO UPDATE SET name=excluded.name, status=excluded.status, "
    "impact=excluded.impact, started_at=excluded.started_at, created_at=excluded.created_at, "
    "updated_at=excluded.updated_at, monitoring_at=excluded.monitoring_at, "
    "resolved_at=excluded.resolved_at, components=excluded.components, "
    "impact_override=excluded.impact_override, grp=excluded.grp, "
    "recovered_at=excluded.recovered_at"
)
UPSERT_UPDATE = (
    "INSERT INTO incident_updates (id, incident_id, status, body, created_at, affected, "
    "automatic) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET "
    "incident_id=excluded.incident_id, status=excluded.status, body=excluded.body, "
    "created_at=excluded.created_at, affected=excluded.affected, automatic=excluded.automatic"
)
INSERT_CHANGE = (
    "INSERT INTO status_changes (component, at, old, new, failure_ratio) "
    "VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (webhook, event_key, payload, next_attempt_at, created_at, ordering) "
    "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
)
UPSERT_ENGINE = (
    "INSERT INTO engine_state (id, state, saved_at) VALUES (1, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET state=excluded.state, saved_at=excluded.saved_at"
)
UPSERT_COMPONENT = (
    "INSERT INTO component_state (component, state, saved_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (component) DO UPDATE SET state=excluded.state, saved_at=excluded.saved_at"
)
UPSERT_AGGREGATE = (
    "INSERT INTO probe_aggregates AS a (check_id, minute, component, total, failures, "
    "latency_sum, latency_max) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (check_id, minute) "
    "DO UPDATE SET component=excluded.component, total=a.total+excluded.total, "
    "failures=a.failures+excluded.failures, latency_sum=a.latency_sum+excluded.latency_sum, "
    "latency_max=greatest(a.latency_max, excluded.latency_max)"
)
LAST_CHANGE_IDS = (
    "SELECT DISTINCT ON (component) id FROM status_changes WHERE at <= %s "
    "ORDER BY component, at DESC, id DESC"
)
BASELINE = f"SELECT component, new FROM status_changes WHERE id IN ({LAST_CHANGE_IDS})"  # noqa: S608
PRUNE_CHANGES = f"DELETE FROM status_changes WHERE at < %s AND id NOT IN ({LAST_CHANGE_IDS})"  # noqa: S608
DUE = (
    "SELECT id, webhook, event_key, payload, attempts, next_attempt_at FROM outbox o "
    "WHERE state = 'pending' AND next_attempt_at <= %s AND NOT EXISTS (SELECT 1 "
    "FROM outbox p WHERE p.webhook = o.webhook AND p.ordering = o.ordering AND "
    "p.state = 'pending' AND p.id < o.id) ORDER BY next_attempt_at, id LIMIT %s"
)
CLOSED = [str(s) for s in codec.CLOSED_STATUSES]


def incident_row(inc: Incident) -> tuple[object, ...]:
    return (
        inc.id, inc.name, str(inc.status), str(inc.impact), inc.started_at, inc.created_at,
        inc.updated_at, inc.monitoring_at, inc.resolved_at, codec.dump_components(inc.components),
        inc.impact_override, inc.group, inc.recovered_at,
    )  # fmt: skip


def update_row(u: IncidentUpdate) -> tuple[object, ...]:
    return (
        u.id, u.incident_id, str(u.status), u.body, u.created_at,
        codec.dump_affected(u.affected_components), u.automatic,
    )  # fmt: skip


async def load_incidents(conn: psycopg.AsyncConnection[Any], rows: list[Any]) -> list[Incident]:
    """Incidents from incident rows (INCIDENT_COLS), each with all its updates."""
    if not rows:
        return []
    cur = await conn.execute(
        "SELECT id, incident_id, status, body, created_at, affected, automatic FROM "
        "incident_updates WHERE incident_id = ANY(%s) ORDER BY created_at, seq",
        ([r[0] for r in rows],),
    )
    return incidents_from_rows(rows, await cur.fetchall())
