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

from collections.abc import Callable, Mapping, Sequence
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
    """The held rounds and network verdict; every call costs O(1) amortized in the checks.

    Bookkeeping that replaces scans over every track: `_pending` holds only the tracks with
    held rounds; `_reported` / `_unreachable` count the checks that have reported and
    those of them in an unreachable run, `_reported_components` the components they
    span; `_best` the two latest `last_reachable_at` of distinct checks (enough to ask
    "did any *other* check answer since t?").
    """

    def __init__(self, checks: Mapping[str, str], hold_limit: float) -> None:
        """`checks` maps check id -> component id."""
        self.healthy = True
        self.hold_limit = hold_limit
        self.tracks: dict[str, _Track] = {}
        self._position: dict[str, int] = {}
        self._pending: dict[str, _Track] = {}
        self._reported = 0
        self._unreachable = 0
        self._reported_components: set[str] = set()
        self._best: list[tuple[float, str]] = []
        self.reconfigure(checks, hold_limit)

    def reconfigure(self, checks: Mapping[str, str], hold_limit: float) -> None:
        self.hold_limit = hold_limit
        self.tracks = {
            cid: self.tracks.get(cid) or _Track(comp) for cid, comp in checks.items()
        }
        for cid, comp in checks.items():
            self.tracks[cid].component = comp
        self._multi = len(set(checks.values())) >= 2
        self._rebuild()

    def _rebuild(self) -> None:
        """Recount everything from the tracks (after a reconfigure or a state load)."""
        self._position = {cid: i for i, cid in enumerate(self.tracks)}
        self._pending = {cid: t for cid, t in self.tracks.items() if t.pending}
        reported = [t for t in self.tracks.values() if _reported(t)]
        self._reported = len(reported)
        self._unreachable = sum(1 for t in reported if t.unreachable_since is not None)
        self._reported_components = {t.component for t in reported}
        self._rescan_best()

    def _rescan_best(self) -> None:
        known = [
            (t.last_reachable_at, cid)
            for cid, t in self.tracks.items()
            if t.last_reachable_at is not None
        ]
        known.sort(key=lambda x: x[0], reverse=True)
        self._best = known[:2]

    def round(self, check_id: str, samples: Sequence[Sample], at: float) -> Verdict:
        track = self.tracks.get(check_id)
        if track is None or not samples:
            return Verdict([])
        if not _reported(track):
            self._reported += 1
            self._reported_components.add(track.component)
        unreachable = all(s.reason in TRANSPORT_REASONS for s in samples)
        if not unreachable:
            record = self._flush(check_id, track)
            self._set_reachable(check_id, track, at)
            if track.unreachable_since is not None:
                self._unreachable -= 1
            track.unreachable_since = None
            track.confirmed = False
            record.extend(self._release(lambda since: since <= at))
            record.append((check_id, list(samples)))
            if not self.healthy:
                self.healthy = True
                return Verdict(record, True)
            return Verdict(record)
        if track.unreachable_since is None:
            track.unreachable_since = at
            track.confirmed = False
            self._unreachable += 1
        if not self.healthy:
            return Verdict([])
        if not self._multi or track.confirmed or self._answered_since(check_id, track):
            record = self._flush(check_id, track)
            record.append((check_id, list(samples)))
            return Verdict(record)
        track.pending = [*track.pending, list(samples)][-MAX_PENDING_ROUNDS:]
        self._pending[check_id] = track
        if self._all_unreachable():
            self.healthy = False
            for t in self._pending.values():
                t.pending = []
            self._pending.clear()
            return Verdict([], False)
        return Verdict([])

    def tick(self, now: float) -> list[tuple[str, list[Sample]]]:
        """Release held rounds whose run outlived `hold_limit` without a network verdict."""
        if not self.healthy or not self._pending:
            return []
        return self._release(lambda since: now - since >= self.hold_limit)

    def _set_reachable(self, check_id: str, track: _Track, at: float) -> None:
        old = track.last_reachable_at
        track.last_reachable_at = at
        if old is not None and at < old:
            self._rescan_best()  # time went backwards for this check: rare, recount
            return
        best = [b for b in self._best if b[1] != check_id]
        best.append((at, check_id))
        best.sort(key=lambda x: x[0], reverse=True)
        self._best = best[:2]

    def _answered_since(self, check_id: str, track: _Track) -> bool:
        """Has another check answered at or after the start of this track's run?"""
        since = track.unreachable_since
        if since is None:
            return False
        for latest, cid in self._best:
            if cid != check_id:
                return latest >= since
        return False

    def _all_unreachable(self) -> bool:
        """Every check that has reported is in an unreachable run, across >= 2 components."""
        return len(self._reported_components) >= 2 and self._unreachable == self._reported

    def _release(self, due: Callable[[float], bool]) -> list[tuple[str, list[Sample]]]:
        """Flush the held tracks whose run start passes `due`, in config order."""
        ready = [
            cid for cid, t in self._pending.items()
            if t.pending and t.unreachable_since is not None and due(t.unreachable_since)
        ]
        if len(ready) > 1:
            ready.sort(key=self._position.__getitem__)
        out: list[tuple[str, list[Sample]]] = []
        for cid in ready:
            out.extend(self._flush(cid, self.tracks[cid]))
        return out

    def _flush(self, check_id: str, track: _Track) -> list[tuple[str, list[Sample]]]:
        track.confirmed = True
        rounds, track.pending = track.pending, []
        self._pending.pop(check_id, None)
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
        self._rebuild()


def _reported(track: _Track) -> bool:
    return track.last_reachable_at is not None or track.unreachable_since is not None
