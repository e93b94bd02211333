"""The Engine's persistence: `to_state`, the incremental `state_delta` and loading a state.

A mixin of `Engine` (engine.py): the methods read the engine's tables through an explicit
`self`. Change tracking: `_dirty` holds the components changed since the last
delta; the next delta is complete (every component) after construction and after a
reconfigure (`_complete`); the network guard's tracks are compared with those last given
out only when the guard was not quiet (`_tracks_unsure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prober.domain.codec import StateDelta, engine_row
from prober.domain.desk import Desk
from prober.domain.incident import Incident
from prober.domain.incidents import IncidentBook
from prober.domain.state import ComponentHealth
from prober.domain.status import ComponentStatus

if TYPE_CHECKING:
    from prober.domain.network import NetworkGuard
    from prober.domain.policy import Config
    from prober.domain.traffic import Signals

STATE_VERSION = 1


class EngineState:
    """Persistence of an `Engine`; `_start_tracking` is called by its constructor."""

    # The engine's tables this mixin reads (set by Engine.__init__ / _apply_config).
    config: Config
    signals: Signals
    book: IncidentBook
    guard: NetworkGuard
    desk: Desk
    _health: dict[str, ComponentHealth]
    _shown: dict[str, ComponentStatus]
    _created: dict[str, float]
    _updated: dict[str, float]
    _rates: dict[str, float]
    _bad: set[str]
    _check_component: dict[str, str]
    _checks_of: dict[str, list[str]]

    def _catch_up_reasons(self, components: Iterable[str]) -> None:
        raise NotImplementedError  # Engine's

    def _reindex(self) -> None:
        raise NotImplementedError  # Engine's

    def _start_tracking(self) -> None:
        self._dirty: set[str] = set()
        self._complete = True
        self._saved_tracks: dict[str, Any] = {}  # the guard's tracks as last given out
        self._tracks_unsure = False  # the guard was not quiet: compare all its tracks
        self._given: dict[str, Incident] = {}  # open incidents as last given out

    def _component_state(self, cid: str) -> dict[str, Any]:
        return {
            "health": self._health[cid].to_state(),
            **self.signals.to_state(cid),
            "shown": self._shown[cid].value,
            "created_at": self._created.get(cid),
            "updated_at": self._updated.get(cid),
        }

    def to_state(self) -> dict[str, Any]:
        self._catch_up_reasons(self._bad)
        return {
            "version": STATE_VERSION,
            "components": {cid: self._component_state(cid) for cid in self._health},
            "incidents": self.book.to_state(),
            "network": self.guard.to_state(),
            "desk": self.desk.to_state(),
        }

    def state_delta(self) -> StateDelta:
        """The state rows changed since the previous call (codec.StateDelta): the engine
        row, and a row per component evaluated, recorded into or otherwise changed since
        (its guard tracks compared with those last given out). `join_state` of all the
        rows given out so far, applied in order, with the open incidents as the effects and
        the deltas' `incidents` left them, equals `to_state()`."""
        self._catch_up_reasons(self._bad)
        self._mark_moved_tracks()
        wanted = set(self._health) if self._complete else self._dirty & set(self._health)
        by_component: dict[str, dict[str, Any]] = {cid: {} for cid in wanted}
        for cid in wanted:
            mine = self.guard.tracks_state(self._checks_of.get(cid, ()))
            by_component[cid] = mine
            self._saved_tracks.update(mine)
        self._tracks_unsure = not self.guard.quiet
        rows = {
            cid: {**self._component_state(cid), "tracks": by_component[cid]}
            for cid in self._health
            if cid in wanted
        }
        delta = StateDelta(self._engine_row(), rows, self._complete, self._changed_incidents())
        self._dirty = set()
        self._complete = False
        return delta

    def _mark_moved_tracks(self) -> None:
        """Mark dirty the components whose guard tracks differ from those last given out:
        O(checks), so only when the delta is complete or the guard was not quiet."""
        if not (self._complete or self._tracks_unsure):
            return
        tracks = self.guard.tracks_state(self.guard.tracks)
        saved = self._saved_tracks
        for check_id, track in tracks.items():
            if saved.get(check_id) != track:
                comp = self._check_component.get(check_id)
                if comp is not None:
                    self._dirty.add(comp)
        self._saved_tracks = tracks

    def _engine_row(self) -> dict[str, Any]:
        network = self.guard.to_state(tracks=False)
        book = self.book.to_state()
        return engine_row(
            {
                "version": STATE_VERSION,
                "incidents": book,
                "network": network,
                "desk": self.desk.to_state(),
            }
        )

    def _changed_incidents(self) -> tuple[Incident, ...]:
        """The open incidents not given out as they are now (by identity)."""
        records = self.book.records
        changed = tuple(
            r.incident for i, r in records.items() if self._given.get(i) is not r.incident
        )
        self._given = {i: r.incident for i, r in records.items()}
        return changed

    def _load(self, state: Mapping[str, Any]) -> None:
        version = int(state.get("version", 0))
        if version > STATE_VERSION:
            raise ValueError(f"domain state version {version} is newer than {STATE_VERSION}")
        for cid, data in state.get("components", {}).items():
            if cid not in self._health:
                continue
            policy = self._health[cid].policy
            self._health[cid] = ComponentHealth.from_state(policy, data["health"], self._rates[cid])
            self.signals.load(cid, policy, data)
            self._shown[cid] = ComponentStatus(data.get("shown", "operational"))
            if data.get("created_at") is not None:
                self._created[cid] = float(data["created_at"])
            if data.get("updated_at") is not None:
                self._updated[cid] = float(data["updated_at"])
        components = self.config.components
        self.book = IncidentBook(
            self.config.incidents,
            {c.id: c.name for c in components},
            {c.id: c.group for c in components},
            state.get("incidents"),
        )
        self.guard.load_state(state.get("network", {}))
        self.desk = Desk(state.get("desk"))
        self._reindex()
