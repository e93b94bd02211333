"""Reference implementations of the domain as first written, scanning everything.

The optimized Engine (observe and tick in O(1) amortized in the checks) must behave
exactly like these: the property tests in test_equivalence.py compare them on random runs.
The network guard is shared (issue 11 changed its semantics; tests/domain/test_network.py
holds it to them); `ScanningEngine` evaluates every
component on `tick`, steps the incident book over every component after every round and
recomputes maintenance membership on every call, as the original Engine did.
"""

from __future__ import annotations

from collections.abc import Sequence

from prober.config.model import Config
from prober.domain import maintenance
from prober.domain.effects import ComponentStateChanged, Effect, NetworkHealthChanged
from prober.domain.engine import Engine
from prober.domain.incidents import bad
from prober.domain.network import NetworkGuard
from prober.domain.state import OP, Sample
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult


class ScanningEngine(Engine):
    """The Engine's original pipeline: O(components) per round."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.old_guard = NetworkGuard(self._check_component, self.guard.hold_limit)

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
        was = self.old_guard.healthy
        for cid, round_samples in self.old_guard.tick(now):
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
        effects: list[Effect] = []
        if self.old_guard.healthy is not was:
            effects.append(NetworkHealthChanged(self.old_guard.healthy, now))
        return effects + self._full(now, list(self._health))

    @property
    def network_healthy(self) -> bool:
        return self.old_guard.healthy

    def _full(self, now: float, components: Sequence[str]) -> list[Effect]:
        effects: list[Effect] = []
        in_maintenance = maintenance.components_in_maintenance(self.config.maintenances, now)
        for cid in components:
            self._created.setdefault(cid, now)
            health = self._health[cid]
            if self.old_guard.state != "lost":
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
            cid: h.window.reasons(now) for cid, h in self._health.items() if bad(self._shown[cid])
        }
        effects.extend(self.book.step(self._shown, starts, reasons, now, None, self._recovered))
        return effects
