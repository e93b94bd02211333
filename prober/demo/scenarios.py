"""Scenarios for the simulated SaaS API: pure, deterministic functions of elapsed time.

A `Scenario` is a cycle of `Phase`s. `scenario.behaviour(elapsed, component)` gives the
`Behaviour` of one component `elapsed` seconds after the scenario (re)started: the share of
health requests answered 500 (`failure`) and extra latency in seconds (`latency`). Nothing
here reads a clock or draws random numbers; `prober.demo.sim` turns shares into answers.

Component ids are the fixed ones of the example checks.yaml (see `COMPONENTS`).

The "seed" scenario replays the Clerk incident of 2026-05-26 (67 minutes from first update
to resolution, see /work/shared/seed) on a compressed clock. At the default
``time_scale=1.0`` one cycle lasts 240 s; ``time_scale`` multiplies every duration (0.5 gives
a 2-minute cycle, 15 roughly the real hour). Timeline at scale 1.0 (seconds into the cycle):

    0-20    onset             platform-api, user-auth, session-management: 15% 500s
                              ("elevated 500s affecting a subset of our API responses")
    20-45   spreading         all 12 components: 15% 500s (degraded performance)
    45-75   dashboard_outage  dashboard 40% 500s (partial outage), the others 15%
    75-110  auth_outage       dashboard and user-auth 40% (partial outage), the others 15%
    110-130 fix               "rapid decline in error rates": every rate falls linearly
                              from its auth_outage value to 0 over the phase
    130-170 monitoring        0% everywhere: prober's windows drain, components return to
                              operational, the incident moves to monitoring
    170-200 resolved          0%: the incident resolves once incidents.quiet_period passes
    200-240 quiet             0%: a quiet spell, then the cycle repeats from onset

With prober's default thresholds (degraded 5%, partial 25%, major 50%) 15% reads as
degraded_performance and 40% as partial_outage. The 110 s without errors (130-240) are
meant for a demo config with a short sliding window (status.window 30 s, at most 60 s),
status.recovery_time ~10 s and incidents.quiet_period ~30 s: window drain + recovery +
quiet period fit inside it (window 30 s: operational near 165 s, resolved near 195 s;
window 60 s: resolved near 225 s). A window of 30 s also lets the 40% shares lift the
windowed ratio over 25% within ~12 s of each partial-outage phase starting.
Prober's default quiet_period (600 s) does not fit a 4-minute cycle; with prober's
defaults (window 300 s, quiet_period 600 s) use ``time_scale >= 9``
(110 s x 9 covers 300 s of window + 60 s of recovery + 600 s of quiet period).

Other scenarios, mostly for end-to-end tests:
    healthy   every component 0% 500s
    outage    every component 100% 500s
    partial   platform-api 30% 500s, the others healthy
    flapping  platform-api alternates 30% (first 20 s) and 0% (next 20 s)
    slow      platform-api answers 200 after 1.5 s of extra latency (not scaled)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# (id, name, group): the demo's components, in page order.
COMPONENTS: tuple[tuple[str, str, str], ...] = (
    ("platform-api", "Platform API", "Core"),
    ("user-auth", "User and authentication", "Core"),
    ("session-management", "Session management", "Core"),
    ("machine-auth", "Machine authentication", "Core"),
    ("scim", "SCIM", "Core"),
    ("dashboard", "Dashboard", "Product"),
    ("account-portal", "Account Portal", "Product"),
    ("b2b-saas", "B2B SaaS", "Product"),
    ("billing", "Billing", "Product"),
    ("webhooks", "Webhooks", "Delivery"),
    ("email-delivery", "Email delivery", "Delivery"),
    ("sms-delivery", "SMS delivery", "Delivery"),
)
COMPONENT_IDS: tuple[str, ...] = tuple(c[0] for c in COMPONENTS)

SEED_DEGRADED = 0.15  # share of 500s for a degraded component in the seed replay
SEED_PARTIAL = 0.40  # share of 500s for a component in partial outage
SLOW_LATENCY = 1.5  # seconds of extra latency in the "slow" scenario


@dataclass(frozen=True)
class Behaviour:
    """What one component does at one moment: share of 500s and extra latency (s)."""

    failure: float = 0.0
    latency: float = 0.0


HEALTHY = Behaviour()


def _frozen(m: Mapping[str, Behaviour]) -> Mapping[str, Behaviour]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class Phase:
    """A stretch of a scenario. Components not in `components` are healthy.

    With `decline` set, each failure share falls linearly from its value at the start of
    the phase to 0 at its end (latency stays as given).
    """

    name: str
    duration: float  # seconds at time_scale 1.0
    description: str
    components: Mapping[str, Behaviour] = field(default_factory=lambda: _frozen({}))
    decline: bool = False

    def behaviour(self, offset: float, component: str) -> Behaviour:
        b = self.components.get(component, HEALTHY)
        if not self.decline or self.duration <= 0:
            return b
        left = max(0.0, 1.0 - offset / self.duration)
        return Behaviour(failure=b.failure * left, latency=b.latency)


@dataclass(frozen=True)
class PhaseAt:
    """Where a moment falls in a scenario: the phase, its index and its span in the cycle."""

    phase: Phase
    index: int
    cycle: int  # how many whole cycles have passed
    start: float  # seconds into the current cycle (scaled)
    end: float
    offset: float  # seconds into the phase (scaled)

    @property
    def name(self) -> str:
        return self.phase.name


@dataclass(frozen=True)
class Scenario:
    """A named cycle of phases; `time_scale` multiplies every phase duration."""

    name: str
    description: str
    phases: tuple[Phase, ...]
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("a scenario needs at least one phase")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if any(p.duration <= 0 for p in self.phases):
            raise ValueError("phase durations must be positive")

    @property
    def cycle(self) -> float:
        """Length of one cycle in (scaled) seconds."""
        return sum(p.duration for p in self.phases) * self.time_scale

    def scaled(self, time_scale: float) -> Scenario:
        return Scenario(self.name, self.description, self.phases, time_scale)

    def phase_at(self, elapsed: float) -> PhaseAt:
        elapsed = max(0.0, elapsed)
        cycle_no, into = divmod(elapsed, self.cycle)
        start = 0.0
        for index, phase in enumerate(self.phases):
            end = start + phase.duration * self.time_scale
            if into < end or index == len(self.phases) - 1:
                return PhaseAt(phase, index, int(cycle_no), start, end, into - start)
            start = end
        raise AssertionError("unreachable")  # pragma: no cover

    def behaviour(self, elapsed: float, component: str) -> Behaviour:
        at = self.phase_at(elapsed)
        return at.phase.behaviour(at.offset / self.time_scale, component)

    def failing(self, elapsed: float, at_least: float = 1e-9) -> frozenset[str]:
        """Components whose failure share at `elapsed` is at least `at_least`."""
        return frozenset(c for c in COMPONENT_IDS if self.behaviour(elapsed, c).failure >= at_least)


def _all(b: Behaviour) -> dict[str, Behaviour]:
    return dict.fromkeys(COMPONENT_IDS, b)


def _seed() -> Scenario:
    degraded = Behaviour(failure=SEED_DEGRADED)
    partial = Behaviour(failure=SEED_PARTIAL)
    onset = {c: degraded for c in ("platform-api", "user-auth", "session-management")}
    dashboard = {**_all(degraded), "dashboard": partial}
    auth = {**dashboard, "user-auth": partial}
    return Scenario(
        "seed",
        "The Clerk incident of 2026-05-26 replayed: elevated 500s spread to every "
        "component, dashboard and user-auth reach partial outage, a fix, recovery, quiet.",
        (
            Phase("onset", 20, "Elevated 500s on a subset of API requests", _frozen(onset)),
            Phase("spreading", 25, "500s spread to every component", _frozen(_all(degraded))),
            Phase("dashboard_outage", 30, "Dashboard in partial outage", _frozen(dashboard)),
            Phase("auth_outage", 35, "Dashboard and user-auth in partial outage", _frozen(auth)),
            Phase("fix", 20, "Fix deployed: rapid decline in error rates", _frozen(auth), True),
            Phase("monitoring", 40, "Errors stopped: components recover, incident monitoring"),
            Phase("resolved", 30, "Still no errors: the incident resolves after quiet_period"),
            Phase("quiet", 40, "A quiet spell before the episode repeats"),
        ),
    )


def _single(name: str, description: str, components: Mapping[str, Behaviour]) -> Scenario:
    return Scenario(name, description, (Phase(name, 60, description, _frozen(components)),))


def _flapping() -> Scenario:
    bad = _frozen({"platform-api": Behaviour(failure=0.30)})
    return Scenario(
        "flapping",
        "platform-api alternates between 30% and 0% 500s every 20 s",
        (
            Phase("failing", 20, "platform-api answers 30% 500s", bad),
            Phase("recovered", 20, "platform-api healthy"),
        ),
    )


def _build() -> dict[str, Scenario]:
    scenarios = (
        _seed(),
        _single("healthy", "Every component answers 200", {}),
        _single("outage", "Every component answers 500", _all(Behaviour(failure=1.0))),
        _single(
            "partial", "platform-api answers 30% 500s", {"platform-api": Behaviour(failure=0.3)}
        ),
        _flapping(),
        _single(
            "slow",
            f"platform-api answers after {SLOW_LATENCY:g} s of extra latency",
            {"platform-api": Behaviour(latency=SLOW_LATENCY)},
        ),
    )
    return {s.name: s for s in scenarios}


SCENARIOS: Mapping[str, Scenario] = MappingProxyType(_build())


def get_scenario(name: str, time_scale: float = 1.0) -> Scenario:
    """The scenario called `name` with its durations multiplied by `time_scale`.

    Raises KeyError (with the known names) for an unknown name, ValueError for a
    non-positive scale.
    """
    try:
        base = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    return base.scaled(time_scale)
