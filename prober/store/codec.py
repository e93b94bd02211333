"""Backend-neutral pieces of the stores: effect expansion, JSON encodings, query semantics.

Both backends route through these functions so that the contract (what an effect writes,
how incidents are ordered, what `status_changes` returns) is defined once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    NetworkHealthChanged,
)
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.store.base import StatusChange

CLOSED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)


@dataclass
class Writes:
    """What one `apply` writes, flattened from its effects (in effect order)."""

    incidents: list[Incident] = field(default_factory=list)  # without their updates
    updates: list[IncidentUpdate] = field(default_factory=list)
    status_changes: list[ComponentStateChanged] = field(default_factory=list)


def expand(effects: Sequence[Effect]) -> Writes:
    """Flatten effects: an incident effect upserts the incident and each update it carries
    (its `updates` tuple plus the effect's own update), so re-applying never duplicates."""
    out = Writes()
    for effect in effects:
        if isinstance(effect, IncidentOpened | IncidentUpdated | IncidentResolved):
            inc = effect.incident
            out.incidents.append(replace(inc, updates=()))
            out.updates.extend(inc.updates)
            if not isinstance(effect, IncidentOpened):
                out.updates.append(effect.update)
        elif isinstance(effect, ComponentStateChanged):
            out.status_changes.append(effect)
        elif isinstance(effect, NetworkHealthChanged):
            pass  # not stored: metrics and logs carry it
        else:  # pragma: no cover - the Effect union is closed
            raise TypeError(f"unknown effect {type(effect).__name__}")
    return out


def dump_state(state: Mapping[str, Any]) -> str:
    """One engine state row as JSON (both backends store the text, so both round-trip
    alike). orjson: a complete delta (the first save, a reconfigure) at 10,000 checks is
    about 1.4 MB of rows, which the stdlib encoder takes about 35 ms to write while holding
    the event loop (the domain keeps only finite numbers; orjson would write a non-finite
    one as null)."""
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def load_state(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("saved state row is not a JSON object")
    return value


def dump_components(components: Iterable[tuple[str, ComponentStatus]]) -> str:
    return json.dumps([[code, str(status)] for code, status in components])


def load_components(text: str) -> tuple[tuple[str, ComponentStatus], ...]:
    return tuple((str(code), ComponentStatus(status)) for code, status in json.loads(text))


def dump_affected(affected: Iterable[AffectedComponent]) -> str:
    return json.dumps([[a.code, a.name, str(a.old_status), str(a.new_status)] for a in affected])


def load_affected(text: str) -> tuple[AffectedComponent, ...]:
    return tuple(
        AffectedComponent(code, name, ComponentStatus(old), ComponentStatus(new))
        for code, name, old, new in json.loads(text)
    )


def listed(incident: Incident, since: float | None) -> bool:
    """`incidents(since=...)`: open incidents always, closed ones updated at or after since."""
    return since is None or incident.is_open or incident.updated_at >= since


def order_key(incident: Incident) -> tuple[int, float, str]:
    """Open incidents first, then the most recently opened; ties by id."""
    return (0 if incident.is_open else 1, -incident.created_at, incident.id)


def timeline(
    since: float,
    baseline: Mapping[str, ComponentStatus],
    after: Sequence[tuple[str, float, ComponentStatus, ComponentStatus]],
) -> list[StatusChange]:
    """Each component's status at `since` (from its last change at or before `since`, else
    from the `old` of its first change after it), dated `since`, then the later changes
    (component, at, old, new) oldest first."""
    start = dict(baseline)
    for component, _at, old, _new in after:
        start.setdefault(component, old)
    out = [StatusChange(c, since, s) for c, s in sorted(start.items())]
    out.extend(StatusChange(c, at, new) for c, at, _old, new in after)
    return out


DONE_KEPT = 86400.0  # seconds a delivered outbox row (its key, no payload) is kept


def ordering(event_key: str) -> str:
    """The delivery-order group of an outbox event key: everything before its last ':'
    ("<webhook>:<incident>" for "<webhook>:<incident>:<update>"); a key without ':' is
    its own group."""
    head, sep, _ = event_key.rpartition(":")
    return head if sep else event_key
