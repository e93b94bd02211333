"""A follower's page (issue 14): rebuilt from the state the leader saved, about every
second, so every replica answers (and keeps answering when the leader dies).

Reads: `load_state` (engine, component rows and open incidents, one consistent read) and
the recent incidents; the agents' locations come from the leader's saved engine row. The
engine rebuilt from them is only read (statuses, open incidents for the snapshot): a
follower's pipeline writes nothing (`Live.follower`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from prober.config import Config
from prober.domain.codec import join_state
from prober.domain.engine import Engine
from prober.domain.incident import Incident
from prober.errors import StoreError
from prober.logs import get_logger
from prober.signals.traffic import engine_config
from prober.snapshots import RECENT_INCIDENTS
from prober.store.base import SavedState

if TYPE_CHECKING:
    from prober.service.core import Service

log = get_logger("prober.service")
UPTIME_REFRESH = 60.0  # a follower re-reads the uptime history this often
# A rebuild costs O(checks) of CPU (10,000 checks and 1,000 components: ~0.25 s; 10,000
# components: ~3 s): the next one waits at least DUTY times as long as this one took, so
# following takes at most 1/(DUTY+1) of a core and the page lags by that much more.
DUTY = 4.0


def rebuild(config: Config, saved: SavedState | None) -> Engine:
    """The engine as saved; a fresh one when nothing was saved yet (never the engine this
    replica held: as a deposed leader its unwritten decisions would stay on its page)."""
    if saved is None:
        return Engine(engine_config(config))
    state = join_state(saved.engine, saved.components, saved.open_incidents)
    return Engine(engine_config(config), state)


async def follow(s: Service, following: Callable[[], bool]) -> None:
    """Components, open and recent incidents, locations; uptime every minute. A failed
    read keeps the last page (readiness says why until a read succeeds again). Nothing is
    changed unless `following()` still holds once everything is read (a take-over may
    have happened meanwhile: its engine is never replaced by a follower's copy)."""
    store = s.keeper.store
    try:
        saved = await store.load_state()
        recent: list[Incident] = await store.incidents(limit=RECENT_INCIDENTS)
    except StoreError as exc:
        if following():
            s.keeper.failed("read", exc)
            s.pipeline.publish()
        return
    if following():
        s.keeper.recovered()
    if s.live.time.now() - s.upkeep.uptime_at >= UPTIME_REFRESH:
        await s.upkeep.refresh_uptime()
    engine = None
    try:
        # Pure and CPU-bound (O(checks)): in a thread, the loop keeps its turns.
        engine = await asyncio.to_thread(rebuild, s.config, saved)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        log.warning("follower_state_unreadable", error=f"{type(exc).__name__}: {exc}")
    if not following():
        return
    if engine is not None:
        s.live.engine = engine
    if saved is not None:
        feed = saved.engine.get("feed")
        if isinstance(feed, dict) and isinstance(feed.get("locations"), list):
            s.live.locations = list(feed["locations"])
    # Replaced, not merged: the database is a follower's whole truth. A replica that led
    # may hold incidents it announced but never wrote (a failed write, then deposed: the
    # batch was dropped); merged, they would stay open on its page for good.
    s.pipeline.view.incidents = {}
    s.pipeline.merge_incidents([*recent, *s.live.engine.open_incidents()])
    s.pipeline.rebuild(s.live.time.now())
