"""A follower's page (issue 14): rebuilt from the state the leader saved, about every
second, so every replica answers (and keeps answering when the leader dies).

Reads: `load_state` (engine, component rows and open incidents, one consistent read) and
the recent incidents; the agents' locations come from the leader's saved engine row. The
engine rebuilt from them is only read (statuses, open incidents for the snapshot): a
follower's pipeline writes nothing (`Live.follower`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prober.domain.codec import join_state
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.errors import StoreError
from prober.logs import get_logger
from prober.signals.traffic import engine_config
from prober.snapshots import RECENT_INCIDENTS

if TYPE_CHECKING:
    from prober.service.core import Service

log = get_logger("prober.service")
UPTIME_REFRESH = 60.0  # a follower re-reads the uptime history this often


async def follow(s: Service) -> None:
    """Components, open and recent incidents, locations; uptime every minute. A failed
    read keeps the last page (readiness says why until a read succeeds again)."""
    store = s.keeper.store
    try:
        saved = await store.load_state()
        recent: list[Incident] = await store.incidents(limit=RECENT_INCIDENTS)
    except StoreError as exc:
        s.keeper.failed("read", exc)
        s.pipeline.publish()
        return
    s.keeper.recovered()
    if s.live.time.now() - s.upkeep.uptime_at >= UPTIME_REFRESH:
        await s.upkeep.refresh_uptime()
    if saved is not None:
        try:
            state = join_state(saved.engine, saved.components, saved.open_incidents)
            s.live.engine = Engine(engine_config(s.config), state)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            log.warning("follower_state_unreadable", error=f"{type(exc).__name__}: {exc}")
        feed = saved.engine.get("feed")
        if isinstance(feed, dict) and isinstance(feed.get("locations"), list):
            s.live.locations = list(feed["locations"])
    s.pipeline.merge_incidents([*recent, *s.live.engine.open_incidents()])
    s.pipeline.rebuild(s.live.time.now())
