"""A memory RoundLog for tests (the real ones: prober.store.rounds, sqlite_rounds)."""

from __future__ import annotations

from collections.abc import Sequence

from prober.distributed.roundlog import RoundRow, StoredRound


class DatabaseDown(ConnectionError):
    pass


class MemoryRoundLog:
    def __init__(self) -> None:
        self.rows: list[StoredRound] = []
        self.down = False
        self.batches: list[int] = []

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        if self.down:
            raise DatabaseDown("database unreachable")
        self.batches.append(len(rows))
        for r in rows:
            self.rows.append(
                StoredRound(len(self.rows) + 1, r.location, r.agent, r.check_id, r.at, r.payload)
            )

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        out = [r for r in self.rows if r.id > cursor][:limit]
        return out, (out[-1].id if out else cursor)

    async def prune_rounds(self, before: float) -> int:
        keep = [r for r in self.rows if r.at >= before]
        gone = len(self.rows) - len(keep)
        self.rows = keep
        return gone
