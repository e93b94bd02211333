"""After the store: what each effect means for metrics and logs (one function per kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    NetworkHealthChanged,
)
from prober.logs import get_logger
from prober.metrics import Metrics

log = get_logger("prober.events")


def _state_changed(effect: ComponentStateChanged, exporter: Metrics) -> None:
    log.warning(
        "component_status_changed",
        component=effect.component,
        old=effect.old.value,
        new=effect.new.value,
        failure_ratio=round(effect.failure_ratio, 4),
    )


def _opened(effect: IncidentOpened, exporter: Metrics) -> None:
    inc = effect.incident
    exporter.incident_opened(inc.impact.value, inc.created_at - inc.started_at)
    log.warning(
        "incident_opened",
        incident=inc.id,
        name=inc.name,
        impact=inc.impact.value,
        components=[c for c, _ in inc.components],
        started_at=inc.started_at,
        time_to_detect=round(inc.created_at - inc.started_at, 3),
    )


def _resolved(effect: IncidentResolved, exporter: Metrics) -> None:
    inc = effect.incident
    if inc.duration is not None:
        exporter.incident_resolved(inc.duration)
    log.info("incident_resolved", incident=inc.id, duration=inc.duration)


def _updated(effect: IncidentUpdated, exporter: Metrics) -> None:
    log.info(
        "incident_updated",
        incident=effect.incident.id,
        status=effect.update.status.value,
        impact=effect.incident.impact.value,
        affected=len(effect.update.affected_components),
    )


def _network(effect: NetworkHealthChanged, exporter: Metrics) -> None:
    exporter.network_healthy(effect.healthy)
    if effect.healthy:
        log.info("network_recovered")
    else:
        log.error("network_lost", detail="every check failed at once")


_BY_KIND: dict[type[Any], Callable[[Any, Metrics], None]] = {
    ComponentStateChanged: _state_changed,
    IncidentOpened: _opened,
    IncidentResolved: _resolved,
    IncidentUpdated: _updated,
    NetworkHealthChanged: _network,
}


def announce(effect: Effect, exporter: Metrics) -> None:
    """Metrics and logs for one saved effect; kinds with neither are passed over."""
    for kind in type(effect).__mro__:
        handler = _BY_KIND.get(kind)
        if handler is not None:
            handler(effect, exporter)
            return
