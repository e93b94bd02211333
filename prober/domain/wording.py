"""The words prober writes into incidents: titles and automatic update bodies.

Title: `IncidentPolicy.title_template` formatted with
  {reason}     the dominant failure reason as a phrase: "500 rates", "timeouts",
               "connection errors", "latency" (slow but not failing), else "error rates";
  {components} "Platform API", "Platform API and Billing", "Platform API and 3 more";
  {count}      the number of affected components; {group} the group (per_group), or "".
The default template gives "Elevated 500 rates on Platform API and 3 more". A template with
an unknown placeholder falls back to the default rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prober.domain.incident import AffectedComponent
from prober.domain.status import ComponentStatus

DEFAULT_TEMPLATE = "Elevated {reason} on {components}"
# Real-traffic 5xx from Prometheus: "Elevated 500 rates on real traffic to Platform API".
TRAFFIC_PHRASE = "500 rates on real traffic"

_PHRASES: dict[str, str] = {
    "http_5xx": "500 rates",
    "traffic_5xx": TRAFFIC_PHRASE,
    "timeout": "timeouts",
    "connect": "connection errors",
    "dns": "connection errors",
    "tls": "connection errors",
    "protocol": "connection errors",
}


def reason_phrase(reasons: Mapping[str, int]) -> str:
    """The phrase for failure reason counts: the dominant one if it is most failures."""
    total = sum(reasons.values())
    if total <= 0:
        return "latency"
    phrases: dict[str, int] = {}
    for reason, count in reasons.items():
        phrase = _PHRASES.get(reason, "error rates")
        phrases[phrase] = phrases.get(phrase, 0) + count
    phrase, count = max(phrases.items(), key=lambda kv: (kv[1], kv[0]))
    return phrase if count * 2 > total else "error rates"


def components_phrase(names: Sequence[str]) -> str:
    if not names:
        return "no components"
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} and {len(names) - 1} more"


def title(
    template: str, names: Sequence[str], reasons: Mapping[str, int], group: str | None = None
) -> str:
    values = {
        "reason": reason_phrase(reasons),
        "components": components_phrase(names),
        "count": len(names),
        "group": group or "",
    }
    if template == DEFAULT_TEMPLATE and values["reason"] == TRAFFIC_PHRASE:
        template = "Elevated {reason} to {components}"
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):
        return DEFAULT_TEMPLATE.format_map(values)


def _count(n: int) -> str:
    return f"{n} component" if n == 1 else f"{n} components"


def _state_phrase(status: ComponentStatus, plural: bool) -> str:
    verb = "are" if plural else "is"
    if status is ComponentStatus.OPERATIONAL:
        return f"{verb} operational again"
    if status is ComponentStatus.DEGRADED_PERFORMANCE:
        return f"{verb} now degraded"
    if status is ComponentStatus.UNDER_MAINTENANCE:
        return f"{verb} now under maintenance"
    return f"{verb} now in {status.label.lower()}"


def _affected_count(affected: Sequence[AffectedComponent]) -> str:
    bad = sum(1 for a in affected if a.new_status is not ComponentStatus.OPERATIONAL)
    return f"{_count(bad)} affected"


# Automatic update bodies are one short sentence: the affected-components list shown under
# each update carries the detail (which component, from which status to which).


def opened_body(affected: Sequence[AffectedComponent], reasons: Mapping[str, int]) -> str:
    """E.g. We are investigating elevated 500 rates on 3 components (one is named)."""
    where = affected[0].name if len(affected) == 1 else _count(len(affected))
    phrase = reason_phrase(reasons)
    on = "to" if phrase == TRAFFIC_PHRASE else "on"
    return f"We are investigating elevated {phrase} {on} {where}."


def changed_body(affected: Sequence[AffectedComponent], relapse: bool) -> str:
    """E.g. Dashboard is now in partial outage; 12 components affected (worst first)."""
    by_status: dict[ComponentStatus, list[str]] = {}
    for a in affected:
        if a.old_status is not a.new_status:
            by_status.setdefault(a.new_status, []).append(a.name)
    parts = [
        f"{components_phrase(names)} {_state_phrase(status, len(names) > 1)}"
        for status, names in sorted(by_status.items(), key=lambda kv: -kv[0].level)
    ]
    lead = "The problem has returned. " if relapse else ""
    if not parts:
        still = "The problem has returned" if relapse else "We are still investigating"
        return f"{still}; {_affected_count(affected)}."
    sentence = "; ".join(parts)
    return f"{lead}{sentence[0].upper()}{sentence[1:]}; {_affected_count(affected)}."


def monitoring_body() -> str:
    return "All affected components are operational again; we are monitoring."


def resolved_body(quiet_period: float) -> str:
    """E.g. Resolved: no failures for 10 minutes."""
    if quiet_period >= 60:
        minutes = quiet_period / 60.0
        span = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    else:
        span = f"{quiet_period:g} second" + ("" if quiet_period == 1 else "s")
    return f"Resolved: no failures for {span}."


def impact_body(impact: str) -> str:
    return f"Impact set to {impact}."
