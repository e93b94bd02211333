"""Start-up and reload without a crash loop: an unreadable saved state, a config that
cannot be loaded.

A saved engine state that cannot be read (an engine or component row that is not a JSON
object, a newer version after a downgrade, a missing key, a record naming an incident the
store does not hold) must not crash-loop prober: that would take probing and the page down
with it.

`rescued_state` builds the state a fresh engine would have, plus the incidents the store
still holds open (read from the incident rows, which stay readable when the state rows do
not), each with its components at the status its last update listed (so
nothing is announced "operational again" before probes say so). Hysteresis windows start
empty; the first rounds fill them. The service logs this loudly (`domain_state_unreadable`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prober.config.loader import load_config
from prober.config.model import Config
from prober.config.secrets import Redactor
from prober.domain.codec import incident_to_dict
from prober.domain.engine import STATE_VERSION, Engine
from prober.domain.human import HUMAN_KEY
from prober.domain.incident import Incident
from prober.domain.state import SEVERITY
from prober.domain.status import ComponentStatus
from prober.domain.window import Window
from prober.errors import ConfigError
from prober.keeper import StoreKeeper
from prober.logs import REDACTOR, get_logger

log = get_logger("prober.service")


async def engine_from(
    config: Config, state: Mapping[str, Any] | None, keeper: StoreKeeper
) -> Engine:
    """The engine where it stopped; when the saved state cannot be read, a fresh one
    holding the incidents the store has open, and a loud log."""
    problem = keeper.unreadable_state
    if not problem:
        try:
            return Engine(config, state)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
    none: list[Incident] = []
    stored = await keeper.call("read", lambda: keeper.store.incidents(limit=10_000), none)
    still_open = [i for i in stored if i.is_open]
    log.critical(
        "domain_state_unreadable",
        error=problem,
        kept_open_incidents=[i.id for i in still_open],
        action="started from a fresh state with the open incidents kept; the "
        "saved state rows are all replaced at the next save",
    )
    return Engine(config, rescued_state(config, still_open, len(stored)))


async def read_config(
    path: str, transform: Callable[[Config], Config] | None
) -> tuple[Config | None, list[str]]:
    """(config, []) or (None, errors) for a reload. Errors never echo a ${VAR} the refused
    file expanded; any failure (a bug included) is a clear failed reload, never a 500
    with a stale "reload successful" metric."""
    try:
        config = await asyncio.to_thread(load_config, path)
        if transform is not None:
            config = transform(config)
    except ConfigError as exc:
        redact = Redactor(exc.secrets | REDACTOR.secrets)
        return None, [redact(str(i)) for i in exc.issues]
    except Exception as exc:
        log.exception("config_reload_crashed")
        return None, [
            f"{path}: the configuration could not be loaded "
            f"({type(exc).__name__}); the running one is kept"
        ]
    return config, []


def rescued_state(config: Config, open_incidents: Sequence[Incident], seq: int) -> dict[str, Any]:
    known = {c.id: c for c in config.components}
    records: list[dict[str, Any]] = []
    components: dict[str, dict[str, Any]] = {}
    for inc in open_incidents:
        members = [(c, s) for c, s in inc.components if c in known]
        worst = max(
            (s for _, s in members), key=SEVERITY.__getitem__, default=ComponentStatus.OPERATIONAL
        )
        # A person's incident (its first update not automatic) stays a person's: the engine
        # never moves it, and the statuses declared in it are no probe evidence.
        human = bool(inc.updates) and not inc.updates[0].automatic
        records.append(
            {
                "incident": incident_to_dict(inc),
                "key": HUMAN_KEY if human else inc.group,
                "members": [[c, s.value] for c, s in members],
                "announced": [[c, s.value] for c, s in members],
                "worst": worst.value,
                "last_update_at": inc.updated_at,
                "ok_since": None,
                "human": human,
                "renamed": human,
            }
        )
        if human:
            continue
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
