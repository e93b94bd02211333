"""Telling prober's own network loss apart from target failures.

A round is *unreachable* when every probe in it failed with a transport reason
(connect, dns, timeout): no HTTP answer at all. An HTTP 5xx proves the network works.

* While the config spans at least two components, an unreachable round is held back
  (pending, not yet in the component's window) until it is explained:
  - confirmed real: another check got an answer (any reachable round) at or after the
    start of this check's unreachable run, or `hold_limit` passed (other checks may be
    slow) -> the held rounds are recorded and the component is judged on them;
  - network lost: every check that has reported is in an unreachable run, across at
    least two components -> prober lost its own network: `healthy` becomes False,
    held rounds are dropped, and until a reachable round arrives all unreachable
    rounds are dropped and component statuses are held as they were.
* The first reachable round after a loss sets `healthy` back to True.
With one component everything is recorded at once (nothing to compare with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prober.domain.state import Sample

TRANSPORT_REASONS = frozenset({"connect", "dns", "timeout"})
MAX_PENDING_ROUNDS = 64


@dataclass
class _Track:
    component: str
    last_reachable_at: float | None = None
    unreachable_since: float | None = None
    confirmed: bool = False
    pending: list[list[Sample]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a round: rounds to record now, and a network health change."""

    record: list[tuple[str, list[Sample]]]  # (check id, samples) in order
    health: bool | None = None  # new health when it changed


class NetworkGuard:
    def __init__(self, checks: Mapping[str, str], hold_limit: float) -> None:
        """`checks` maps check id -> component id."""
        self.healthy = True
        self.hold_limit = hold_limit
        self.tracks: dict[str, _Track] = {}
        self.reconfigure(checks, hold_limit)

    def reconfigure(self, checks: Mapping[str, str], hold_limit: float) -> None:
        self.hold_limit = hold_limit
        self.tracks = {
            cid: self.tracks.get(cid) or _Track(comp) for cid, comp in checks.items()
        }
        for cid, comp in checks.items():
            self.tracks[cid].component = comp
        self._multi = len(set(checks.values())) >= 2

    def round(self, check_id: str, samples: Sequence[Sample], at: float) -> Verdict:
        track = self.tracks.get(check_id)
        if track is None or not samples:
            return Verdict([])
        unreachable = all(s.reason in TRANSPORT_REASONS for s in samples)
        if not unreachable:
            record = self._flush(check_id, track)
            track.last_reachable_at = at
            track.unreachable_since = None
            track.confirmed = False
            record.extend(self._release_confirmed(at))
            record.append((check_id, list(samples)))
            if not self.healthy:
                self.healthy = True
                return Verdict(record, True)
            return Verdict(record)
        if track.unreachable_since is None:
            track.unreachable_since = at
            track.confirmed = False
        if not self.healthy:
            return Verdict([])
        if not self._multi or track.confirmed or self._answered_since(track):
            record = self._flush(check_id, track)
            record.append((check_id, list(samples)))
            return Verdict(record)
        track.pending = [*track.pending, list(samples)][-MAX_PENDING_ROUNDS:]
        if self._all_unreachable():
            self.healthy = False
            for t in self.tracks.values():
                t.pending = []
            return Verdict([], False)
        return Verdict([])

    def tick(self, now: float) -> list[tuple[str, list[Sample]]]:
        """Release held rounds whose run outlived `hold_limit` without a network verdict."""
        out: list[tuple[str, list[Sample]]] = []
        if not self.healthy:
            return out
        for cid, track in self.tracks.items():
            since = track.unreachable_since
            if track.pending and since is not None and now - since >= self.hold_limit:
                out.extend(self._flush(cid, track))
        return out

    def _answered_since(self, track: _Track) -> bool:
        since = track.unreachable_since
        return since is not None and any(
            t.last_reachable_at is not None and t.last_reachable_at >= since
            for t in self.tracks.values()
            if t is not track
        )

    def _all_unreachable(self) -> bool:
        reported = [
            t for t in self.tracks.values()
            if t.last_reachable_at is not None or t.unreachable_since is not None
        ]
        components = {t.component for t in reported}
        return len(components) >= 2 and all(t.unreachable_since is not None for t in reported)

    def _release_confirmed(self, at: float) -> list[tuple[str, list[Sample]]]:
        out: list[tuple[str, list[Sample]]] = []
        for cid, track in self.tracks.items():
            since = track.unreachable_since
            if track.pending and since is not None and since <= at:
                out.extend(self._flush(cid, track))
        return out

    def _flush(self, check_id: str, track: _Track) -> list[tuple[str, list[Sample]]]:
        track.confirmed = True
        rounds, track.pending = track.pending, []
        return [(check_id, r) for r in rounds]

    def to_state(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "tracks": {
                cid: {
                    "last_reachable_at": t.last_reachable_at,
                    "unreachable_since": t.unreachable_since,
                    "confirmed": t.confirmed,
                    "pending": [[list(s) for s in r] for r in t.pending],
                }
                for cid, t in self.tracks.items()
            },
        }

    def load_state(self, data: Mapping[str, Any]) -> None:
        self.healthy = bool(data.get("healthy", True))
        for cid, d in data.get("tracks", {}).items():
            track = self.tracks.get(cid)
            if track is None:
                continue
            track.last_reachable_at = d.get("last_reachable_at")
            track.unreachable_since = d.get("unreachable_since")
            track.confirmed = bool(d.get("confirmed", False))
            track.pending = [
                [Sample(float(s[0]), bool(s[1]), s[2], str(s[3])) for s in r]
                for r in d.get("pending", [])
            ]
