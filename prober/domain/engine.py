"""The Engine: the one object the shell talks to. Pure: no I/O, no clock, no randomness.

The shell feeds it probe rounds (`observe`) and the time (`tick`, every second), relays
human writes (`post_update`) and reloads (`reconfigure`), and applies the effects it
returns in order (store first). `to_state()` is everything the hysteresis and the incident
lifecycle need; `Engine(config, state)` continues exactly where it stopped.

Pipeline for one round: failure classification (StatusPolicy.failure_reasons) ->
NetworkGuard (network.py: rounds with no HTTP answer wait until the network is known to
be fine) -> ComponentHealth (state.py: window and hysteresis) -> maintenance overlay
(maintenance.py: `under_maintenance`) -> IncidentBook (incidents.py).
While prober's own network is down every status is held as it was.
Rounds of a virtual traffic check (`traffic:<component>`, traffic.py) skip the guard and
feed the component's second, traffic health; the component shows the worse of the two.

Cost: `observe` is O(1) amortized in the number of checks and components (it evaluates
the components that recorded rounds and steps the incident book only on a status change
or when an update is due; a failing component's evaluation walks its window's buckets, at
most span / width + 1, 61 by default); `tick` is O(components time can change + bad
components + open incidents). tests/domain/test_equivalence.py holds both to the original
evaluate-everything pipeline (tests/domain/reference.py); bench/engine_bench.py times them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prober.domain import maintenance
from prober.domain import traffic as signal
from prober.domain.desk import Desk
from prober.domain.effects import ComponentStateChanged, Effect, NetworkHealthChanged
from prober.domain.engine_state import STATE_VERSION as STATE_VERSION
from prober.domain.engine_state import EngineState
from prober.domain.engine_views import EngineViews
from prober.domain.incidents import IncidentBook, bad
from prober.domain.network import LOST, NetworkGuard, Verdict
from prober.domain.observation import ProbeResult
from prober.domain.policy import Config, Maintenance
from prober.domain.state import DEFAULT_RATE, OP, ComponentHealth, Sample
from prober.domain.status import ComponentStatus, Impact, IncidentStatus


def hold_limit(config: Config) -> float:
    """How long unreachable rounds wait for a network verdict: the slowest round of any
    check or canary, plus 1 s. Never capped: every check gets to report since the loss."""
    guarded = (c for c in config.probed if not c.id.startswith(signal.PREFIX))
    # (traffic signals' virtual checks never enter the guard: their interval holds nothing)
    longest = max((c.interval + c.timeout for c in guarded), default=29.0)
    return longest + 1.0


def _rates(config: Config, traffic: bool = False) -> dict[str, float]:
    """Samples per second of each component's probes (or, with `traffic`, of its virtual
    traffic check): the rate its decision bound is set for."""
    rates = {c.id: 0.0 for c in config.components}
    for check in config.checks:
        if check.component in rates and check.id.startswith(signal.PREFIX) is traffic:
            rates[check.component] += check.requests_per_round / max(check.interval, 1e-3)
    return {cid: rate or DEFAULT_RATE for cid, rate in rates.items()}


class Engine(EngineState, EngineViews):
    def __init__(self, config: Config, state: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self._health: dict[str, ComponentHealth] = {}  # from the probes
        self.signals = signal.Signals()  # healths from real traffic (traffic.py)
        self._shown: dict[str, ComponentStatus] = {}
        self._created: dict[str, float] = {}
        self._updated: dict[str, float] = {}
        self._check_component: dict[str, str] = {}
        self._position: dict[str, int] = {}
        self._maintenance: tuple[float, float, frozenset[str]] = (0.0, 0.0, frozenset())
        self._maintenance_moved: set[str] = set()  # membership flipped since the last tick
        self._active: set[str] = set()  # components time alone may change (see `tick`)
        self._bad: set[str] = set()  # components whose shown status is bad
        self._uncreated: set[str] = set()  # components never evaluated yet
        self._stepped_at: float | None = None  # `now` of the last call that may step
        self._start_tracking()  # persistence (engine_state.py)
        self.book = IncidentBook(config.incidents, self._names(config), self._groups(config))
        self.desk = Desk()  # maintenances scheduled by people (desk.py)
        self.guard = NetworkGuard({}, hold_limit(config))
        self._apply_config(config)
        if state:
            self._load(state)

    # -- configuration -------------------------------------------------------------------

    @staticmethod
    def _names(config: Config) -> dict[str, str]:
        return {c.id: c.name for c in config.components}

    @staticmethod
    def _groups(config: Config) -> dict[str, str | None]:
        return {c.id: c.group for c in config.components}

    def _apply_config(self, config: Config) -> None:
        self.config = config
        ids = {c.id for c in config.components}
        for cid in [c for c in self._health if c not in ids]:
            for table in (self._health, self._shown, self._created, self._updated):
                table.pop(cid, None)
        self._rates = _rates(config)
        self.signals.configure(config, _rates(config, traffic=True))
        for comp in config.components:
            health = self._health.get(comp.id)
            if health is None:
                self._health[comp.id] = ComponentHealth(comp.policy, rate=self._rates[comp.id])
                self._shown[comp.id] = OP
            else:
                health.reconfigure(comp.policy)
                health.set_rate(self._rates[comp.id])
            if comp.id in self.signals.only:  # its probes have no say: never a status
                self._health[comp.id] = ComponentHealth(comp.policy, rate=self._rates[comp.id])
        self._position = {cid: i for i, cid in enumerate(self._health)}
        self._maintenance = (0.0, 0.0, self._maintenance[2])  # maintenances may have changed
        self._reindex()
        self._check_component = {
            c.id: c.component
            for c in config.checks
            if c.component in ids and c.id not in self.signals.checks
        }
        self._checks_of: dict[str, list[str]] = {}
        for check_id, comp_id in self._check_component.items():
            self._checks_of.setdefault(comp_id, []).append(check_id)
        for comp_id, health in self._health.items():
            health.forget_checks(set(self._checks_of.get(comp_id, ())))
        self._canaries = frozenset(c.id for c in config.network.canaries)
        self.guard.reconfigure(
            self._check_component, hold_limit(config), [c.id for c in config.network.canaries]
        )
        self.book.reconfigure(config.incidents, self._names(config), self._groups(config))

    def _reindex(self) -> None:
        """Rebuild the derived sets from the tables (after a reconfigure or a state load)."""
        self._active = set(self._health)
        self._bad = {cid for cid, shown in self._shown.items() if bad(shown)}
        self._uncreated = {cid for cid in self._health if cid not in self._created}
        self._maintenance_moved &= self._active

    def reconfigure(self, config: Config, now: float) -> list[Effect]:
        """Swap the config: unchanged components keep their state, removed ones drop out."""
        self._apply_config(config)
        self._complete = True
        self._catch_up_reasons(self._bad)
        self._stepped_at = now
        return self._evaluate(now, list(self._health))

    # -- inputs --------------------------------------------------------------------------

    def observe(self, results: Sequence[ProbeResult], now: float) -> list[Effect]:
        """The results of one round of one check. O(1) amortized in checks and components.

        Only the components that recorded rounds are evaluated (time-driven changes of the
        others wait for `tick`, as they always did); the incident book steps only when a
        shown status changed or it has something due (`IncidentBook.due`): with unchanged
        statuses a step before `due` does nothing but refresh the failure reasons the book
        keeps for bad members. Those are brought up to date lazily, to exactly what a step
        on every call would have left (`_catch_up_reasons`: as of the previous call): for a
        component about to record a round, here; for all, at tick, reconfigure, to_state.
        """
        if not results:
            return []
        check_id = results[0].check_id
        if check_id in self.signals.checks:
            return self._traffic_round(self.signals.checks[check_id], results, now)
        component = self._check_component.get(check_id)
        if component in self.signals.only:
            return []  # traffic.mode traffic_only: the probes do not count
        if component is None:
            if check_id in self._canaries:
                return self._canary(check_id, results, now)
            return []
        policy = self._health[component].policy
        samples = [
            Sample(r.at, r.reason.value in policy.failure_reasons, r.duration, r.reason.value)
            for r in results
        ]
        quiet = self.guard.quiet
        verdict = self.guard.round(check_id, samples, min(r.at for r in results))
        if not (quiet and self.guard.quiet):
            self._tracks_unsure = True
        effects: list[Effect] = []
        if verdict.health is not None:
            effects.append(NetworkHealthChanged(verdict.health, now))
        touched = self._record_verdict(component, verdict)
        self._stepped_at = now
        changed = self._evaluate_some(now, touched)
        effects.extend(changed)
        due = self.book.due
        if changed or (due is not None and now >= due):
            effects.extend(self._step(now))
        return effects

    def _record_verdict(self, component: str, verdict: Verdict) -> list[str]:
        """Record the guard's rounds (reasons caught up first); the components touched,
        `component` first, in config order when more than one."""
        touched = [component]
        recorded = [
            (comp, r)
            for cid, r in verdict.record
            if (comp := self._check_component.get(cid)) is not None
        ]
        for comp, _ in recorded:
            if comp not in touched:
                touched.append(comp)
        self._catch_up_reasons([c for c in touched if c in self._bad])  # before the rounds
        for cid, round_samples in verdict.record:
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
        if len(touched) > 1:
            touched.sort(key=self._position.__getitem__)
        return touched

    def _traffic_round(
        self, component: str, results: Sequence[ProbeResult], now: float
    ) -> list[Effect]:
        """A round of real traffic: straight to the component's traffic health, never
        through the network guard (it is no evidence about prober's own network)."""
        if component in self._bad:
            self._catch_up_reasons([component])
        self.signals.record(component, results)
        self._stepped_at = now
        changed = self._evaluate_some(now, [component])
        due = self.book.due
        if changed or (due is not None and now >= due):
            changed.extend(self._step(now))
        return changed

    def traffic_no_data(self, component: str, now: float) -> list[Effect]:
        """The component's traffic signal has no data (Prometheus unreachable or erroring,
        too few requests): its traffic verdict is held as it is until data returns."""
        self.signals.no_data(component)
        self._dirty.add(component)
        return []

    def traffic_held(self, component: str) -> bool:
        return component in self.signals.held

    def _canary(self, check_id: str, results: Sequence[ProbeResult], now: float) -> list[Effect]:
        samples = [Sample(r.at, False, r.duration, r.reason.value) for r in results]
        quiet = self.guard.quiet
        verdict = self.guard.canary_round(check_id, samples, min(r.at for r in results))
        if not (quiet and self.guard.quiet):
            self._tracks_unsure = True
        effects: list[Effect] = []
        if verdict.health is not None:
            effects.append(NetworkHealthChanged(verdict.health, now))
        touched: list[str] = []
        for cid, round_samples in verdict.record:
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
                if comp not in touched:
                    touched.append(comp)
        if verdict.record or verdict.health is not None:
            self._catch_up_reasons(self._bad)
            self._stepped_at = now
            touched.sort(key=self._position.__getitem__)
            effects.extend(self._evaluate(now, touched))
        return effects

    def tick(self, now: float) -> list[Effect]:
        """Time-driven transitions: recovery, due updates, resolution, maintenance.

        Evaluates the components time alone may change (`_active`: not operational, any
        failure in the window, a latency rule, a recovery under way, or not yet evaluated
        while the network was down) and those whose maintenance membership flipped; an
        operational component without a failure in its window stays operational until its
        next round whatever the time (its window is pruned then). Then a full book step.
        """
        self._catch_up_reasons(self._bad)
        self._stepped_at = now
        was = self.guard.healthy
        network: list[Effect] = []
        if not self.guard.quiet:  # (a quiet guard's tick does nothing)
            self._tracks_unsure = True
        for cid, round_samples in self.guard.tick(now):
            comp = self._check_component.get(cid)
            if comp is not None:
                self._health[comp].record_round(round_samples, cid)
                self._active.add(comp)
        if self.guard.healthy is not was:
            network.append(NetworkHealthChanged(self.guard.healthy, now))
        self._in_maintenance(now)
        due = self._active | self._maintenance_moved
        self._maintenance_moved = set()
        if self._uncreated:
            for cid in self._uncreated:
                self._created.setdefault(cid, now)
            self._dirty.update(self._uncreated)
            self._uncreated = set()
        return network + self._evaluate(now, sorted(due, key=self._position.__getitem__))

    def post_update(
        self,
        incident_id: str,
        now: float,
        status: IncidentStatus | None = None,
        body: str = "",
        impact: Impact | None = None,
    ) -> list[Effect]:
        """A human update. KeyError: unknown id; ValueError: resolved or a bad status."""
        return self.book.post_update(incident_id, now, status, body, impact)

    # -- the step ------------------------------------------------------------------------

    def _evaluate(self, now: float, components: Sequence[str]) -> list[Effect]:
        """Evaluate `components`, then a full incident book step: O(components)."""
        effects = self._evaluate_some(now, components)
        effects.extend(self._step(now))
        return effects

    def _evaluate_some(self, now: float, components: Sequence[str]) -> list[Effect]:
        effects: list[Effect] = []
        in_maintenance = self._in_maintenance(now)
        healthy = self.guard.state != LOST
        self._dirty.update(components)
        for cid in components:
            if cid not in self._created:
                self._created[cid] = now
                self._uncreated.discard(cid)
            health = self._health[cid]
            traffic = self.signals.health.get(cid)
            if healthy:
                health.evaluate(now)
                settled = health.settled()
                if not self.signals.evaluate(cid, now):  # held: as it was
                    settled = False
                if settled:
                    self._active.discard(cid)
                else:
                    self._active.add(cid)
            else:
                self._active.add(cid)  # not evaluated while the network is down: later
            status = signal.status(health, traffic)
            shown = ComponentStatus.UNDER_MAINTENANCE if cid in in_maintenance else status
            old = self._shown.get(cid, OP)
            if shown is not old:
                self._shown[cid] = shown
                self._updated[cid] = now
                if bad(shown):
                    self._bad.add(cid)
                else:
                    self._bad.discard(cid)
                ratio = signal.driver(health, traffic).window.counts(now).ratio
                effects.append(ComponentStateChanged(cid, old, shown, now, ratio))
        return effects

    def _step(self, now: float) -> list[Effect]:
        """A book step: O(bad components + open incidents), not O(components)."""
        order = sorted(self._bad, key=self._position.__getitem__)
        starts = {
            cid: signal.episode_start(self._health[cid], self.signals.health.get(cid))
            for cid in order
        }
        reasons = {cid: self._reasons(cid, now) for cid in order}
        return self.book.step(self._shown, starts, reasons, now, order, self._recovered)

    def _recovered(self, component: str) -> float | None:
        health = self._health.get(component)
        if health is None:
            return None
        return signal.recovered_at(health, self.signals.health.get(component))

    def _reasons(self, component: str, now: float) -> dict[str, int]:
        return signal.reasons(self._health[component], self.signals.health.get(component), now)

    def _catch_up_reasons(self, components: Iterable[str]) -> None:
        """Give the book the failure reasons of these (bad) components as of the last call
        that stepped or could have: what a book step on every call would hold."""
        at = self._stepped_at
        if at is None:
            return
        for cid in components:
            if self.book.incident_of_member(cid) is not None:
                self.book.note_reasons(cid, self._reasons(cid, at))

    def _in_maintenance(self, now: float) -> frozenset[str]:
        """Components in maintenance at `now`, recomputed only when it may have changed."""
        since, until, comps = self._maintenance
        if since <= now < until:
            return comps
        comps, until = maintenance.components_in_maintenance_until(self._all_maintenances(), now)
        self._maintenance_moved.update(
            c for c in comps.symmetric_difference(self._maintenance[2]) if c in self._health
        )
        self._maintenance = (now, until, comps)
        return comps

    def _all_maintenances(self) -> tuple[Maintenance, ...]:
        return (*self.config.maintenances, *self.desk.maintenances())

    def maintenances_changed(self, now: float) -> list[Effect]:
        """After a person changed the desk: re-evaluate who is in maintenance, at once."""
        self._maintenance = (0.0, 0.0, self._maintenance[2])
        return self.tick(now)
