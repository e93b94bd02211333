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

_PHRASES: dict[str, str] = {
    "http_5xx": "500 rates",
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
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):
        return DEFAULT_TEMPLATE.format_map(values)


def _listing(affected: Sequence[AffectedComponent]) -> str:
    return ", ".join(f"{a.name} ({a.new_status.label})" for a in affected)


def opened_body(affected: Sequence[AffectedComponent], reasons: Mapping[str, int]) -> str:
    return (
        f"We are investigating elevated {reason_phrase(reasons)} affecting "
        f"{_listing(affected)}."
    )


def changed_body(affected: Sequence[AffectedComponent], relapse: bool) -> str:
    changes = [
        f"{a.name} ({a.old_status.label} -> {a.new_status.label})"
        for a in affected
        if a.old_status is not a.new_status
    ]
    lead = "The problem has returned" if relapse else "We are still investigating"
    if not changes:
        return f"{lead}. Affected components: {_listing(affected)}."
    return f"{lead}. Changes: {', '.join(changes)}."


def monitoring_body() -> str:
    return "All affected components are operational again. We are monitoring the situation."


def resolved_body(quiet_period: float) -> str:
    minutes = quiet_period / 60.0
    span = f"{minutes:g} minutes" if quiet_period >= 60 else f"{quiet_period:g} seconds"
    return f"No relapse for {span}: this incident is resolved."


def impact_body(impact: str) -> str:
    return f"Impact set to {impact}."


def status_label(status: ComponentStatus) -> str:
    return status.label
