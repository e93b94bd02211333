"""The server-rendered status page: view models from a snapshot, rendered with Jinja2.

Autoescape is on for every template: incident text and component names from targets or
API writers are always data, never markup. "Now" is the snapshot's time, so a page is a
pure function of its snapshot and is rendered once per snapshot version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from prober.api.extension import overall_uptime, padded_days
from prober.api.statuspage import indicator, iso, maintenance_status, worst_status
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.snapshot import ComponentView, DayUptime, MaintenanceWindow, StatusSnapshot
from prober.domain.status import INDICATOR_DESCRIPTION, ComponentStatus

TEMPLATES = Path(__file__).parent / "templates"
PAST_DAYS = 14
FEED_PATH = "/history.atom"


class TimeFormat:
    """Formats epoch seconds for people, in the page's time zone, to the second and with the
    zone's UTC offset; `iso` is the same moment for `<time datetime>` (machine readable, so
    a reader's tools can show it in their own zone)."""

    def __init__(self, zone: str) -> None:
        try:
            self.tz: ZoneInfo | None = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = None

    def when(self, ts: float | None) -> str:
        if ts is None:
            return ""
        moment = datetime.fromtimestamp(ts, tz=self.tz or UTC)
        text = moment.strftime("%b %d, %Y, %I:%M:%S %p ")
        name = moment.tzname() or "UTC"
        if name == "UTC":
            return text + "UTC"
        offset = moment.strftime("%z")
        return f"{text}{name} (UTC{offset[:3]}:{offset[3:]})"

    def iso(self, ts: float | None) -> str:
        if ts is None:
            return ""
        if self.tz is None:
            return iso(ts) or ""
        return datetime.fromtimestamp(ts, tz=self.tz).isoformat(timespec="seconds")


# Post-mortems are Markdown written by people: CommonMark with raw HTML off (it is shown
# escaped), no images (the page loads nothing from elsewhere); markdown-it refuses
# javascript:, vbscript:, file: and data: links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")


def markdown(text: str) -> Markup:
    return Markup(_MARKDOWN.render(text))  # noqa: S704 - html is off: the output is safe


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "ongoing"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p)


# Bar colour from the day's weighted downtime (Statuspage: major outage minutes plus 0.3 x
# partial outage minutes; degraded performance is not downtime): green, then yellow up to
# YELLOW_MAX, orange up to ORANGE_MAX, red beyond.
YELLOW_MAX = 10 * 60.0
ORANGE_MAX = 60 * 60.0


@dataclass(frozen=True, slots=True)
class Bar:
    day: str
    level: str  # css class: ok, minor, major, critical, none
    label: str  # "2026-05-26: 99.52% of probes succeeded; 12 min partial outage"
    notable: bool  # failed probes or time in a bad status: listed in the day table


@dataclass(frozen=True, slots=True)
class Row:
    component: ComponentView
    bars: tuple[Bar, ...]
    uptime: str  # "99.98% uptime" over 90 days
    summary: str  # one sentence for screen readers: the 90 days at a glance

    @property
    def notable(self) -> list[Bar]:
        """Days with failed probes or time in a bad status, newest first."""
        return [b for b in reversed(self.bars) if b.notable]

    @property
    def clean_days(self) -> int:
        return sum(1 for b in self.bars if not b.notable and b.level != "none")

    @property
    def empty_days(self) -> int:
        return sum(1 for b in self.bars if b.level == "none")


@dataclass(frozen=True, slots=True)
class Group:
    name: str | None
    status: ComponentStatus
    rows: tuple[Row, ...]


def bar_level(d: DayUptime) -> str:
    if d.uptime is None and not d.seconds:
        return "none"
    down = d.downtime
    if down <= 0:
        return "ok"
    if down <= YELLOW_MAX:
        return "minor"
    return "major" if down <= ORANGE_MAX else "critical"


