"""An open incident's record in the IncidentBook (incidents.py): the incident as last
written, its members' statuses now and as last announced, and its persisted form; plus
the id digest and the `bad` predicate the lifecycle and the human writes share.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from prober.domain.codec import incident_from_dict, incident_to_dict
from prober.domain.incident import AffectedComponent, Incident
from prober.domain.state import OP, SEVERITY, worse
from prober.domain.status import ComponentStatus, IncidentStatus

INV = IncidentStatus.INVESTIGATING
IDENT = IncidentStatus.IDENTIFIED
MON = IncidentStatus.MONITORING
RES = IncidentStatus.RESOLVED
HUMAN_STATUSES = frozenset({INV, IDENT, MON, RES})


def digest_id(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(raw).decode().lower()[:12]


def bad(status: ComponentStatus) -> bool:
    return SEVERITY[status] > 0


@dataclass
class Record:
    incident: Incident
    key: str | None
    members: dict[str, ComponentStatus]  # current status, in join order
    announced: dict[str, ComponentStatus]  # as listed by the last update
    worst: ComponentStatus
    last_update_at: float
    ok_since: float | None = None
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    human: bool = False  # opened by a person (human.py): the engine never advances it
    renamed: bool = False  # named by a person: automatic updates keep the name

    def to_state(self) -> dict[str, Any]:
        return {
            "incident": incident_to_dict(self.incident),
            "key": self.key,
            "members": [[c, s.value] for c, s in self.members.items()],
            "announced": [[c, s.value] for c, s in self.announced.items()],
            "worst": self.worst.value,
            "last_update_at": self.last_update_at,
            "ok_since": self.ok_since,
            "reasons": self.reasons,
            "human": self.human,
            "renamed": self.renamed,
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Record:
        return cls(
            incident=incident_from_dict(d["incident"]),
            key=d.get("key"),
            members={str(c): ComponentStatus(s) for c, s in d["members"]},
            announced={str(c): ComponentStatus(s) for c, s in d["announced"]},
            worst=ComponentStatus(d["worst"]),
            last_update_at=float(d["last_update_at"]),
            ok_since=d.get("ok_since"),
            reasons={
                str(c): {str(k): int(v) for k, v in r.items()}
                for c, r in d.get("reasons", {}).items()
            },
            human=bool(d.get("human", False)),
            renamed=bool(d.get("renamed", False)),
        )

    def affected(self, names: Mapping[str, str]) -> tuple[AffectedComponent, ...]:
        """Every member as an update lists it: old = as last announced, new = now."""
        return tuple(
            AffectedComponent(
                code=c,
                name=names.get(c, c),
                old_status=self.announced.get(c, OP),
                new_status=s,
            )
            for c, s in self.members.items()
        )

    def merged_reasons(self) -> dict[str, int]:
        """The members' failure reasons, summed."""
        out: dict[str, int] = {}
        for counts in self.reasons.values():
            for k, v in counts.items():
                out[k] = out.get(k, 0) + v
        return out

    def worsened(self) -> bool:
        """A bad member is worse than the last update announced it."""
        return any(
            bad(s) and SEVERITY[s] > SEVERITY[self.announced.get(c, OP)]
            for c, s in self.members.items()
        )

    def refresh(
        self,
        statuses: Mapping[str, ComponentStatus],
        reasons: Mapping[str, Mapping[str, int]],
        now: float,
        recovered: Callable[[str], float | None] | None,
    ) -> bool:
        """Take the members' statuses and reasons, set or clear the recovery; True when
        every member is fine."""
        for comp in self.members:
            status = statuses.get(comp, OP)
            if status is ComponentStatus.UNDER_MAINTENANCE:
                # Maintenance began during the episode: its state is frozen as last seen
                # (never "operational again" while it may still fail); after the window
                # the same incident goes on from what the probes say then.
                status = self.members[comp]
            self.members[comp] = status
            self.worst = worse(self.worst, status)
            if reasons.get(comp):
                self.reasons[comp] = dict(reasons[comp])
        all_ok = not any(bad(s) for s in self.members.values())
        if not all_ok:
            self.ok_since = None
            if self.incident.recovered_at is not None:  # a relapse: not recovered after all
                self.incident = replace(self.incident, recovered_at=None)
        elif self.ok_since is None:
            self.ok_since = now
            known = [t for c in self.members if recovered and (t := recovered(c)) is not None]
            last = max(known, default=now)
            self.incident = replace(
                self.incident, recovered_at=max(self.incident.started_at, min(last, now))
            )
        return all_ok
