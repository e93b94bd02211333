"""What people ask of prober through the write API, as values, and `execute`: one pure
function from (engine, command, now) to (effects, result). The shell runs it under its
lock and applies the effects as it applies the engine's own (store first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prober.domain import human
from prober.domain.desk import Window
from prober.domain.effects import Effect, IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.incident import Incident
from prober.domain.status import ComponentStatus, Impact, IncidentStatus

if TYPE_CHECKING:
    from prober.domain.engine import Engine


@dataclass(frozen=True, slots=True)
class OpenIncident:
    name: str | None = None
    body: str | None = None
    components: human.Declared | None = None
    status: IncidentStatus | None = None
    impact: Impact | None = None
    template: str | None = None  # an id of checks.yaml's incident_templates


@dataclass(frozen=True, slots=True)
class EditIncident:
    incident_id: str
    name: str | None = None
    impact: Impact | None = None
    components: human.Declared | None = None
    status: IncidentStatus | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class PostMortem:
    incident_id: str
    body: str


@dataclass(frozen=True, slots=True)
class ScheduleMaintenance:
    name: str
    components: tuple[str, ...]
    starts_at: float
    ends_at: float
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeMaintenance:
    maintenance_id: str
    name: str | None = None
    components: tuple[str, ...] | None = None
    starts_at: float | None = None
    ends_at: float | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EndMaintenance:
    maintenance_id: str
    cancel: bool  # True: cancel; False: complete


class UnknownName(KeyError):
    """A component or template named in a command does not exist (a client error, not a
    missing incident or maintenance)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


Command = (
    OpenIncident
    | EditIncident
    | PostMortem
    | ScheduleMaintenance
    | ChangeMaintenance
    | EndMaintenance
)
Result = Incident | Window


def incident_of(effects: list[Effect]) -> Incident:
    for effect in reversed(effects):
        if isinstance(effect, IncidentOpened | IncidentUpdated | IncidentResolved):
            return effect.incident
    raise LookupError("no incident effect")


def _open(engine: Engine, cmd: OpenIncident, now: float) -> list[Effect]:
    tpl = None
    if cmd.template is not None:
        found = [t for t in engine.config.incident_templates if t.id == cmd.template]
        if not found:
            known = ", ".join(t.id for t in engine.config.incident_templates) or "none"
            raise UnknownName(f"unknown template {cmd.template!r} (known: {known})")
        tpl = found[0]
    name = cmd.name or (tpl.name if tpl else None)
    body = cmd.body or (tpl.body if tpl else None)
    if not name or not body:
        raise ValueError("name and body are required (or a template that gives them)")
    components = cmd.components
    if components is None:
        components = tuple((c, ComponentStatus(s)) for c, s in tpl.components) if tpl else ()
    status = cmd.status or (IncidentStatus(tpl.status) if tpl else IncidentStatus.INVESTIGATING)
    impact = cmd.impact or (Impact(tpl.impact) if tpl and tpl.impact else None)
    return human.open_incident(
        engine.book, now, name=name, body=body, components=components, status=status, impact=impact
    )


def _check_components(engine: Engine, components: tuple[str, ...] | None) -> None:
    if components is None:
        return
    known = {k.id for k in engine.config.components}
    unknown = [c for c in components if c not in known]
    if unknown:
        raise UnknownName(f"unknown component(s): {', '.join(unknown)}")


def execute(
    engine: Engine, cmd: Command, now: float, stored: Incident | None = None
) -> tuple[list[Effect], Result]:
    """Run `cmd`. KeyError: something named does not exist; ValueError: refused.
    `stored` is the incident as stored, for a post-mortem (the book forgets resolved ones)."""
    if isinstance(cmd, OpenIncident | EditIncident) and cmd.components is not None:
        _check_components(engine, tuple(c for c, _ in cmd.components))
    if isinstance(cmd, OpenIncident):
        effects = _open(engine, cmd, now)
        return effects, incident_of(effects)
    if isinstance(cmd, EditIncident):
        effects = human.edit_incident(
            engine.book,
            cmd.incident_id,
            now,
            name=cmd.name,
            impact=cmd.impact,
            components=cmd.components,
            status=cmd.status,
            body=cmd.body,
        )
        return effects, incident_of(effects)
    if isinstance(cmd, PostMortem):
        if stored is None:
            raise KeyError(cmd.incident_id)
        effects = human.postmortem(stored, now, cmd.body)
        return effects, incident_of(effects)
    return _desk(engine, cmd, now)


def _desk(
    engine: Engine, cmd: ScheduleMaintenance | ChangeMaintenance | EndMaintenance, now: float
) -> tuple[list[Effect], Window]:
    """A maintenance command: the desk's window, then who is in maintenance, at once."""
    desk = engine.desk
    window: Window
    if isinstance(cmd, ScheduleMaintenance):
        _check_components(engine, cmd.components)
        window = desk.create(
            now,
            name=cmd.name,
            components=cmd.components,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            description=cmd.description,
        )
    elif isinstance(cmd, ChangeMaintenance):
        _check_components(engine, cmd.components)
        window = desk.change(
            cmd.maintenance_id,
            now,
            name=cmd.name,
            components=cmd.components,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            description=cmd.description,
        )
    elif cmd.cancel:
        window = desk.cancel(cmd.maintenance_id, now)
    else:
        window = desk.complete(cmd.maintenance_id, now)
    return engine.maintenances_changed(now), window
