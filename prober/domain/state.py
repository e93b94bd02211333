"""Component health: a status derived from the probe window, with hysteresis.

The rule (documented here, it is what a status means):

* Windows. The component's samples sit in a bucketed window of `policy.window` seconds
  (window.py). Its status is judged on nested trailing windows: the last 2, 4, 8, ...
  buckets (10 s, 20 s, 40 s, ... with 5 s buckets) and the whole window. A burst of
  failures after hours of health is thus seen at once, not diluted by the healthy past.
* A trailing window *supports* level L (degraded 5%, partial 25%, major 50% by default)
  at factor f when it holds at least `min_samples` samples, its failure ratio
  p >= f * t_L, and the failures are significant: under a true failure rate of
  f * t_L * m, with m = (1 + exit_factor) / 2 (0.75: halfway between the exit level and
  the threshold), seeing as many failures would have probability <= ALPHA (exact
  binomial tail, ALPHA = 1e-3). The guard is what keeps noise out: one failed probe
  among hundreds, or 0.5% random failures, never reach a status (5 failures in 20
  samples are the least that count, 30 in 600), and a steady 30% of failures supports
  `degraded_performance` from 20 samples (the second round at 10 requests per round)
  and `partial_outage` within a few minutes, but practically never `major_outage`
  (which hysteresis would then hold).
* Escalation is immediate: the status rises to the highest level any trailing window
  supports at f = 1. Fast path: when every check of the component failed every probe
  of its last `failing_rounds_for_major` rounds, the status is `major_outage` at once,
  whatever `min_samples` says (so a total outage reaches it within two intervals, while
  one broken check among several is judged by the ratio rule alone).
* Latency: with `latency_threshold` set and `min_samples` samples in the window, a
  `latency_percentile` above the bound gives at least `degraded_performance`.
* De-escalation: the status is *held* at the highest level supported at
  f = exit_factor (or by the fast path, or by latency). Only when the held level has
  stayed below the current status for `recovery_time` does the status drop, straight
  to the held level.
* Episode start: when the component leaves `operational`, `episode_start` is the first
  failing probe of the shortest trailing window that supported the escalation (or of
  the first all-failing round for the fast path): the true start of the bad streak,
  not the moment a threshold was crossed. It is cleared when the component is back
  to `operational`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from prober.config.model import StatusPolicy
from prober.domain.status import ComponentStatus
from prober.domain.window import Counts, Window

ALPHA = 1e-3

OP = ComponentStatus.OPERATIONAL
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
MAJOR = ComponentStatus.MAJOR_OUTAGE

# Severity order for health statuses (under_maintenance is an overlay, never derived here).
SEVERITY: dict[ComponentStatus, int] = {
    OP: 0,
    ComponentStatus.UNDER_MAINTENANCE: 0,
    DEGRADED: 1,
    PARTIAL: 2,
    MAJOR: 3,
}


def worse(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus:
    return a if SEVERITY[a] >= SEVERITY[b] else b


class Sample(NamedTuple):
    """One probe as the window sees it."""

    at: float
    failed: bool
    latency: float | None
    reason: str = ""


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p); 1.0 when k is at or below the mean (not a tail)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0 or k <= n * p:
        return 1.0
    log_term = (
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + (n - k) * math.log1p(-p)
    )
    term = math.exp(log_term)
    total = term
    odds = p / (1.0 - p)
    i = k
    while i < n and i < k + 100_000:
        term *= (n - i) / (i + 1) * odds
        i += 1
        total += term
        if term <= total * 1e-12:
            break
    return min(1.0, total)


def _thresholds(policy: StatusPolicy) -> tuple[tuple[ComponentStatus, float], ...]:
    return ((MAJOR, policy.major), (PARTIAL, policy.partial), (DEGRADED, policy.degraded))


def supported_level(counts: Counts, policy: StatusPolicy, factor: float) -> ComponentStatus:
    """The highest level this window supports at `factor` (see the module docstring)."""
    if counts.total < max(1, policy.min_samples) or counts.failures == 0:
        return OP
    ratio = counts.ratio
    for status, threshold in _thresholds(policy):
        bar = threshold * factor
        if bar <= 0 or ratio < bar:
            continue
        null = bar * (1.0 + policy.exit_factor) / 2.0
        if binom_sf(counts.failures, counts.total, null) <= ALPHA:
            return status
    return OP


@dataclass(frozen=True, slots=True)
class Assessment:
    escalate: ComponentStatus  # the level to rise to now
    hold: ComponentStatus  # the level the evidence still holds (for de-escalation)
    onset: float | None  # first failing probe of the window that supported escalation
    ratio: float  # failure ratio over the whole window
    samples: int
    latency: float | None  # latency percentile over the window (with latency_threshold)


def assess(
    window: Window,
    policy: StatusPolicy,
    now: float,
    failing_rounds: int = 0,
    all_fail_since: float | None = None,
) -> Assessment:
    escalate = hold = OP
    onset: float | None = None
    suffixes = window.suffixes(now)
    for counts in suffixes:
        level = supported_level(counts, policy, 1.0)
        if level is not OP and onset is None:
            onset = counts.first_failure_at
        escalate = worse(escalate, level)
        hold = worse(hold, supported_level(counts, policy, policy.exit_factor))
    whole = suffixes[-1]
    if failing_rounds >= max(1, policy.failing_rounds_for_major):
        escalate = hold = MAJOR
        if all_fail_since is not None:
            onset = all_fail_since if onset is None else min(onset, all_fail_since)
    latency = None
    if policy.latency_threshold is not None:
        latency = window.percentile(now, policy.latency_percentile)
    if (
        policy.latency_threshold is not None
        and latency is not None
        and whole.total >= policy.min_samples
        and latency > policy.latency_threshold
    ):
        escalate = worse(escalate, DEGRADED)
        hold = worse(hold, DEGRADED)
    hold = worse(hold, escalate)
    return Assessment(escalate, hold, onset, whole.ratio, whole.total, latency)


class ComponentHealth:
    """Mutable health of one component: its window, status and hysteresis counters."""

    def __init__(self, policy: StatusPolicy, window: Window | None = None) -> None:
        self.policy = policy
        self.window = window or Window(policy.window)
        self.status: ComponentStatus = OP
        self.changed_at: float | None = None
        self.calm_since: float | None = None  # held level below status since
        # check id -> (consecutive rounds where every probe failed, first failure of those)
        self.streaks: dict[str, tuple[int, float]] = {}
        self.failing_rounds = 0  # the smallest streak over the checks (see record_round)
        self.all_fail_since: float | None = None
        self.episode_start: float | None = None
        self._cache: tuple[tuple[int, int, int], Assessment] | None = None

    def record_round(self, samples: Sequence[Sample], check: str = "") -> None:
        """One round of one check. The fast path counts, per check, the consecutive rounds
        in which every probe failed; the component's count is the smallest over the checks
        that have reported, so it is `failing_rounds_for_major` only when EVERY check of the
        component failed its last rounds (one broken check among many is no total outage)."""
        if not samples:
            return
        for s in samples:
            self.window.add(s.at, s.failed, s.latency, s.reason)
        if all(s.failed for s in samples):
            n, since = self.streaks.get(check, (0, 0.0))
            self.streaks[check] = (n + 1, since if n else min(s.at for s in samples))
        else:
            self.streaks[check] = (0, 0.0)
        self._fast_path()

    def forget_checks(self, keep: set[str]) -> None:
        """After a reload: streaks of checks no longer in this component are dropped."""
        self.streaks = {c: v for c, v in self.streaks.items() if c in keep}
        self._fast_path()

    def _fast_path(self) -> None:
        streaks = self.streaks.values()
        if streaks and all(n > 0 for n, _ in streaks):
            self.failing_rounds = min(n for n, _ in streaks)
            self.all_fail_since = min(since for _, since in streaks)
        else:
            self.failing_rounds = 0
            self.all_fail_since = None

    def assess(self, now: float) -> Assessment:
        # The verdict only changes with the window's content or when time enters a new
        # bucket: cache it on both, so a tick every second costs almost nothing.
        key = (self.window.version, math.floor(now / self.window.width), self.failing_rounds)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        a = assess(self.window, self.policy, now, self.failing_rounds, self.all_fail_since)
        self._cache = (key, a)
        return a

    def _quiet(self) -> bool:
        return (
            self.window.failures_held == 0
            and self.policy.latency_threshold is None
            and self.failing_rounds < max(1, self.policy.failing_rounds_for_major)
        )

    def settled(self) -> bool:
        """Operational with nothing that time alone could change: `evaluate` is a no-op
        until the next recorded round (but for pruning, which no query can see)."""
        return self.status is OP and self.calm_since is None and self._quiet()

    def evaluate(self, now: float) -> tuple[ComponentStatus, ComponentStatus] | None:
        """Apply the hysteresis rule at `now`; (old, new) when the status changed."""
        self.window.prune(now)
        if self._quiet():
            # No failure held, no latency rule, no fast path: every trailing window
            # supports nothing, so the assessment is operational without walking buckets.
            escalate = hold = OP
            onset: float | None = None
        else:
            a = self.assess(now)
            escalate, hold, onset = a.escalate, a.hold, a.onset
        old = self.status
        if SEVERITY[escalate] > SEVERITY[old]:
            self.status = escalate
            self.calm_since = None
            if old is OP or self.episode_start is None:
                self.episode_start = onset if onset is not None else now
        elif SEVERITY[hold] < SEVERITY[old]:
            if self.calm_since is None:
                self.calm_since = now
            if now - self.calm_since >= self.policy.recovery_time:
                self.status = hold
                self.calm_since = None
        else:
            self.calm_since = None
        if self.status is OP:
            self.episode_start = None
        if self.status is old:
            return None
        self.changed_at = now
        return old, self.status

    def reconfigure(self, policy: StatusPolicy) -> None:
        self.window = _rewindow(self.window, policy.window)
        self.policy = policy
        self._cache = None

    def to_state(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changed_at": self.changed_at,
            "calm_since": self.calm_since,
            "streaks": {c: [n, since] for c, (n, since) in self.streaks.items()},
            "episode_start": self.episode_start,
            "window": self.window.to_state(),
        }

    @classmethod
    def from_state(cls, policy: StatusPolicy, data: dict[str, Any]) -> ComponentHealth:
        window = Window.from_state(data["window"])
        health = cls(policy, window)
        health.status = ComponentStatus(data["status"])
        health.changed_at = data.get("changed_at")
        health.calm_since = data.get("calm_since")
        health.streaks = {c: (int(n), float(since))
                          for c, (n, since) in data.get("streaks", {}).items()}
        if "streaks" not in data and data.get("failing_rounds"):  # state from before streaks
            health.streaks = {"": (int(data["failing_rounds"]), data.get("all_fail_since") or 0.0)}
        health._fast_path()
        health.episode_start = data.get("episode_start")
        health.window = _rewindow(window, policy.window)
        return health


def _rewindow(window: Window, span: float) -> Window:
    """The window for a new span: buckets kept when the bucket width stays the same."""
    if span == window.span:
        return window
    fresh = Window(span)
    if fresh.width == window.width:
        return Window.from_state({**window.to_state(), "span": span})
    return fresh