_BAD_TIME = (
    ("major_outage", "major outage"),
    ("partial_outage", "partial outage"),
    ("degraded_performance", "degraded performance"),
)


def _bar(d: DayUptime) -> Bar:
    up = d.uptime
    seconds = d.seconds
    if d.failures == 0 and not any(seconds.get(k, 0.0) >= 1 for k, _ in _BAD_TIME):
        # the common day (all probes fine, no bad status, or no data): no formatting work
        if up is None:
            return Bar(d.day, "none" if not seconds else "ok", f"{d.day}: no data", False)
        return Bar(d.day, "ok", f"{d.day}: 100.00% of probes succeeded", False)
    parts = ["no data" if up is None else f"{_percent(up)} of probes succeeded"]
    for key, words in _BAD_TIME:
        spent = seconds.get(key, 0.0)
        if spent >= 1:
            parts.append(f"{duration_text(spent)} {words}")
    return Bar(d.day, bar_level(d), f"{d.day}: " + "; ".join(parts), True)


def _percent(share: float) -> str:
    text = f"{share * 100:.2f}%"
    return "99.99%" if text == "100.00%" and share < 1 else text


def _summary(name: str, days: list[DayUptime], total: float | None) -> str:
    if total is None:
        return f"{name}: no probe data in the last 90 days."
    probed = sum(1 for d in days if d.probes)
    bad = [d for d in days if (d.uptime is not None and d.uptime < 1) or d.downtime > 0]
    text = (
        f"{name}: {_percent(total)} uptime over {probed} day{'s' if probed != 1 else ''} "
        f"with probes"
    )
    if not bad:
        return text + ", no failed probes."
    worst = min(bad, key=lambda d: (d.uptime if d.uptime is not None else 1.0, -d.downtime))
    worst_up = "no data" if worst.uptime is None else _percent(worst.uptime)
    return (
        f"{text}; {len(bad)} day{'s' if len(bad) != 1 else ''} with failures, "
        f"the worst {worst.day} ({worst_up})."
    )


def groups(snap: StatusSnapshot) -> list[Group]:
    rows: dict[str | None, list[Row]] = {}
    for comp in sorted(snap.components, key=lambda c: c.position):
        days = padded_days(snap, comp.id)
        total = overall_uptime(days)
        uptime = "no data" if total is None else f"{_percent(total)} uptime"
        rows.setdefault(comp.group, []).append(
            Row(comp, tuple(_bar(d) for d in days), uptime, _summary(comp.name, days, total))
        )
    return [
        Group(name, worst_status([r.component.status for r in members]), tuple(members))
        for name, members in rows.items()
    ]


def past_incidents(snap: StatusSnapshot) -> list[Incident]:
    since = snap.generated_at - PAST_DAYS * 86400
    past = [i for i in snap.incidents if not i.is_open and (i.resolved_at or i.updated_at) >= since]
    return sorted(past, key=lambda i: i.started_at, reverse=True)


def timeline(incident: Incident) -> list[IncidentUpdate]:
    return list(reversed(incident.updates))


def affected(update: IncidentUpdate) -> list[AffectedComponent]:
    """An update's affected components for people: real changes first, then the others."""
    return sorted(update.affected_components, key=lambda a: a.old_status is a.new_status)


def changes(update: IncidentUpdate) -> list[AffectedComponent]:
    return [a for a in update.affected_components if a.old_status is not a.new_status]


def change_sentence(update: IncidentUpdate) -> str:
    """What changed in one sentence, for a human update whose body may not say it
    ("Dashboard: Operational → Partial outage."); "" when no component changed."""
    moved = changes(update)
    if not moved:
        return ""
    if len(moved) > 3:
        return f"{len(moved)} components changed status."
    return "; ".join(f"{a.name}: {a.old_status.label} → {a.new_status.label}" for a in moved) + "."


