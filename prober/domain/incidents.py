"""The incident lifecycle: open, join, update, monitor, resolve; and human writes.

Rules (the engine calls `step` with every component's status after each change):

* A component that is bad (degraded, partial or major; `under_maintenance` counts as
  fine) and in no open incident joins the open incident of its key, or opens one. The
  key is None (one incident per episode), or the component's group with
  `IncidentPolicy.per_group`. A new incident starts `investigating`; its first update
  lists the affected components (old status operational, new status now); `started_at`
  is the earliest episode start (first failing probe) of its components.
* A new automatic update is written whenever the set of affected components or any of
  their statuses changed since the last update, but never closer than
  `min_update_spacing` to the previous update: a burst while flapping becomes one update
  listing the net change (old = status in the previous update, new = status now), and a
  flap that returned to where it was writes nothing. Every update lists all components.
* When every component is fine again, `recovered_at` is the latest of its components'
  last failing probes (cleared by a relapse), and the (coalesced) update is `monitoring`. After
  `quiet_period` of all fine, measured from the later of that moment and the monitoring
  update, the incident is `resolved`. A component getting worse while `monitoring`
  is a relapse: the same incident goes back to `investigating`.
* A member that goes `under_maintenance` while its incident is open is frozen at its
  last status: the incident neither moves to monitoring nor resolves because of the
  window, and continues (same incident, same start) when the window ends.
* Impact is IMPACT_OF_STATUS of the worst status any component reached
  (degraded -> minor, partial -> major, major -> critical) until a human sets it.
* Humans post updates (`investigating`, `identified`, `monitoring`, `resolved`, or None
  to keep the status) with a body and optionally an impact. A hand-resolved incident's
  still-bad components open no new incident until they have been operational again.
  Automatic updates keep a human `identified`.
* Ids are derived from persisted counters with sha256, never random.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from prober.domain import wording
from prober.domain.effects import Effect, IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.hold import still_held
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.incident_record import HUMAN_STATUSES as HUMAN_STATUSES
from prober.domain.incident_record import IDENT, INV, MON, RES, Record
from prober.domain.incident_record import bad as bad
from prober.domain.incident_record import digest_id as digest_id
from prober.domain.policy import IncidentPolicy
from prober.domain.state import OP, worse
from prober.domain.status import IMPACT_OF_STATUS, ComponentStatus, Impact, IncidentStatus

CLOSED_MEMORY = 200  # resolved ids remembered, so writes to them are refused clearly
DUE_SLACK = 1e-6  # seconds: `due` errs early, never late


class IncidentBook:
    """Open incidents and the counters that make their ids; pure apart from its own state."""

    def __init__(
        self,
        policy: IncidentPolicy,
        names: Mapping[str, str],
        groups: Mapping[str, str | None],
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self.policy = policy
        self.names = dict(names)
        self.groups = dict(groups)
        self.seq = 0
        self.records: dict[str, Record] = {}
        self.suppressed: set[str] = set()
        # Status of each suppressed component when a person resolved its incident: the
        # resolve holds unless the component gets worse than that (human.still_held).
        self.held: dict[str, ComponentStatus] = {}
        self.closed: list[str] = []
        self.due: float | None = None  # earliest time a step with unchanged statuses acts
        self._member_of: dict[str, str] = {}  # component -> id of the open record it is in
        if state:
            self.seq = int(state.get("seq", 0))
            for d in state.get("records", []):
                rec = Record.from_state(d)
                self.records[rec.incident.id] = rec
            self.suppressed = set(state.get("suppressed", []))
            self.held = {str(c): ComponentStatus(s) for c, s in state.get("held", {}).items()}
            self.closed = [str(x) for x in state.get("closed", [])]
        self._reindex()

    # -- configuration and state ----------------------------------------------------------

    def reconfigure(
        self, policy: IncidentPolicy, names: Mapping[str, str], groups: Mapping[str, str | None]
    ) -> None:
        self.policy = policy
        self.names.update(names)  # keep names of removed components for old incidents
        self.groups = dict(groups)
        # A component removed (or renamed) from the config leaves its incidents without an
        # update: its status is unknown, not "operational again". An incident left with no
        # configured member is not advanced any more; a human resolves it.
        for rec in self.records.values():
            for comp in [c for c in rec.members if c not in groups]:
                rec.members.pop(comp)
                rec.announced.pop(comp, None)
                rec.reasons.pop(comp, None)
        self._reindex()

    def _reindex(self) -> None:
        """Recompute `due` and the member index after anything that changed the records.

        `due` mirrors `_advance`: with the statuses of the last step unchanged, a step
        does nothing (but refresh member reasons, see `note_reasons`) before `due`. It is
        a hair early (DUE_SLACK) so float rounding can never make a caller skip a step.
        """
        due: float | None = None
        for rec in self.records.values():
            at = self._due_of(rec)
            if at is not None and (due is None or at < due):
                due = at
        self.due = due
        self._member_of = {c: rid for rid, rec in self.records.items() for c in rec.members}

    def _due_of(self, rec: Record) -> float | None:
        if rec.human:
            return None
        if not rec.members:
            return None  # every member was removed from the config: waits for a human
        all_ok = not any(bad(s) for s in rec.members.values())
        if all_ok != (rec.ok_since is not None):
            return -math.inf  # the next step sets or clears ok_since: step at once
        current = rec.incident.status
        desired = current
        if all_ok and current in (INV, IDENT):
            desired = MON
        elif current is MON and rec.worsened():
            desired = INV
        if rec.members != rec.announced or desired is not current:
            return rec.last_update_at + self.policy.min_update_spacing - DUE_SLACK
        if current is MON and all_ok and rec.ok_since is not None:
            since = max(rec.ok_since, rec.incident.monitoring_at or rec.ok_since)
            return since + self.policy.quiet_period - DUE_SLACK
        return None

    def incident_of_member(self, component: str) -> str | None:
        """The open incident `component` is a member of, in O(1)."""
        return self._member_of.get(component)

    def note_reasons(self, component: str, reasons: Mapping[str, int]) -> None:
        """What a step does to a bad member's reasons, for one component, without a step."""
        rid = self._member_of.get(component)
        if rid is not None and reasons:
            rec = self.records.get(rid)
            if rec is not None and component in rec.members:
                rec.reasons[component] = dict(reasons)

    def to_state(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "records": [r.to_state() for r in self.records.values()],
            "suppressed": sorted(self.suppressed),
            "held": {c: s.value for c, s in sorted(self.held.items())},
            "closed": list(self.closed),
        }

    def open_incidents(self) -> list[Incident]:
        return [r.incident for r in self.records.values()]

    def incident_of(self, component: str) -> str | None:
        for rid, rec in self.records.items():
            if component in rec.members:
                return rid
        return None

    # -- automatic lifecycle -------------------------------------------------------------

    def step(
        self,
        statuses: Mapping[str, ComponentStatus],
        starts: Mapping[str, float | None],
        reasons: Mapping[str, Mapping[str, int]],
        now: float,
        bad_components: Sequence[str] | None = None,
        recovered: Callable[[str], float | None] | None = None,
    ) -> list[Effect]:
        """Advance every incident given each component's status (maintenance as fine).

        `bad_components`, when given, must be exactly the components with a bad status,
        in the order of `statuses`: the step then costs O(bad + open incidents).
        """
        effects: list[Effect] = []
        self.suppressed, self.held = still_held(self.suppressed, self.held, statuses)
        member_of = {c for r in self.records.values() for c in r.members}
        fresh: dict[str | None, list[str]] = {}
        candidates = (
            statuses.items()
            if bad_components is None
            else [(c, statuses[c]) for c in bad_components]
        )
        for comp, status in candidates:
            if not bad(status) or comp in self.suppressed or comp in member_of:
                continue
            key = self.groups.get(comp) if self.policy.per_group else None
            target = self._latest(key)
            if target is None:
                fresh.setdefault(key, []).append(comp)
                continue
            target.members[comp] = status
            start = starts.get(comp)
            if start is not None and start < target.incident.started_at:
                target.incident = replace(target.incident, started_at=start)
        opened: set[str] = set()
        for key, comps in fresh.items():
            rec = self._open(key, comps, statuses, starts, reasons, now)
            opened.add(rec.incident.id)
            effects.append(IncidentOpened(rec.incident))
        for rid, rec in list(self.records.items()):
            if rid not in opened and not rec.human:
                effects.extend(self._advance(rec, statuses, reasons, now, recovered))
        self._reindex()
        return effects

    def _latest(self, key: str | None) -> Record | None:
        found = None
        for rec in self.records.values():
            if rec.key == key and not rec.human:
                found = rec
        return found

    def _open(
        self,
        key: str | None,
        comps: list[str],
        statuses: Mapping[str, ComponentStatus],
        starts: Mapping[str, float | None],
        reasons: Mapping[str, Mapping[str, int]],
        now: float,
    ) -> Record:
        self.seq += 1
        iid = digest_id(f"incident/{self.seq}/{now!r}/{comps[0]}")
        known = [t for c in comps if (t := starts.get(c)) is not None]
        members = {c: statuses[c] for c in comps}
        worst = OP
        for status in members.values():
            worst = worse(worst, status)
        incident = Incident(
            id=iid,
            name="",
            status=INV,
            impact=IMPACT_OF_STATUS[worst],
            started_at=min(known) if known else now,
            created_at=now,
            updated_at=now,
            group=key,
        )
        rec = Record(incident, key, members, {}, worst, now)
        rec.reasons = {c: dict(reasons[c]) for c in comps if reasons.get(c)}
        affected = rec.affected(self.names)
        body = wording.opened_body(affected, rec.merged_reasons())
        self._write(rec, INV, body, now, automatic=True)
        self.records[iid] = rec
        return rec

    def _advance(
        self,
        rec: Record,
        statuses: Mapping[str, ComponentStatus],
        reasons: Mapping[str, Mapping[str, int]],
        now: float,
        recovered: Callable[[str], float | None] | None = None,
    ) -> list[Effect]:
        if not rec.members:
            return []  # every member was removed from the config: waits for a human
        all_ok = rec.refresh(statuses, reasons, now, recovered)
        current = rec.incident.status
        desired = current
        relapse = False
        if all_ok and current in (INV, IDENT):
            desired = MON
        elif current is MON and rec.worsened():
            desired, relapse = INV, True
        changed = rec.members != rec.announced or desired is not current
        if changed:
            if now - rec.last_update_at < self.policy.min_update_spacing:
                return []
            affected = rec.affected(self.names)
            if desired is MON:
                body = wording.monitoring_body()
            else:
                body = wording.changed_body(affected, relapse)
            return [self._write(rec, desired, body, now, automatic=True)]
        if current is MON and all_ok and rec.ok_since is not None:
            since = max(rec.ok_since, rec.incident.monitoring_at or rec.ok_since)
            if now - since >= self.policy.quiet_period:
                body = wording.resolved_body(self.policy.quiet_period)
                return [self._write(rec, RES, body, now, automatic=True)]
        return []

    # -- human writes --------------------------------------------------------------------

    def post_update(
        self,
        incident_id: str,
        now: float,
        status: IncidentStatus | None = None,
        body: str = "",
        impact: Impact | None = None,
    ) -> list[Effect]:
        rec = self.records.get(incident_id)
        if rec is None:
            if incident_id in self.closed:
                raise ValueError(f"incident {incident_id} is resolved: it takes no more updates")
            raise KeyError(incident_id)
        if status is not None and status not in HUMAN_STATUSES:
            raise ValueError(f"status {status.value!r} cannot be posted to an incident")
        if impact is not None:
            if impact is Impact.MAINTENANCE:
                raise ValueError("impact 'maintenance' is for scheduled maintenance only")
            rec.incident = replace(rec.incident, impact=impact, impact_override=True)
            if not body:
                body = wording.impact_body(impact.value)
        effect = self._write(rec, status or rec.incident.status, body, now, automatic=False)
        self._reindex()
        return [effect]

    # -- writing updates -----------------------------------------------------------------

    def _write(
        self, rec: Record, status: IncidentStatus, body: str, now: float, automatic: bool
    ) -> Effect:
        inc = rec.incident
        affected = rec.affected(self.names)
        update = IncidentUpdate(
            id=digest_id(f"{inc.id}/update/{len(inc.updates) + 1}"),
            incident_id=inc.id,
            status=status,
            body=body,
            created_at=now,
            affected_components=affected,
            automatic=automatic,
        )
        monitoring_at = inc.monitoring_at
        if status is MON and inc.status is not MON:
            monitoring_at = now
        elif status in (INV, IDENT):
            monitoring_at = None
        name = inc.name
        if (automatic and not rec.renamed) or not name:
            names = [self.names.get(c, c) for c in rec.members]
            name = wording.title(self.policy.title_template, names, rec.merged_reasons(), rec.key)
        rec.incident = replace(
            inc,
            name=name,
            status=status,
            impact=inc.impact if inc.impact_override else IMPACT_OF_STATUS[rec.worst],
            updated_at=now,
            monitoring_at=monitoring_at,
            resolved_at=now if status is RES else None,
            components=tuple(rec.members.items()),
            updates=(*inc.updates, update),
        )
        rec.announced = dict(rec.members)
        rec.last_update_at = now
        if status is RES:
            del self.records[inc.id]
            self.closed = [*self.closed, inc.id][-CLOSED_MEMORY:]
            gone = {c: s for c, s in rec.members.items() if bad(s)}
            self.suppressed.update(gone)
            if not automatic:
                self.held.update(gone)
            return IncidentResolved(rec.incident, update)
        return IncidentUpdated(rec.incident, update)
