"""After the store: what each effect means for metrics and logs."""

from __future__ import annotations

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


def announce(effect: Effect, exporter: Metrics) -> None:
    if isinstance(effect, ComponentStateChanged):
        log.warning(
            "component_status_changed",
            component=effect.component,
            old=effect.old.value,
            new=effect.new.value,
            failure_ratio=round(effect.failure_ratio, 4),
        )
    elif isinstance(effect, IncidentOpened):
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
    elif isinstance(effect, IncidentResolved):
        inc = effect.incident
        if inc.duration is not None:
            exporter.incident_resolved(inc.duration)
        log.info("incident_resolved", incident=inc.id, duration=inc.duration)
    elif isinstance(effect, IncidentUpdated):
        log.info(
            "incident_updated",
            incident=effect.incident.id,
            status=effect.update.status.value,
            impact=effect.incident.impact.value,
            affected=len(effect.update.affected_components),
        )
    elif isinstance(effect, NetworkHealthChanged):
        exporter.network_healthy(effect.healthy)
        if effect.healthy:
            log.info("network_recovered")
        else:
            log.error("network_lost", detail="every check failed at once")
