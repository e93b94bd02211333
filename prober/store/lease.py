"""Leadership: which `prober run` replica runs the incident engine and sends webhooks.

    class Leadership(Protocol):
        acquire() -> bool     try once to become (or stay) leader
        renew() -> bool       still leader? False: leadership was lost, stop acting now
        release()             step down (the next contender takes over at once)
        term -> int | None    this holder's term while it leads, else None
        is_leader -> bool
        current() -> LeaderInfo   who leads, for every replica (/-/ready, metrics, logs)

Two implementations: `SoleLeader` (memory and SQLite, one node: always the leader, term 1;
SQLite's file lock already refuses a second writer) and `PgLeadership`
(prober/store/postgres_lease.py, chosen and explained in docs/LEADERSHIP.md: a session
advisory lock held on a dedicated connection, plus a `prober_leader` row whose `term` grows
at each acquisition). A leader's writes carry its term and are refused with `FencedError`
in the same transaction once a newer term exists, so a deposed leader that has not noticed
yet changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prober.errors import NotLeaderError, StoreError

__all__ = ["FencedError", "LeaderInfo", "Leadership", "NotLeaderError", "SoleLeader"]


class FencedError(StoreError):
    """A write by a deposed leader: a newer term holds the database. Nothing was written;
    the caller must stop acting as leader."""

    def __init__(self, term: int | None, current: int | None) -> None:
        if term is None:
            message = "write refused: this replica does not lead; nothing was written"
        else:
            message = (
                f"write refused: this replica led term {term}, the database is at term "
                f"{current} (another replica was elected); nothing was written"
            )
        super().__init__(message)
        self.term = term
        self.current = current


@dataclass(frozen=True, slots=True)
class LeaderInfo:
    term: int  # 0: nobody was ever elected
    holder: str  # the leader's identity (pod name / host:pid), "" before the first election
    elected_at: float  # epoch seconds of the last election


class Leadership(Protocol):
    @property
    def term(self) -> int | None: ...

    @property
    def is_leader(self) -> bool: ...

    async def acquire(self) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...

    async def current(self) -> LeaderInfo: ...


class SoleLeader:
    """The single-node case: this process is the only writer, always leader, term 1."""

    def __init__(self, holder: str = "", now: float = 0.0) -> None:
        self._info = LeaderInfo(1, holder, now)
        self._leading = False

    @property
    def term(self) -> int | None:
        return 1 if self._leading else None

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def acquire(self) -> bool:
        self._leading = True
        return True

    async def renew(self) -> bool:
        return self._leading

    async def release(self) -> None:
        self._leading = False

    async def current(self) -> LeaderInfo:
        return self._info
