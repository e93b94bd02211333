"""A FakeBackend behind the real ApiBackend seam, and snapshots modelled on the seed incident."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from prober.config.model import Page
from prober.demo.scenarios import COMPONENTS  # the seed's twelve components
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.snapshot import (
    CheckView,
    ComponentView,
    DayUptime,
    MaintenanceWindow,
    StatusSnapshot,
)
from prober.domain.status import ComponentStatus as CS
from prober.domain.status import Impact, IncidentStatus
from prober.probes.result import ProbeResult, Reason

T0 = datetime(2026, 5, 26, 21, 19, tzinfo=UTC).timestamp()  # first update of the seed
CREATED = T0 - 200 * 86400
TOKEN = "s3cret-write-token-for-tests"

NAMES = {cid: name for cid, name, _ in COMPONENTS}
INCIDENT_ID = "inc-20260526-1"
INCIDENT_NAME = "Elevated 500 rates on Platform API and 11 more"


def components(statuses: dict[str, CS], at: float, names: dict[str, str] | None = None):
    out = []
    for pos, (cid, name, group) in enumerate(COMPONENTS, start=1):
        status = statuses.get(cid, CS.OPERATIONAL)
        bad = status is not CS.OPERATIONAL
        out.append(
            ComponentView(
                id=cid,
                name=(names or {}).get(cid, name),
                group=group,
                description="Core REST API" if cid == "platform-api" else None,
                position=pos,
                status=status,
                failure_ratio=0.3 if bad else 0.001,
                samples=600,
                latency_p95=0.120,
                created_at=CREATED,
                updated_at=at if bad else CREATED,
            )
        )
    return tuple(out)


def checks(at: float) -> tuple[CheckView, ...]:
    out = []
    for cid, _, _ in COMPONENTS:
        failing = cid == "dashboard"
        result = ProbeResult(
            check_id=f"{cid}-health",
            component=cid,
            at=at - 2,
            reason=Reason.HTTP_5XX if failing else Reason.OK,
            duration=0.042,
            status_code=500 if failing else 200,
            detail="status 500, expected 200-299" if failing else "",
            phases={"connect": 0.001, "processing": 0.04},
        )
        out.append(CheckView(f"{cid}-health", cid, result, at - 60 if failing else at - 2))
    out.append(CheckView("never-run", "scim", None, None))
    return tuple(out)


def uptime(at: float, bad_day: bool) -> dict[str, tuple[DayUptime, ...]]:
    today = datetime.fromtimestamp(at, tz=UTC).date()
    out = {}
    for cid, _, _ in COMPONENTS:
        days = []
        for n in range(59, -1, -1):  # 60 days of history: the 30 before show "no data"
            day = datetime.fromordinal(today.toordinal() - n).date().isoformat()
            seconds = {"operational": 86400.0}
            probes, failures = 8640, 0  # a probe every 10 s
            if n == 0 and bad_day:
                seconds = {"operational": 70000.0, "partial_outage": 3000.0}
                probes, failures = 7300, 300
            if n == 10 and cid == "billing":
                seconds = {"operational": 80000.0, "major_outage": 6400.0}
                failures = 640
            days.append(DayUptime(day=day, seconds=seconds, probes=probes, failures=failures))
        out[cid] = tuple(days)
    return out


def _affected(statuses: dict[str, CS], old: CS | None = None) -> tuple[AffectedComponent, ...]:
    return tuple(
        AffectedComponent(cid, NAMES[cid], old or CS.OPERATIONAL, st)
        for cid, st in statuses.items()
    )


BAD = {cid: CS.DEGRADED_PERFORMANCE for cid, _, _ in COMPONENTS if cid != "dashboard"}
WORSE = {**BAD, "dashboard": CS.PARTIAL_OUTAGE, "user-auth": CS.PARTIAL_OUTAGE}


def open_incident(
    body: str = "We are investigating elevated 500s affecting a subset of our API responses.",
) -> Incident:
    u1 = IncidentUpdate(
        "upd-1", INCIDENT_ID, IncidentStatus.INVESTIGATING, body, T0, _affected(BAD)
    )
    u2 = IncidentUpdate(
        "upd-2",
        INCIDENT_ID,
        IncidentStatus.INVESTIGATING,
        "We are deploying a mitigation for the Dashboard and Backend API",
        T0 + 28 * 60,
        # As Statuspage does: every affected component, changed or not.
        tuple(
            AffectedComponent(cid, NAMES[cid], BAD.get(cid, CS.OPERATIONAL), st)
            for cid, st in WORSE.items()
        ),
        automatic=False,
    )
    return Incident(
        id=INCIDENT_ID,
        name=INCIDENT_NAME,
        status=IncidentStatus.INVESTIGATING,
        impact=Impact.MAJOR,
        started_at=T0 - 90,
        created_at=T0,
        updated_at=T0 + 28 * 60,
        components=tuple(WORSE.items()),
        updates=(u1, u2),
    )


def resolved_incident() -> Incident:
    inc = open_incident()
    ok = {cid: CS.OPERATIONAL for cid in WORSE}
    back = tuple(AffectedComponent(cid, NAMES[cid], WORSE[cid], CS.OPERATIONAL) for cid in WORSE)
    mon = IncidentUpdate(
        "upd-3",
        INCIDENT_ID,
        IncidentStatus.MONITORING,
        "We have deployed a fix for this issue and our services appear to have returned to normal.",
        T0 + 49 * 60,
        back,
    )
    res = IncidentUpdate(
        "upd-4",
        INCIDENT_ID,
        IncidentStatus.RESOLVED,
        "This incident has been resolved.",
        T0 + 67 * 60,
    )
    return dataclasses.replace(
        inc,
        status=IncidentStatus.RESOLVED,
        monitoring_at=T0 + 49 * 60,
        resolved_at=T0 + 67 * 60,
        updated_at=T0 + 67 * 60,
        components=tuple(ok.items()),
        updates=(*inc.updates, mon, res),
    )


def old_incident() -> Incident:
    """Resolved 30 days ago: in the API's list but not under the page's past 14 days."""
    at = T0 - 30 * 86400
    return Incident(
        id="inc-old",
        name="Old billing blip",
        status=IncidentStatus.RESOLVED,
        impact=Impact.MINOR,
        started_at=at,
        created_at=at,
        updated_at=at + 600,
        resolved_at=at + 600,
        components=(("billing", CS.OPERATIONAL),),
        updates=(IncidentUpdate("old-1", "inc-old", IncidentStatus.RESOLVED, "Fixed.", at + 600),),
    )


def maintenances(at: float) -> tuple[MaintenanceWindow, ...]:
    return (
        MaintenanceWindow(
            "db-upgrade",
            "Database upgrade",
            ("billing", "dashboard"),
            at + 86400,
            at + 90000,
            "Planned upgrade of the billing database.",
        ),
        MaintenanceWindow("sms-vendor", "SMS vendor switch", ("sms-delivery",), at - 600, at + 600),
    )


PAGE = Page(name="Acme Status", url="https://status.example.com", time_zone="UTC")


def during_snapshot(version: int = 1, page: Page = PAGE) -> StatusSnapshot:
    at = T0 + 30 * 60
    return StatusSnapshot(
        generated_at=at,
        page=page,
        components=components(WORSE, at),
        checks=checks(at),
        incidents=(open_incident(), old_incident()),
        maintenances=maintenances(at),
        uptime=uptime(at, bad_day=True),
        version=version,
    )


def after_snapshot(version: int = 2) -> StatusSnapshot:
    at = T0 + 80 * 60
    return StatusSnapshot(
        generated_at=at,
        page=PAGE,
        components=components({}, at),
        checks=checks(at),
        incidents=(resolved_incident(), old_incident()),
        maintenances=(),
        uptime=uptime(at, bad_day=True),
        version=version,
    )


XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def hostile_snapshot(version: int = 1) -> StatusSnapshot:
    snap = during_snapshot(version, Page(name=f"Acme {XSS}", url=None))
    inc = open_incident(body=f"body {XSS}")
    inc = dataclasses.replace(inc, name=f"title {XSS}")
    return dataclasses.replace(
        snap,
        components=components(WORSE, snap.generated_at, names={"dashboard": f"Dash {XSS}"}),
        incidents=(inc,),
    )


class FakeBackend:
    """Implements prober.api.backend.ApiBackend over a settable snapshot."""

    def __init__(self, snap: StatusSnapshot | None = None, token: str | None = TOKEN) -> None:
        self.snap = snap or during_snapshot()
        self.token = token
        self.readiness: tuple[bool, str] = (True, "ready")
        self.reload_result: tuple[bool, list[str]] = (True, [])
        self.reloads = 0
        self.writes: list[tuple[str, IncidentStatus | None, str, Impact | None]] = []
        self.now = self.snap.generated_at

    def set_snapshot(self, snap: StatusSnapshot) -> None:
        self.snap = dataclasses.replace(snap, version=self.snap.version + 1)

    def snapshot(self) -> StatusSnapshot:
        return self.snap

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        if openmetrics:
            return (
                b"# TYPE prober_up gauge\nprober_up 1\n# EOF\n",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        return b"# TYPE prober_up gauge\nprober_up 1\n", "text/plain; version=0.0.4; charset=utf-8"

    def ready(self) -> tuple[bool, str]:
        return self.readiness

    async def reload(self) -> tuple[bool, list[str]]:
        self.reloads += 1
        return self.reload_result

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        self.writes.append((incident_id, status, body, impact))
        found = [i for i in self.snap.incidents if i.id == incident_id]
        if not found:
            raise KeyError(incident_id)
        inc = found[0]
        if not inc.is_open:
            raise ValueError("incident is resolved; it takes no more updates")
        self.now += 60
        new_status = status or inc.status
        update = IncidentUpdate(
            f"upd-{len(inc.updates) + 1}", inc.id, new_status, body, self.now, automatic=False
        )
        changed = dataclasses.replace(
            inc,
            status=new_status,
            impact=impact or inc.impact,
            impact_override=impact is not None or inc.impact_override,
            updated_at=self.now,
            resolved_at=self.now if new_status is IncidentStatus.RESOLVED else inc.resolved_at,
            updates=(*inc.updates, update),
        )
        incidents = tuple(changed if i.id == incident_id else i for i in self.snap.incidents)
        self.set_snapshot(dataclasses.replace(self.snap, incidents=incidents))
        return changed

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        return [i for i in self.snap.incidents if since <= i.started_at < until]

    def write_token(self) -> str | None:
        return self.token

    def locations(self) -> list[dict[str, object]]:
        return []


# -- the scenarios the browser tests show a person -------------------------------------


def healthy_snapshot(version: int = 1) -> StatusSnapshot:
    """Every component operational, 60 days of probes all good: 100% uptime."""
    at = T0 + 80 * 60
    days = {}
    for cid, day_list in uptime(at, bad_day=False).items():
        days[cid] = tuple(
            dataclasses.replace(d, failures=0, seconds={"operational": 86400.0}) for d in day_list
        )
    return StatusSnapshot(
        generated_at=at,
        page=PAGE,
        components=components({}, at),
        checks=checks(at),
        incidents=(),
        maintenances=(),
        uptime=days,
        version=version,
    )


def monitoring_snapshot(version: int = 1) -> StatusSnapshot:
    snap = after_snapshot(version)
    inc = snap.incidents[0]
    monitoring = dataclasses.replace(
        inc,
        status=IncidentStatus.MONITORING,
        resolved_at=None,
        updates=inc.updates[:-1],
        updated_at=inc.updates[-2].created_at,
    )
    return dataclasses.replace(snap, generated_at=T0 + 55 * 60, incidents=(monitoring,))


POSTMORTEM = """## What happened

