"""Maintenances scheduled by people through the write API: create, change, cancel,
complete. Pure: values in, values out; the engine keeps one `Desk` in its state and
treats its windows exactly like one-off maintenances from checks.yaml.

Cancelling removes a window that has not started, and ends one in progress now;
completing ends a window in progress now (an upcoming one cannot be completed). Ids are
derived from a persisted counter, never random.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from prober.domain.incident_record import digest_id
from prober.domain.policy import Maintenance

MAX_WINDOWS = 500
KEEP_ENDED = 30 * 86400.0  # ended windows are forgotten after this long


@dataclass(frozen=True, slots=True)
class Window:
    id: str
    name: str
    components: tuple[str, ...]
    starts_at: float
    ends_at: float
    description: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def as_maintenance(self) -> Maintenance:
        return Maintenance(
            id=self.id,
            name=self.name,
            components=self.components,
            start=datetime.fromtimestamp(self.starts_at, UTC),
            end=datetime.fromtimestamp(self.ends_at, UTC),
            description=self.description,
        )


class Desk:
    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.seq = 0
        self.windows: dict[str, Window] = {}
        if state:
            self.seq = int(state.get("seq", 0))
            for d in state.get("windows", []):
                w = Window(
                    str(d["id"]),
                    str(d["name"]),
                    tuple(d["components"]),
                    float(d["starts_at"]),
                    float(d["ends_at"]),
                    d.get("description"),
                    float(d.get("created_at", 0.0)),
                    float(d.get("updated_at", 0.0)),
                )
                self.windows[w.id] = w

    def to_state(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "windows": [
                {
                    "id": w.id,
                    "name": w.name,
                    "components": list(w.components),
                    "starts_at": w.starts_at,
                    "ends_at": w.ends_at,
                    "description": w.description,
                    "created_at": w.created_at,
                    "updated_at": w.updated_at,
                }
                for w in self.windows.values()
            ],
        }

    def maintenances(self) -> tuple[Maintenance, ...]:
        return tuple(w.as_maintenance() for w in self.windows.values())

    def get(self, window_id: str) -> Window:
        found = self.windows.get(window_id)
        if found is None:
            raise KeyError(window_id)
        return found

    def create(
        self,
        now: float,
        *,
        name: str,
        components: tuple[str, ...],
        starts_at: float,
        ends_at: float,
        description: str | None = None,
    ) -> Window:
        _check_times(starts_at, ends_at, now)
        self._forget(now)
        if len(self.windows) >= MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} maintenances are kept")
        self.seq += 1
        w = Window(
            f"m-{digest_id(f'maintenance/{self.seq}/{now!r}')}",
            name,
            components,
            starts_at,
            ends_at,
            description,
            now,
            now,
        )
        self.windows[w.id] = w
        return w

    def change(self, window_id: str, now: float, **fields: Any) -> Window:
        w = self.get(window_id)
        if w.ends_at <= now:
            raise ValueError(f"maintenance {window_id} has ended: it cannot change")
        new = replace(w, **{k: v for k, v in fields.items() if v is not None}, updated_at=now)
        if new.starts_at != w.starts_at and w.starts_at <= now:
            raise ValueError("a maintenance in progress keeps its start time")
        _check_times(new.starts_at, new.ends_at, now if new.starts_at != w.starts_at else None)
        self.windows[w.id] = new
        return new

    def cancel(self, window_id: str, now: float) -> Window:
        w = self.get(window_id)
        if w.ends_at <= now:
            raise ValueError(f"maintenance {window_id} has ended: nothing to cancel")
        if w.starts_at > now:
            del self.windows[w.id]
            return replace(w, ends_at=w.starts_at, updated_at=now)
        return self._end(w, now)

    def complete(self, window_id: str, now: float) -> Window:
        w = self.get(window_id)
        if w.starts_at > now:
            raise ValueError(f"maintenance {window_id} has not started: cancel it instead")
        if w.ends_at <= now:
            raise ValueError(f"maintenance {window_id} has already ended")
        return self._end(w, now)

    def _end(self, w: Window, now: float) -> Window:
        ended = replace(w, ends_at=now, updated_at=now)
        self.windows[w.id] = ended
        return ended

    def _forget(self, now: float) -> None:
        self.windows = {k: w for k, w in self.windows.items() if w.ends_at > now - KEEP_ENDED}


def _check_times(starts_at: float, ends_at: float, now: float | None) -> None:
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if now is not None and ends_at <= now:
        raise ValueError("the maintenance would already be over (ends_at is in the past)")
