"""The RoundLog interface agents write to and the leader reads from.

This is the exact interface `prober.store.rounds` (the PostgreSQL and memory stores)
implements; it lives here until that module is merged, then this module re-exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoundRow:
    """One location's round of one check, as an agent writes it."""

    location: str
    agent: str
    check_id: str
    at: float  # start of the round's first probe, epoch seconds
    payload: bytes  # prober.distributed.codec


@dataclass(frozen=True, slots=True)
class StoredRound:
    """A RoundRow as the log stored it, with its id (the read cursor)."""

    id: int
    location: str
    agent: str
    check_id: str
    at: float
    payload: bytes


class RoundLog(Protocol):
    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        """Store `rows` durably (all or none) before returning."""
        ...

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        """Rounds with id > cursor, oldest first, at most `limit`; and the new cursor."""
        ...

    async def prune_rounds(self, before: float) -> int:
        """Delete rounds that started before `before`; how many were deleted."""
        ...
