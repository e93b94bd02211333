"""Telling prober's own network loss apart from target failures.

A round is *unreachable* when every probe in it failed with a transport reason
(connect, dns, timeout): no HTTP answer at all. An HTTP answer, even a 5xx, proves the
network works. An *answer* is a round that is not unreachable, from a check or from a
canary (`network.canaries`: reference targets on other networks, probed only as
evidence of prober's own connectivity).

* An unreachable round is recorded at once when some answer (from any check or canary)
  came at or after the start of this check's unreachable run: the network worked, the
  target did not. So is it with one component and no canaries (nothing to compare with).
* Otherwise it is held (pending) until explained. The candidate loss began at `L`, the
  earliest start of a held run. Only checks that reported since `L` are judged: a
  check that has not reported since (a slow interval) neither confirms nor denies.
  - A canary answers at or after the held run's start: the network works, the targets
    are really down; the held rounds are recorded (their true start is kept).
  - Every canary reported unreachable since `L`, and no answer came since: prober lost
    its own network. State `lost`: held rounds are dropped, unreachable rounds are
    dropped until an answer comes, and component statuses are held as they were.
  - A check answers while every check that reported since `L` is unreachable across at
    least two components: a short all-unreachable stretch ended by an answer, prober's
    own blip or an outage that began just before. Each held check's own next round
    decides: unreachable again (after the answer) records the held rounds with their
    true start; an answer drops them (so do rounds in flight at that answer).
  - `hold` passes since a held run began (the slowest check's or canary's interval
    plus timeout plus 1 s: never a cap below the slowest interval) with none of the
    above: the held rounds are recorded. If every reporting check was unreachable
    across two or more components, the state becomes `unverified`: every target
    unreachable and no canary to tell whose side the fault is on. A total outage is
    never hidden: the components go to major outage, and the network line of the API
    and `prober_network_healthy` say the verdict is unverified.
* The first answer after `lost` or `unverified` sets the state back to `ok`; unreachable
  rounds that started before that answer (in flight at the recovery) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prober.domain.state import Sample

TRANSPORT_REASONS = frozenset({"connect", "dns", "timeout"})
MAX_PENDING_ROUNDS = 64
OK = "ok"
LOST = "lost"
UNVERIFIED = "unverified"
NETWORK_STATES = (OK, LOST, UNVERIFIED)


@dataclass
class _Track:
    component: str
    last_reachable_at: float | None = None
    unreachable_since: float | None = None
    confirmed: bool = False
    pending: list[list[Sample]] = field(default_factory=list)
    # Held rounds set aside by an answer that ended an all-unreachable stretch: the
    # check's own next round decides (unreachable again: recorded; an answer: dropped).
    limbo_until: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a round: rounds to record now, and a network health change."""

    record: list[tuple[str, list[Sample]]]  # (check id, samples) in order
    health: bool | None = None  # new health when it changed


def unreachable(samples: Sequence[Sample]) -> bool:
    return all(s.reason in TRANSPORT_REASONS for s in samples)


