"""Reference implementations of the domain as first written, scanning everything.

The optimized Engine (observe and tick in O(1) amortized in the checks) must behave
exactly like these: the property tests in test_equivalence.py compare them on random runs.
`ScanningGuard` is the original NetworkGuard verbatim; `ScanningEngine` evaluates every
component on `tick`, steps the incident book over every component after every round and
recomputes maintenance membership on every call, as the original Engine did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prober.config.model import Config
from prober.domain import maintenance
from prober.domain.effects import ComponentStateChanged, Effect, NetworkHealthChanged
from prober.domain.engine import Engine
from prober.domain.incidents import bad
from prober.domain.network import MAX_PENDING_ROUNDS, TRANSPORT_REASONS, Verdict, _Track
from prober.domain.state import OP, Sample
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult


class ScanningGuard:
    """The NetworkGuard as first written: scans every track (the reference)."""

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


class ScanningEngine(Engine):
    """The Engine's original pipeline: O(components) per round."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.old_guard = ScanningGuard(self._check_component, self.guard.hold_limit)

    def observe(self, results: Sequence[ProbeResult], now: float) -> list[Effect]:
        if not results:
            return []
        check_id = results[0].check_id
        component = self._check_component.get(check_id)
        if component is None:
            return []
        policy = self._health[component].policy
        samples = [
            Sample(r.at, r.reason.value in policy.failure_reasons, r.duration, r.reason.value)
            for r in results
        ]
        verdict = self.old_guard.round(check_id, samples, min(r.at for r in results))
        effects: list[Effect] = []
        if verdict.health is not None:
            effects.append(NetworkHealthChanged(verdict.health, now))
        touched = {component}
        for cid, round_samples in verdict.record:
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
                touched.add(comp)
        effects.extend(self._full(now, [c for c in self._health if c in touched]))
        return effects

    def tick(self, now: float) -> list[Effect]:
        for cid, round_samples in self.old_guard.tick(now):
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
        return self._full(now, list(self._health))

    @property
    def network_healthy(self) -> bool:
        return self.old_guard.healthy

    def _full(self, now: float, components: Sequence[str]) -> list[Effect]:
        effects: list[Effect] = []
        in_maintenance = maintenance.components_in_maintenance(self.config.maintenances, now)
        for cid in components:
            self._created.setdefault(cid, now)
            health = self._health[cid]
            if self.old_guard.healthy:
                health.evaluate(now)
            shown = ComponentStatus.UNDER_MAINTENANCE if cid in in_maintenance else health.status
            old = self._shown.get(cid, OP)
            if shown is not old:
                self._shown[cid] = shown
                self._updated[cid] = now
                ratio = health.window.counts(now).ratio
                effects.append(ComponentStateChanged(cid, old, shown, now, ratio))
        starts = {cid: h.episode_start for cid, h in self._health.items()}
        reasons = {
            cid: h.window.reasons(now)
            for cid, h in self._health.items()
            if bad(self._shown[cid])
        }
        effects.extend(self.book.step(self._shown, starts, reasons, now))
        return effects
