"""The round log: agents append probe rounds, the leader reads them in order with a cursor.

    append_rounds(rows)            one transaction; durable when it returns
    rounds_after(cursor, limit)    (rows not yet read, in a safe order; the next cursor)
    prune_rounds(before)           drop rows with `at` < before; the number dropped

Start from cursor 0 and pass back the cursor each call returns. The cursor is OPAQUE: in
memory it is the last id read; on PostgreSQL it is a transaction-id horizon (see
prober/store/postgres_rounds.py), because ids drawn from a sequence can commit out of
order (a batch that drew id 5 commits after one that drew id 6; an `id > cursor` reader
would skip 5 for ever). Every row is returned exactly once, in id order within one write
transaction; ids are unique. The payload is opaque to the store (encoded probe results).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoundRow:
    location: str
    agent: str
    check_id: str
    at: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredRound:
    id: int
    location: str
    agent: str
    check_id: str
    at: float
    payload: bytes


class RoundLog(Protocol):
    async def append_rounds(self, rows: Sequence[RoundRow]) -> None: ...

    async def rounds_after(
        self, cursor: int, limit: int = 5000
    ) -> tuple[list[StoredRound], int]: ...

    async def prune_rounds(self, before: float) -> int: ...


class MemoryRoundLog:
    """In one process: appends are atomic and in id order, so the cursor is the last id."""

    def __init__(self) -> None:
        self._rows: list[StoredRound] = []
        self._next = 1

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        for r in rows:
            self._rows.append(
                StoredRound(self._next, r.location, r.agent, r.check_id, r.at, r.payload)
            )
            self._next += 1

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        out = [r for r in self._rows if r.id > cursor][:limit]
        return out, (out[-1].id if out else cursor)

    async def prune_rounds(self, before: float) -> int:
        kept = [r for r in self._rows if r.at >= before]
        dropped = len(self._rows) - len(kept)
        self._rows = kept
        return dropped
