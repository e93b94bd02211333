"""The RoundLog interface agents write to and the leader reads from: prober.store.rounds
(memory and PostgreSQL implementations there; a local SQLite one in sqlite_rounds)."""

from __future__ import annotations

from prober.store.rounds import RoundLog, RoundRow, StoredRound

__all__ = ["RoundLog", "RoundRow", "StoredRound"]