def banner(snap: StatusSnapshot) -> str:
    """The page's banner: the components' present states (statuspage.indicator), the same
    as /api/v2/status.json; an incident in monitoring above all-green components says so
    in its own card, not in a red banner."""
    return indicator(snap).value


def last_change(snap: StatusSnapshot) -> float | None:
    """When anything the page shows last changed (the page's ETag moves with it)."""
    times = [c.updated_at for c in snap.components]
    times += [i.updated_at for i in snap.incidents]
    return max(times, default=None)


def month_key(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m")


def month_bounds(key: str) -> tuple[float, float] | None:
    """[start, end) of a "YYYY-MM" UTC month, or None when `key` is no such month."""
    try:
        start = datetime.strptime(key, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        return None
    if len(key) != 7 or not 2000 <= start.year <= 2999:
        return None
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start.timestamp(), end.timestamp()


def month_title(key: str) -> str:
    return datetime.strptime(key, "%Y-%m").strftime("%B %Y")


def neighbour_months(key: str) -> tuple[str, str]:
    year, month = int(key[:4]), int(key[5:])
    prev = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    nxt = f"{year + (month == 12):04d}-{month % 12 + 1:02d}"
    return prev, nxt


def maintenance_rows(snap: StatusSnapshot) -> list[tuple[MaintenanceWindow, str, list[str]]]:
    out = []
    for window in sorted(snap.maintenances, key=lambda w: w.starts_at):
        status = maintenance_status(window, snap.generated_at)
        if status == "completed":
            continue
        names = [c.name if (c := snap.component(cid)) else cid for cid in window.components]
        out.append((window, status, names))
    return out


def component_names(snap: StatusSnapshot, incident: Incident) -> list[str]:
    names = []
    for cid, _ in incident.components:
        comp = snap.component(cid)
        names.append(comp.name if comp else cid)
    return names


class PageRenderer:
    """Holds the Jinja2 environment (autoescape on) and renders the pages."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["label"] = lambda s: s.replace("_", " ").capitalize()
        self.env.globals["duration_text"] = duration_text
        self.env.globals["markdown"] = markdown

    def _common(self, snap: StatusSnapshot) -> dict[str, Any]:
        impact = banner(snap)
        return {
            "snap": snap,
            "page": snap.page,
            "clock": TimeFormat(snap.page.time_zone),
            "indicator": impact,
            "description": INDICATOR_DESCRIPTION[impact],
            "refresh": round(snap.page.refresh),
            "auto": False,
            "last_change": last_change(snap),
            "change_sentence": change_sentence,
            "changes": changes,
            "feed_path": FEED_PATH,
            "component_names": lambda inc: component_names(snap, inc),
            "timeline": timeline,
            "affected": affected,
        }

    def index(self, snap: StatusSnapshot, auto: bool = False) -> str:
        """The home page; `auto`: the variant that reloads itself (a reader's choice)."""
        template = self.env.get_template("index.html")
        common = self._common(snap)
        common["auto"] = auto and common["refresh"] > 0
        return template.render(
            **common,
            groups=groups(snap),
            open_incidents=list(snap.open_incidents),
            past_incidents=past_incidents(snap),
            past_days=PAST_DAYS,
            maintenances=maintenance_rows(snap),
        )

    def incident(self, snap: StatusSnapshot, incident: Incident) -> str:
        template = self.env.get_template("incident.html")
        return template.render(**self._common(snap), incident=incident)

    def history(self, snap: StatusSnapshot, key: str, incidents: list[Incident]) -> str:
        """The incidents that started in month `key` ("YYYY-MM"), newest first."""
        template = self.env.get_template("history.html")
        prev, nxt = neighbour_months(key)
        return template.render(
            **self._common(snap),
            month=month_title(key),
            incidents=sorted(incidents, key=lambda i: i.started_at, reverse=True),
            prev=prev,
            next=nxt if nxt <= month_key(snap.generated_at) else None,
            prev_title=month_title(prev),
            next_title=month_title(nxt),
        )
