"""A saved domain state that cannot be read (bad JSON, a newer version after a downgrade, a
missing key) must not crash-loop prober: that would take probing and the page down with it.

`rescued_state` builds the state a fresh engine would have, plus the incidents the store
still holds open, each with its components at the status its last update listed (so
nothing is announced "operational again" before probes say so). Hysteresis windows start
empty; the first rounds fill them. The service logs this loudly (`domain_state_unreadable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prober.config.model import Config
from prober.domain.codec import incident_to_dict
from prober.domain.engine import STATE_VERSION
from prober.domain.incident import Incident
from prober.domain.state import SEVERITY
from prober.domain.status import ComponentStatus
from prober.domain.window import Window


def rescued_state(config: Config, open_incidents: Sequence[Incident], seq: int) -> dict[str, Any]:
    known = {c.id: c for c in config.components}
    records: list[dict[str, Any]] = []
    components: dict[str, dict[str, Any]] = {}
    for inc in open_incidents:
        members = [(c, s) for c, s in inc.components if c in known]
        worst = max((s for _, s in members), key=SEVERITY.__getitem__,
                    default=ComponentStatus.OPERATIONAL)
        records.append({
            "incident": incident_to_dict(inc),
            "key": inc.group,
            "members": [[c, s.value] for c, s in members],
            "announced": [[c, s.value] for c, s in members],
            "worst": worst.value,
            "last_update_at": inc.updated_at,
            "ok_since": None,
        })
        for cid, status in members:
            components[cid] = {
                "health": {
                    "status": status.value,
                    "changed_at": inc.updated_at,
                    "calm_since": None,
                    "streaks": {},
                    "episode_start": inc.started_at,
                    "window": Window(known[cid].policy.window).to_state(),
                },
                "shown": status.value,
                "created_at": inc.created_at,
                "updated_at": inc.updated_at,
            }
    return {
        "version": STATE_VERSION,
        "components": components,
        "incidents": {"seq": seq, "records": records, "suppressed": [], "closed": []},
        "network": {},
    }
