"""Component health: a status derived from sequential evidence, with symmetric exits.

The rule (documented here, it is what a status means; the statistics are in detector.py):

* Escalation: per level (degraded 5%, partial 25%, major 50% by default) CUSUM arms on
  the component's probes reach the level when their evidence passes the decision bound
  h, set from the component's probe rate so that a true rate of 0.8 times the threshold
  raises a false alarm about once per 30 days (ARL). The status rises to the highest
  level reached. A steady rate is shown at the level whose band holds it.
* Fast path: when every check of the component failed every probe of its last
  `failing_rounds_for_major` rounds and that is evidence enough, the status is
  `major_outage` at once (the rule in full: levels.py, `fast_major`).
* Latency: with `latency_threshold`, a round is slow when more than 1 -
  `latency_percentile` of its samples are slower than the bound; the share of slow
  rounds is tested the same way against 1 - `latency_percentile`: sustained slowness
  (about ten slow rounds in a row at the defaults) gives at least
  `degraded_performance`; one slow round never does.
* Exit (symmetric): the end test, or without an episode rate the trailing windows, let
  levels go after `recovery_time`; the status drops straight to the highest level not
  left (the rule in full: levels.py, `exits`).
* Episode start: when the component leaves `operational`, `episode_start` is the first
  failing probe of the excursion that crossed h (or of the first all-failing round for
  the fast path). `last_failure_at` is the latest failing probe. `recovered_at`, set when the
  component is back to `operational`, is the first round without a failure after the
  episode's last failing probe (the first evidence of recovery, as the start is the first
  evidence of failure: the recorded duration is off by less than one interval either
  way); when the calm tolerated a few failures, the last of them before the calm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from prober.domain.detector import NEAR, Cusums, EndTest, decision_bound
from prober.domain.levels import (
    DEGRADED,
    LEVELS,
    MAJOR,
    OP,
    PARTIAL,
    SEVERITY,
    WANT_END,
    WANT_EVIDENCE,
    WANT_NONE,
    Assessment,
    _thresholds,
    exits,
    fast_major,
    recovery_instant,
    worse,
)
from prober.domain.policy import StatusPolicy
from prober.domain.status import ComponentStatus
from prober.domain.window import Window

# re-exported from levels.py (their home before the split)
__all__ = ["DEGRADED", "LEVELS", "MAJOR", "OP", "PARTIAL", "SEVERITY", "Assessment", "exits"]
__all__ += ["DEFAULT_RATE", "ComponentHealth", "Sample", "worse"]

DEFAULT_RATE = 1.0 / 15.0  # samples per second when the engine has not said (one check)


class Sample(NamedTuple):
    """One probe as the window sees it."""

    at: float
    failed: bool
    latency: float | None
    reason: str = ""


class ComponentHealth:
    """Mutable health of one component: its window, evidence, status and hysteresis."""

    def __init__(
        self, policy: StatusPolicy, window: Window | None = None, rate: float = DEFAULT_RATE
    ) -> None:
        self.policy = policy
        self.window = window or Window(policy.window)
        self.status: ComponentStatus = OP
        self.changed_at: float | None = None
        self.calm_since: float | None = None  # when the evidence last allowed a drop
        self.calm_to: ComponentStatus | None = None  # the level that calm would drop to
        # check id -> (consecutive rounds where every probe failed, first failure of
        # those, probes failed in them)
        self.streaks: dict[str, tuple[int, float, int]] = {}
        self.failing_rounds = 0  # the smallest streak over the checks (see record_round)
        self.streak_failures = 0  # probes failed in the component's streak
        self.all_fail_since: float | None = None
        self.episode_start: float | None = None
        self.last_failure_at: float | None = None
        self.recovered_at: float | None = None  # first success after the last episode
        self.end = EndTest(NEAR[0] * policy.degraded)
        self.rate = rate
        self.h = decision_bound(rate)
        self.errors = Cusums([t for _, t in _thresholds(policy)])
        self.slow = Cusums([1.0 - policy.latency_percentile])
        self._cache: tuple[tuple[int, int, int], Assessment] | None = None

    @property
    def min_samples(self) -> int:
        """`policy.min_samples`, capped at the probes the window can hold at this
        component's rate: a window too short for `min_samples` (one probe every 30 s in a
        5-minute window holds 10) would otherwise never let a level go, and an incident
        would stay open for ever."""
        capacity = int(self.rate * self.policy.window + 1e-9)
        return max(1, min(self.policy.min_samples, capacity))

    def set_rate(self, samples_per_second: float) -> None:
        """The component's probe rate, which sets the decision bound (see detector.py)."""
        self.rate = samples_per_second
        self.h = decision_bound(samples_per_second)
        self._cache = None

    def record_round(self, samples: Sequence[Sample], check: str = "") -> None:
        """One round of one check. The fast path counts, per check, the consecutive rounds
        in which every probe failed; the component's count is the smallest over the checks
        that have reported, so it is `failing_rounds_for_major` only when EVERY check of the
        component failed its last rounds (one broken check among many is no total outage)."""
        if not samples:
            return
        failed = 0
        first: float | None = None
        last: float | None = None
        for s in samples:
            self.window.add(s.at, s.failed, s.latency, s.reason)
            if s.failed:
                failed += 1
                if first is None or s.at < first:
                    first = s.at
                if last is None or s.at > last:
                    last = s.at
                if self.last_failure_at is None or s.at > self.last_failure_at:
                    self.last_failure_at = s.at
        cap = 3.0 * self.h
        # The end test (detector.EndTest): the episode's rate as of its last failure, and
        # the evidence of a change back, from the first success after a round's failures.
        # A success marks the calm's start when its answer came (start + duration): a request
        # sent into a hang and answered once the target is released shows the release, not
        # the moment it was sent (for an ordinary answer the two are milliseconds apart).
        if self.status is not OP:
            self.end.count(failed, len(samples))
            good = [
                s.at + (s.latency or 0.0)
                for s in samples
                if not s.failed and (last is None or s.at > last)
            ]
            self.end.add(failed, len(samples) - failed, min(good, default=None), cap)
        self.errors.add(failed, len(samples), first, cap)
        bound = self.policy.latency_threshold
        if bound is not None:
            # Latency is judged per round (samples of one round share one moment): a round
            # is slow when more of its samples than 1 - latency_percentile are slower.
            slow = [s.at for s in samples if s.latency is not None and s.latency > bound]
            is_slow = len(slow) > (1.0 - self.policy.latency_percentile) * len(samples)
            self.slow.add(int(is_slow), 1, min(slow, default=None), cap)
        if failed == len(samples):
            n, since, count = self.streaks.get(check, (0, 0.0, 0))
            self.streaks[check] = (
                n + 1,
                since if n else min(s.at for s in samples),
                count + failed,
            )
        else:
            self.streaks[check] = (0, 0.0, 0)
        self._fast_path()

    def forget_checks(self, keep: set[str]) -> None:
        """After a reload: streaks of checks no longer in this component are dropped."""
        self.streaks = {c: v for c, v in self.streaks.items() if c in keep}
        self._fast_path()

    def _fast_path(self) -> None:
        streaks = self.streaks.values()
        if streaks and all(n > 0 for n, _, _ in streaks):
            self.failing_rounds = min(n for n, _, _ in streaks)
            self.all_fail_since = min(since for _, since, _ in streaks)
            self.streak_failures = sum(c for _, _, c in streaks)
        else:
            self.failing_rounds = 0
            self.all_fail_since = None
            self.streak_failures = 0

    def _fast(self) -> bool:
        return fast_major(self.failing_rounds, self.streak_failures, self.policy, self.h)

    def assess(self, now: float) -> Assessment:
        # The verdict only changes with the window's content or when time enters a new
        # bucket: cache it on both, so a tick every second costs almost nothing.
        key = (self.window.version, math.floor(now / self.window.width), self.failing_rounds)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        a = self._assess(now)
        self._cache = (key, a)
        return a

    def _assess(self, now: float) -> Assessment:
        policy = self.policy
        top, onset = self.errors.reached(self.h)
        escalate = LEVELS[top]
        latency = None
        whole = self.window.counts(now)
        if policy.latency_threshold is not None:
            latency = window_latency = self.window.percentile(now, policy.latency_percentile)
            slow, slow_onset = self.slow.reached(self.h)
            if slow and SEVERITY[escalate] < SEVERITY[DEGRADED]:
                escalate, onset = DEGRADED, slow_onset
        else:
            window_latency = None
        if self._fast():
            escalate = MAJOR
            # a total outage starts at its first all-failing round, not at a noise failure
            # that lifted a CUSUM arm a round or two before it
            if self.all_fail_since is not None:
                onset = self.all_fail_since
        elif self.failing_rounds > 0 and self.status is OP:
            escalate, onset = OP, None  # an all-failing streak waits for the fast path
        # Exits only matter below the current status (the cache key holds no status: the
        # status only changes in `evaluate`, which drops the cache when it does).
        calm = exits(
            self.window,
            policy,
            now,
            self.status,
            self.min_samples,
            self._ended(),
            not self.end.applies(),
            not self.end.applies(),
        )
        hold = OP
        for status in (MAJOR, PARTIAL, DEGRADED):
            if SEVERITY[status] <= SEVERITY[self.status] and status not in calm:
                hold = status
                break
        if self._fast():
            hold = MAJOR
        if (
            window_latency is not None
            and policy.latency_threshold is not None
            and whole.total >= self.min_samples
            and window_latency > policy.latency_threshold
        ):
            hold = worse(hold, DEGRADED)
        return Assessment(escalate, hold, onset, whole.ratio, whole.total, latency, calm)

    def _episode_rate(self, at: float) -> None:
        """The end test's episode so far, at escalation: the window's buckets since the
        episode began (healthy probes before the start would make a short total outage
        look like a partial one)."""
        total = failures = 0
        since = self.episode_start
        for t, f, start in self.window.trailing(at):
            if since is not None and start + self.window.width <= since:
                break
            total, failures = t, f
        self.end.begin(failures, total)

    def _ended(self) -> float | None:
        """The calm's start when the end test says the episode is over, else None."""
        if self.status is OP or self.failing_rounds > 0:
            return None
        return self.end.over(self.h)

    def _quiet(self) -> bool:
        return (
            self.window.failures_held == 0
            and self.policy.latency_threshold is None
            and self.failing_rounds == 0
        )

    def undecided(self) -> int:
        """The statistics are in suspicion (truthy): WANT_END when an open episode's end
        test has begun to count and not decided, WANT_EVIDENCE when a failure CUSUM arm is
        above zero but below its bound, else WANT_NONE. More probes now decide sooner (see
        docs/DETECTION.md, adaptive sampling); the tests are per probe, so sampling faster
        while undecided does not change their error over time."""
        if self.status is not OP and self.end.applies() and 0.0 < self.end.s < self.h:
            return WANT_END
        if self.errors.undecided(self.h):
            return WANT_EVIDENCE
        return WANT_NONE

    def settled(self) -> bool:
        """Operational with nothing that time alone could change: `evaluate` is a no-op
        until the next recorded round (but for pruning, which no query can see)."""
        return self.status is OP and self._quiet()

    def evaluate(self, now: float) -> tuple[ComponentStatus, ComponentStatus] | None:
        """Apply the escalation and exit rules at `now`; (old, new) when it changed."""
        self.window.prune(now)
        old = self.status
        if old is OP and self._quiet():
            # No failure held, no latency rule, no streak: nothing can escalate (the
            # CUSUMs only rise with failures) without walking buckets.
            return None
        a = self.assess(now)
        escalate, hold = a.escalate, a.hold
        if SEVERITY[escalate] > SEVERITY[old]:
            self.status = escalate
            self.calm_since = self.calm_to = None
            self.end.reset()
            self.recovered_at = None
            if old is OP or self.episode_start is None:
                self.episode_start = a.onset if a.onset is not None else now
                self._episode_rate(now)
        elif SEVERITY[hold] < SEVERITY[old]:
            # Every level above `hold` is left (by construction of `hold`): the calm
            # began when the last of them did, by the evidence of the trailing windows.
            starts = [a.calm.get(s, now) for s in LEVELS[SEVERITY[hold] + 1 : SEVERITY[old] + 1]]
            start = min(now, max(starts))
            # The trailing windows reach back one window at most: while the calm towards
            # the same level lasts, keep its earliest start, or a recovery_time longer than
            # the window would never be reached (and the outage never end).
            if self.calm_since is not None and self.calm_to is hold:
                start = min(self.calm_since, start)
            self.calm_since, self.calm_to = start, hold
            if now - self.calm_since >= self.policy.recovery_time:
                if hold is OP:  # the first success after the episode's last failure
                    self.recovered_at = recovery_instant(
                        self.end, self.h, self.window, self.calm_since, self.last_failure_at
                    )
                self.status = hold
                self.calm_since = self.calm_to = None
                self.errors.reset_from(SEVERITY[hold])
                if hold is OP:
                    self.slow.reset_from(0)
        else:
            self.calm_since = self.calm_to = None
        if self.status is OP:
            self.episode_start = None
            self.end.reset()
        if self.status is old:
            return None
        self._cache = None
        self.changed_at = now
        return old, self.status

    def reconfigure(self, policy: StatusPolicy) -> None:
        self.window = _rewindow(self.window, policy.window)
        if _thresholds(policy) != _thresholds(self.policy):
            self.errors = Cusums([t for _, t in _thresholds(policy)])
        if policy.latency_percentile != self.policy.latency_percentile:
            self.slow = Cusums([1.0 - policy.latency_percentile])
        self.policy = policy
        self.end.base = min(0.5, max(1e-6, NEAR[0] * policy.degraded))
        self._cache = None

    def to_state(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changed_at": self.changed_at,
            "calm_since": self.calm_since,
            "calm_to": None if self.calm_to is None else self.calm_to.value,
            "streaks": {c: list(v) for c, v in self.streaks.items()},
            "episode_start": self.episode_start,
            "last_failure_at": self.last_failure_at,
            "recovered_at": self.recovered_at,
            "end": self.end.to_state(),
            "errors": self.errors.to_state(),
            "slow": self.slow.to_state(),
            "window": self.window.to_state(),
        }

    @classmethod
    def from_state(
        cls, policy: StatusPolicy, data: dict[str, Any], rate: float = DEFAULT_RATE
    ) -> ComponentHealth:
        window = Window.from_state(data["window"])
        health = cls(policy, window, rate)
        health.status = ComponentStatus(data["status"])
        health.changed_at = data.get("changed_at")
        health.calm_since = data.get("calm_since")
        calm_to = data.get("calm_to")
        health.calm_to = None if calm_to is None else ComponentStatus(calm_to)
        health.streaks = {
            c: (int(v[0]), float(v[1]), int(v[2]) if len(v) > 2 else int(v[0]))
            for c, v in data.get("streaks", {}).items()
        }
        if "streaks" not in data and data.get("failing_rounds"):  # state from before streaks
            n = int(data["failing_rounds"])
            health.streaks = {"": (n, data.get("all_fail_since") or 0.0, n)}
        health._fast_path()
        health.episode_start = data.get("episode_start")
        health.last_failure_at = data.get("last_failure_at")
        health.recovered_at = data.get("recovered_at")
        if "end" in data:
            health.end.load(data["end"])
        if "errors" in data:
            health.errors.load(data["errors"])
        elif health.status is not OP:  # state from before the CUSUMs: keep the level
            for level in range(SEVERITY[health.status]):
                health.errors.s[level] = [health.h, health.h]
        if "slow" in data:
            health.slow.load(data["slow"])
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
