"""Incidents run by people: open, rename, set impact and affected components, post a
post-mortem. Pure: takes the IncidentBook and `now`, returns effects.

* A human incident is a record of the book with `human=True`: it persists with the engine
  state, has an id from the same counters, and the engine never advances it (no automatic
  monitoring or resolve); its components and their statuses are what the person declared.
  A component in a human incident joins no automatic one while it is open.
* On an automatic incident a person may rename it (automatic updates keep the name), set
  its impact (kept), change its status or post text (`IncidentBook.post_update`); its
  affected components follow the probes, so they cannot be set by hand (ValueError).
* Resolving is a status update like any other; a human resolve holds (hold.py).
* A post-mortem goes on a resolved incident (read from the store by the shell): an update
  with status `postmortem`, its body Markdown (rendered safely by the page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from prober.domain.effects import Effect, IncidentOpened, IncidentUpdated
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.incident_record import HUMAN_STATUSES, Record, digest_id
from prober.domain.incidents import IncidentBook
from prober.domain.snapshot import ComponentView
from prober.domain.state import SEVERITY, worse
from prober.domain.status import IMPACT_OF_STATUS, ComponentStatus, Impact, IncidentStatus

OP = ComponentStatus.OPERATIONAL
HUMAN_KEY = "\x00human"  # the book key of human incidents: no automatic key equals it
CLOSED = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)

Declared = tuple[tuple[str, ComponentStatus], ...]


def _worst(components: Declared) -> ComponentStatus:
    out = OP
    for _, status in components:
        out = worse(out, status)
    return out


def _check_components(components: Declared, names: Mapping[str, str]) -> None:
    unknown = [c for c, _ in components if c not in names]
    if unknown:
        raise KeyError(f"unknown component(s): {', '.join(unknown)}")


def open_incident(
    book: IncidentBook,
    now: float,
    *,
    name: str,
    body: str,
    components: Declared,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    impact: Impact | None = None,
) -> list[Effect]:
    """A new human incident. KeyError: unknown component; ValueError: a closed status."""
    if status not in HUMAN_STATUSES or status in CLOSED:
        raise ValueError(
            f"a new incident starts investigating, identified or monitoring, not {status.value}"
        )
    _check_components(components, book.names)
    book.seq += 1
    iid = digest_id(f"incident/{book.seq}/{now!r}/human")
    members = dict(components)
    worst = _worst(components)
    incident = Incident(
        id=iid,
        name=name,
        status=status,
        impact=impact if impact is not None else IMPACT_OF_STATUS[worst],
        started_at=now,
        created_at=now,
        updated_at=now,
        monitoring_at=now if status is IncidentStatus.MONITORING else None,
        components=tuple(members.items()),
        impact_override=impact is not None,
    )
    affected = tuple(AffectedComponent(c, book.names.get(c, c), OP, s) for c, s in components)
    update = IncidentUpdate(
        digest_id(f"{iid}/update/1"), iid, status, body, now, affected, automatic=False
    )
    incident = replace(incident, updates=(update,))
    rec = Record(incident, HUMAN_KEY, members, dict(members), worst, now, human=True, renamed=True)
    book.records[iid] = rec
    book._reindex()
    return [IncidentOpened(incident)]


def edit_incident(
    book: IncidentBook,
    incident_id: str,
    now: float,
    *,
    name: str | None = None,
    impact: Impact | None = None,
    components: Declared | None = None,
    status: IncidentStatus | None = None,
    body: str | None = None,
) -> list[Effect]:
    """Rename, set impact, set the affected components (human incidents) and/or post an
    update. KeyError: unknown incident or component; ValueError: refused."""
    rec = book.records.get(incident_id)
    if rec is None:
        if incident_id in book.closed:
            raise ValueError(
                f"incident {incident_id} is resolved: it takes no more changes "
                f"(a post-mortem excepted)"
            )
        raise KeyError(incident_id)
    if components is not None:
        if not rec.human:
            raise ValueError(
                "the affected components of an automatic incident follow the "
                "probes; open a human incident to declare others"
            )
        _check_components(components, book.names)
    if name is not None:
        rec.incident = replace(rec.incident, name=name)
        rec.renamed = True
    changed_components = components is not None and dict(components) != rec.members
    if components is not None:
        rec.members = dict(components)
        rec.worst = _worst(components)
        if not rec.incident.impact_override and impact is None:
            rec.incident = replace(rec.incident, impact=IMPACT_OF_STATUS[rec.worst])
    wants_update = (
        status is not None or body is not None or impact is not None or changed_components
    )
    if not wants_update:  # a rename alone writes no update: the incident row changes
        book._reindex()
        last = rec.incident.updates[-1]
        rec.incident = replace(rec.incident, updated_at=now)
        return [IncidentUpdated(rec.incident, last)]
    text = body or _describe(rec, impact, changed_components)
    effects = book.post_update(incident_id, now, status, text, impact)
    if components is not None:
        rec.announced = dict(rec.members)
    return effects


def _describe(rec: Record, impact: Impact | None, changed_components: bool) -> str:
    parts = []
    if changed_components:
        parts.append("Affected components updated.")
    if impact is not None:
        parts.append(f"Impact set to {impact.value}.")
    return " ".join(parts) or "Status updated."


def postmortem(incident: Incident, now: float, body: str) -> list[Effect]:
    """Attach a post-mortem (Markdown) to a resolved incident; its status becomes
    `postmortem`. ValueError for an incident still open."""
    if incident.status not in CLOSED:
        raise ValueError("a post-mortem goes on a resolved incident; resolve it first")
    update = IncidentUpdate(
        digest_id(f"{incident.id}/update/{len(incident.updates) + 1}"),
        incident.id,
        IncidentStatus.POSTMORTEM,
        body,
        now,
        (),
        automatic=False,
    )
    after = replace(
        incident,
        status=IncidentStatus.POSTMORTEM,
        updated_at=now,
        updates=(*incident.updates, update),
    )
    return [IncidentUpdated(after, update)]


def latest_postmortem(incident: Incident) -> IncidentUpdate | None:
    found = [u for u in incident.updates if u.status is IncidentStatus.POSTMORTEM]
    return found[-1] if found else None


def declared(incidents: Sequence[Incident]) -> dict[str, ComponentStatus]:
    """The worst status people declared for each component in open human incidents."""
    out: dict[str, ComponentStatus] = {}
    for inc in incidents:
        if inc.is_open and inc.updates and not inc.updates[0].automatic:
            for cid, status in inc.components:
                out[cid] = worse(out.get(cid, OP), status)
    return out


def shown_status(
    probed: ComponentStatus, declared_status: ComponentStatus | None
) -> ComponentStatus:
    """What the page shows: the worse of the probes' verdict and a person's declaration."""
    if declared_status is None or SEVERITY[declared_status] <= SEVERITY[probed]:
        return probed
    return declared_status


def overlay(views: Sequence[ComponentView], incidents: Sequence[Incident]) -> list[ComponentView]:
    """Component views with each status the worse of probes and open human incidents."""
    said = declared(incidents)
    if not said:
        return list(views)
    return [replace(v, status=shown_status(v.status, said.get(v.id))) for v in views]
