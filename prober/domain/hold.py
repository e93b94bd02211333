"""How long a person's resolve holds: pure, for IncidentBook.step.

When a person resolves an incident whose components are still bad, those components open
no new incident while they stay as they were (the person judged that state acceptable).
The hold ends when the component is operational again (a later failure is a new episode)
or when it gets worse than it was at the resolve: it failed again, and that is news.
An automatic resolve leaves nothing bad, so it holds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from prober.domain.state import SEVERITY
from prober.domain.status import ComponentStatus

OP = ComponentStatus.OPERATIONAL


def still_held(
    suppressed: Set[str],
    held: Mapping[str, ComponentStatus],
    statuses: Mapping[str, ComponentStatus],
) -> tuple[set[str], dict[str, ComponentStatus]]:
    """(components still suppressed, their statuses at the resolve) given present statuses."""
    keep: set[str] = set()
    for comp in suppressed:
        now = statuses.get(comp, OP)
        if SEVERITY[now] <= 0:
            continue  # fine again: the next failure is a new incident
        at_resolve = held.get(comp)
        if at_resolve is not None and SEVERITY[now] > SEVERITY[at_resolve]:
            continue  # worse than when it was resolved: it failed again
        keep.add(comp)
    return keep, {c: s for c, s in held.items() if c in keep}
