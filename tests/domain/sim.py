"""A simulated clock for the domain: just a float advanced by hand, and probe rounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from prober.config.model import (
    CANARY_COMPONENT,
    Check,
    Component,
    Config,
    IncidentPolicy,
    Maintenance,
    Network,
    Page,
    StatusPolicy,
)
from prober.confirm import CONFIRM_PROBES, Confirmer, confirm_gap
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
    NetworkHealthChanged,
)
from prober.domain.engine import Engine
from prober.probes.result import ProbeResult, Reason

T0 = datetime(2026, 5, 26, 21, 0, tzinfo=UTC).timestamp()

# Behaviour of a check: (check id, time of the round, index in the round) -> Reason
Behaviour = Callable[[str, float, int], Reason]


def ok(check: str, at: float, i: int) -> Reason:
    return Reason.OK


def make_config(
    components: Sequence[tuple[str, str]] = (("api", "Platform API"),),
    interval: float = 5.0,
    requests_per_round: int = 10,
    policy: StatusPolicy | None = None,
    incidents: IncidentPolicy | None = None,
    maintenances: Sequence[Maintenance] = (),
    groups: dict[str, str] | None = None,
    canaries: int = 0,
    intervals: dict[str, float] | None = None,
) -> Config:
    pol = policy or StatusPolicy()
    comps = tuple(
        Component(id=cid, name=name, policy=pol, group=(groups or {}).get(cid))
        for cid, name in components
    )
    checks = tuple(
        Check(
            id=f"{cid}-check",
            component=cid,
            url=f"http://127.0.0.1/{cid}",
            interval=(intervals or {}).get(cid, interval),
            timeout=min(5.0, (intervals or {}).get(cid, interval)),
            requests_per_round=requests_per_round,
        )
        for cid, _ in components
    )
    canary_checks = tuple(
        Check(
            id=f"{CANARY_COMPONENT}-canary-{i}",
            component=CANARY_COMPONENT,
            url=f"http://127.0.0.2/{i}",
            interval=10.0,
            timeout=5.0,
        )
        for i in range(canaries)
    )
    return Config(
        page=Page(name="Test"),
        components=comps,
        checks=checks,
        maintenances=tuple(maintenances),
        incidents=incidents or IncidentPolicy(),
        network=Network(canary_checks),
    )


class Sim:
    """Drives an Engine with rounds at each check's interval and a tick every `tick_every`."""

    def __init__(
        self,
        config: Config,
        start: float = T0,
        engine: Engine | None = None,
        confirm: int = CONFIRM_PROBES,
    ) -> None:
        self.config = config
        self.engine = engine or Engine(config)
        self.now = start
        self.effects: list[Effect] = []
        # Confirmation rounds as the runner sends them (prober/confirm.py), at the gap
        # without jitter: the engine in production always gets them; 0 turns them off.
        self.confirm = confirm
        self.confirmers = {c.id: Confirmer(confirm) for c in config.probed}
        self.pending: dict[str, list[float]] = {c.id: [] for c in config.probed}
        # Stagger checks inside the interval, as the runner's jitter does (deterministic).
        self.next_due = {c.id: start + (i * 0.37) % c.interval for i, c in enumerate(config.probed)}

    def round(
        self, check_id: str, reasons: Sequence[Reason], at: float | None = None
    ) -> list[Effect]:
        check = next(c for c in self.config.probed if c.id == check_id)
        at = self.now if at is None else at
        results = [
            ProbeResult(
                check_id=check.id,
                component=check.component,
                at=at,
                reason=r,
                duration=check.timeout if r is Reason.TIMEOUT else 0.05,
                status_code=500 if r is Reason.HTTP_5XX else (200 if r is Reason.OK else None),
            )
            for r in reasons
        ]
        out = self.engine.observe(results, at)
        self.effects.extend(out)
        return out

    def run(
        self,
        seconds: float,
        behaviour: Behaviour = ok,
        tick_every: float = 1.0,
        stop: Callable[[list[Effect]], bool] | None = None,
    ) -> list[Effect]:
        """Advance `seconds` of simulated time; rounds fall due by each check's interval."""
        out: list[Effect] = []
        step = min([tick_every, *(c.interval for c in self.config.probed)])
        steps = int(seconds / step + 1e-9)
        for _ in range(steps):  # bounded
            self.now = round(self.now + step, 6)
            for check in self.config.probed:
                pending = self.pending.get(check.id, [])
                while min([self.next_due[check.id], *pending[:1]]) <= self.now:  # bounded
                    confirmation = bool(pending) and pending[0] < self.next_due[check.id]
                    at = pending.pop(0) if confirmation else self.next_due[check.id]
                    reasons = [behaviour(check.id, at, i) for i in range(check.requests_per_round)]
                    out.extend(self.round(check.id, reasons, at=at))
                    if not confirmation:
                        self.next_due[check.id] = at + check.interval
                    self._confirm(check, reasons, at, confirmation)
            ticked = self.engine.tick(self.now)
            self.effects.extend(ticked)
            out.extend(ticked)
            if stop is not None and stop(out):
                break
        return out

    def _confirm(self, check: Check, reasons: list[Reason], at: float, again: bool) -> None:
        confirmer = self.confirmers.get(check.id)
        if confirmer is None or not reasons:
            return
        down = all(r is not Reason.OK for r in reasons)
        more = confirmer.take() if again else False
        started = confirmer.after(down, again)
        if confirmer.direction is None:
            self.pending[check.id].clear()
        elif started or more:
            gap = confirm_gap(check.interval, max(1, self.confirm))
            when = round(at + gap, 6)
            if abs(when - self.next_due[check.id]) < gap / 2.0:
                when = round(self.next_due[check.id] + gap, 6)  # as the runner
            self.pending[check.id].append(when)
            self.pending[check.id].sort()

    def tick(self, seconds: float = 0.0) -> list[Effect]:
        self.now += seconds
        out = self.engine.tick(self.now)
        self.effects.extend(out)
        return out


def of_type(effects: Sequence[Effect], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in effects if isinstance(e, kind)]


def opened(effects: Sequence[Effect]) -> list[IncidentOpened]:
    return of_type(effects, IncidentOpened)


def updated(effects: Sequence[Effect]) -> list[IncidentUpdated]:
    return of_type(effects, IncidentUpdated)


def resolved(effects: Sequence[Effect]) -> list[IncidentResolved]:
    return of_type(effects, IncidentResolved)


def changes(effects: Sequence[Effect], component: str | None = None) -> list[ComponentStateChanged]:
    return [
        e
        for e in of_type(effects, ComponentStateChanged)
        if component is None or e.component == component
    ]


def network(effects: Sequence[Effect]) -> list[NetworkHealthChanged]:
    return of_type(effects, NetworkHealthChanged)


def failing(
    reason: Reason, since: float, until: float = float("inf"), checks: Sequence[str] | None = None
) -> Behaviour:
    """Every probe of `checks` (all by default) fails with `reason` in [since, until)."""

    def behave(check: str, at: float, i: int) -> Reason:
        hit = since <= at < until and (checks is None or check in checks)
        return reason if hit else Reason.OK

    return behave


TWO_COMPONENTS = (("api", "Platform API"), ("web", "Dashboard"))