class NetworkGuard:
    """The held rounds and network verdict; every call costs O(1) amortized in the checks
    (O(canaries) for canary rounds and while rounds are held).

    Bookkeeping: `_pending` holds only the tracks with held rounds; `_down` counts, per
    component, its checks in an unreachable run; `_last_answer` is the latest start of
    any answer (check or canary); `_loss_since` the earliest start of a held run.
    """

    def __init__(
        self, checks: Mapping[str, str], hold_limit: float, canaries: Sequence[str] = ()
    ) -> None:
        """`checks` maps check id -> component id; `canaries` are canary check ids."""
        self.state = OK
        self.hold_limit = hold_limit
        self.tracks: dict[str, _Track] = {}
        self.canaries: dict[str, tuple[float, bool] | None] = {}  # id -> (at, answered)
        self.recovered_at: float | None = None  # rounds started before it are dropped
        self._position: dict[str, int] = {}
        self._pending: dict[str, _Track] = {}
        self._down: dict[str, int] = {}
        self._last_answer: float | None = None
        self._loss_since: float | None = None
        self.reconfigure(checks, hold_limit, canaries)

    @property
    def healthy(self) -> bool:
        return self.state == OK

    def reconfigure(
        self, checks: Mapping[str, str], hold_limit: float, canaries: Sequence[str] = ()
    ) -> None:
        self.hold_limit = hold_limit
        self.tracks = {cid: self.tracks.get(cid) or _Track(comp) for cid, comp in checks.items()}
        for cid, comp in checks.items():
            self.tracks[cid].component = comp
        self.canaries = {c: self.canaries.get(c) for c in canaries}
        self._multi = len(set(checks.values())) >= 2 or bool(self.canaries)
        self._rebuild()

    def _rebuild(self) -> None:
        """Recount everything from the tracks (after a reconfigure or a state load)."""
        self._position = {cid: i for i, cid in enumerate(self.tracks)}
        self._pending = {
            cid: t for cid, t in self.tracks.items() if t.pending and t.limbo_until is None
        }
        self._down = {}
        for t in self.tracks.values():
            if t.unreachable_since is not None:
                self._down[t.component] = self._down.get(t.component, 0) + 1
        answers = [
            t.last_reachable_at for t in self.tracks.values() if t.last_reachable_at is not None
        ]
        answers += [c[0] for c in self.canaries.values() if c is not None and c[1]]
        self._last_answer = max(answers, default=None)
        self._reset_loss_since()

    def _reset_loss_since(self) -> None:
        starts = [
            t.unreachable_since for t in self._pending.values() if t.unreachable_since is not None
        ]
        self._loss_since = min(starts, default=None)

    # -- rounds --------------------------------------------------------------------------

    def canary_round(self, canary_id: str, samples: Sequence[Sample], at: float) -> Verdict:
        """One round of a canary: evidence about prober's own network, never recorded."""
        if canary_id not in self.canaries or not samples:
            return Verdict([])
        answered = not unreachable(samples)
        self.canaries[canary_id] = (at, answered)
        if answered:
            self._answer(at)
            record = self._release(lambda since: since <= at)
            if self.state != OK:
                return Verdict(record, self._set_state(OK, at))
            return Verdict(record)
        return self._judge(at)

    def round(self, check_id: str, samples: Sequence[Sample], at: float) -> Verdict:
        track = self.tracks.get(check_id)
        if track is None or not samples:
            return Verdict([])
        if not unreachable(samples):
            return self._reachable(check_id, track, list(samples), at)
        if track.unreachable_since is None:
            track.unreachable_since = at
            track.confirmed = False
            self._down[track.component] = self._down.get(track.component, 0) + 1
        if self.state == LOST or (self.recovered_at is not None and at < self.recovered_at):
            return Verdict([])  # during the loss, or in flight at its recovery
        if track.limbo_until is not None:
            if at < track.limbo_until:  # another round in flight at that answer: wait
                track.pending = [*track.pending, list(samples)][-MAX_PENDING_ROUNDS:]
                return Verdict([])
            track.limbo_until = None  # still failing after the network answered: real
            track.confirmed = True
        since = track.unreachable_since
        if (
            self.state == UNVERIFIED
            or not self._multi
            or track.confirmed
            or (self._last_answer is not None and self._last_answer >= since)
        ):
            record = self._flush(check_id, track)
            record.append((check_id, list(samples)))
            return Verdict(record)
        track.pending = [*track.pending, list(samples)][-MAX_PENDING_ROUNDS:]
        if check_id not in self._pending:
            self._pending[check_id] = track
            if self._loss_since is None or since < self._loss_since:
                self._loss_since = since
        return self._judge(at)

    def _reachable(self, check_id: str, track: _Track, samples: list[Sample], at: float) -> Verdict:
        lost = self.state != OK
        blip = not lost and bool(self._pending) and self._everything_down()
        record: list[tuple[str, list[Sample]]] = []
        if lost:
            self._drop_pending()  # what started during the loss is no evidence
        elif blip:
            # An answer ends a short all-unreachable stretch: prober's own blip, or a
            # real outage that began just before it. Each held check's next round tells.
            for t in self._pending.values():
                t.limbo_until = at
            self._pending.clear()
            self._loss_since = None
        else:
            record = self._release(lambda since: since <= at)
        if track.limbo_until is not None:
            track.pending = []  # the check answers: its set-aside rounds were the blip
            track.limbo_until = None
        if track.pending:  # its own held rounds, with the network working: real
            record.extend(self._flush(check_id, track))
        if track.unreachable_since is not None:
            self._down[track.component] -= 1
            if not self._down[track.component]:
                del self._down[track.component]
        track.unreachable_since = None
        track.confirmed = False
        track.last_reachable_at = at
        self._answer(at)
        record.append((check_id, samples))
        if lost:
            return Verdict(record, self._set_state(OK, at))
        return Verdict(record)

    def tick(self, now: float) -> list[tuple[str, list[Sample]]]:
        """Record held rounds whose run outlived `hold_limit` without a network verdict."""
        if self.state == LOST or not self._pending:
            return []
        if self._loss_since is None or now - self._loss_since < self.hold_limit:
            return []
        if self._everything_down():
            self.state = UNVERIFIED
        return self._release(lambda since: now - since >= self.hold_limit)

    # -- verdicts ------------------------------------------------------------------------

    def _silent(self) -> bool:
        """No answer at all (check or canary) since the candidate loss began."""
        since = self._loss_since
        return since is not None and (self._last_answer is None or self._last_answer < since)

    def _everything_down(self) -> bool:
        """Every check that reported since the candidate loss began is unreachable, with
        fresh (held, not yet explained) runs in two or more components: no answer since
        it began. A component broken for long (its run already confirmed) does not make
        another check's single failure look like a loss."""
        if len(self._down) < 2 or not self._silent():
            return False
        first: str | None = None
        for t in self._pending.values():  # O(held tracks), only while rounds are held
            if first is None:
                first = t.component
            elif t.component != first:
                return True
        return False

    def _judge(self, at: float) -> Verdict:
        """Lost when every canary reported unreachable since the candidate loss began."""
        if self.state != OK or not self.canaries or not self._silent():
            return Verdict([])
        since = self._loss_since
        assert since is not None
        for seen in self.canaries.values():
            if seen is None or seen[1] or seen[0] < since:
                return Verdict([])
        self._drop_pending()
        for t in self.tracks.values():  # a rare event: O(checks) once per loss
            if t.limbo_until is not None:
                t.pending, t.limbo_until = [], None
        return Verdict([], self._set_state(LOST, at))

    def _set_state(self, state: str, at: float) -> bool | None:
        was = self.healthy
        self.state = state
        if state == OK:
            self.recovered_at = at
        return None if was == self.healthy else self.healthy

    def _answer(self, at: float) -> None:
        if self._last_answer is None or at > self._last_answer:
            self._last_answer = at

    def _drop_pending(self) -> None:
        for t in self._pending.values():
            t.pending = []
        self._pending.clear()
        self._loss_since = None

    def _release(self, due: Callable[[float], bool]) -> list[tuple[str, list[Sample]]]:
        """Flush the held tracks whose run start passes `due`, in config order."""
        if not self._pending:
            return []
        ready = [
            cid
            for cid, t in self._pending.items()
            if t.pending and t.unreachable_since is not None and due(t.unreachable_since)
        ]
        if len(ready) > 1:
            ready.sort(key=self._position.__getitem__)
        out: list[tuple[str, list[Sample]]] = []
        for cid in ready:
            out.extend(self._flush(cid, self.tracks[cid]))
        if ready:
            self._reset_loss_since()
        return out

    def _flush(self, check_id: str, track: _Track) -> list[tuple[str, list[Sample]]]:
        track.confirmed = True
        rounds, track.pending = track.pending, []
        self._pending.pop(check_id, None)
        return [(check_id, r) for r in rounds]

    # -- persistence ---------------------------------------------------------------------

    def to_state(self, tracks: bool = True) -> dict[str, Any]:
        """The guard's state; without `tracks`, only its network-wide fields."""
        state: dict[str, Any] = {
            "healthy": self.healthy,
            "state": self.state,
            "recovered_at": self.recovered_at,
            "canaries": {c: list(v) if v else None for c, v in self.canaries.items()},
        }
        if tracks:
            state["tracks"] = self.tracks_state(self.tracks)
        return state

    def tracks_state(self, check_ids: Iterable[str]) -> dict[str, Any]:
        """`to_state()["tracks"]` for these checks only (the engine saves them per component)."""
        return {
            cid: {
                "last_reachable_at": t.last_reachable_at,
                "unreachable_since": t.unreachable_since,
                "confirmed": t.confirmed,
                "pending": [[list(s) for s in r] for r in t.pending],
                "limbo_until": t.limbo_until,
            }
            for cid in check_ids
            if (t := self.tracks.get(cid)) is not None
        }

    @property
    def quiet(self) -> bool:
        """The network fine and no round held: a round then changes no track but its own
        check's (what lets the engine save only the tracks of the checks it was given)."""
        return self.state == OK and not self._pending

    def load_state(self, data: Mapping[str, Any]) -> None:
        state = data.get("state")
        if state not in NETWORK_STATES:
            state = OK if data.get("healthy", True) else LOST
        self.state = str(state)
        self.recovered_at = data.get("recovered_at")
        for cid, seen in data.get("canaries", {}).items():
            if cid in self.canaries and seen:
                self.canaries[cid] = (float(seen[0]), bool(seen[1]))
        for cid, d in data.get("tracks", {}).items():
            track = self.tracks.get(cid)
            if track is None:
                continue
            track.last_reachable_at = d.get("last_reachable_at")
            track.unreachable_since = d.get("unreachable_since")
            track.confirmed = bool(d.get("confirmed", False))
            track.limbo_until = d.get("limbo_until")
            track.pending = [
                [Sample(float(s[0]), bool(s[1]), s[2], str(s[3])) for s in r]
                for r in d.get("pending", [])
            ]
        self._rebuild()