A configuration push removed the **connection pool limit** of the Platform API; under
load it opened more connections than the database accepts, and requests failed with 500s.

## What we are changing

- Configuration pushes go to one region first, for 30 minutes.
- An alert on database connection saturation now pages the on-call engineer.

<script>alert("this stays text")</script>
"""


def postmortem_snapshot(version: int = 1) -> StatusSnapshot:
    snap = after_snapshot(version)
    inc = snap.incidents[0]
    pm = IncidentUpdate(
        "upd-5", INCIDENT_ID, IncidentStatus.POSTMORTEM, POSTMORTEM, T0 + 3 * 3600, automatic=False
    )
    done = dataclasses.replace(
        inc, status=IncidentStatus.POSTMORTEM, updated_at=pm.created_at, updates=(*inc.updates, pm)
    )
    return dataclasses.replace(
        snap, generated_at=T0 + 3 * 3600 + 60, incidents=(done, *snap.incidents[1:])
    )


HUMAN_ID = "inc-human-1"
HUMAN_NAME = "Card payments delayed for some EU customers"


def human_snapshot(version: int = 1) -> StatusSnapshot:
    """An incident a person opened (probes see nothing wrong), with a later human update."""
    at = T0 + 2 * 3600
    declared = {"billing": CS.PARTIAL_OUTAGE}
    first = IncidentUpdate(
        "h-1",
        HUMAN_ID,
        IncidentStatus.INVESTIGATING,
        "Our payment provider reports delays for cards issued in the EU; we are in contact.",
        at - 1200,
        _affected(declared),
        automatic=False,
    )
    second = IncidentUpdate(
        "h-2",
        HUMAN_ID,
        IncidentStatus.IDENTIFIED,
        "The provider has found the cause and is rolling out a fix.",
        at - 300,
        (
            AffectedComponent(
                "billing", NAMES["billing"], CS.PARTIAL_OUTAGE, CS.DEGRADED_PERFORMANCE
            ),
        ),
        automatic=False,
    )
    inc = Incident(
        id=HUMAN_ID,
        name=HUMAN_NAME,
        status=IncidentStatus.IDENTIFIED,
        impact=Impact.MINOR,
        started_at=at - 1200,
        created_at=at - 1200,
        updated_at=at - 300,
        components=(("billing", CS.DEGRADED_PERFORMANCE),),
        updates=(first, second),
        impact_override=True,
    )
    snap = healthy_snapshot(version)
    return dataclasses.replace(
        snap,
        generated_at=at,
        incidents=(inc,),
        components=components({"billing": CS.DEGRADED_PERFORMANCE}, at),
    )


def maintenance_snapshot(version: int = 1) -> StatusSnapshot:
    """One maintenance in progress, one scheduled for tomorrow."""
    snap = healthy_snapshot(version)
    at = snap.generated_at
    return dataclasses.replace(
        snap,
        maintenances=maintenances(at),
        components=components({"sms-delivery": CS.UNDER_MAINTENANCE}, at),
    )
