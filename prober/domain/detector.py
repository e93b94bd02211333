"""Sequential detection of a component's failure rate: false alarms controlled over time.

A status is tested many times a minute; a per-test significance level run that often is
no false-alarm rate. So escalation uses Page's CUSUM, a sequential test whose false-alarm
rate is a time between false alarms (the average run length, ARL), and exit uses
confidence bounds on trailing windows. The design, per status level L with threshold
t_L (degraded 5%, partial 25%, major 50% by default):

* Two one-sided Bernoulli CUSUMs per level, S = max(0, S + log-likelihood ratio): a
  *near* arm, in-control rate p0 = 0.8 t_L against p1 = 1.25 t_L (its drift changes sign
  at about t_L itself), and a *far* arm, p0 = 0.8 t_L against p1 = 4 t_L (capped), which
  detects large rates several times sooner. Level L is reached when an arm's S >= h.
* The decision bound h = ln(ARL_SECONDS * samples per second) + ln 2: with p0 = 0.8 t_L
  the ARL of each arm is at least about e^h samples (Wald), so a component whose true
  rate stays at 0.8 t_L raises a false alarm at most about once per 30 days, at any probe
  rate; at half the threshold the bound is orders of magnitude beyond that (a larger
  exponent than 1 in e^(theta h)). A steady rate r sits at the level whose band holds r:
  below 0.8 t_L an arm drifts down, above 1.25 t_L it drifts up.
* Exit is symmetric, on the upper confidence bound: level L is *exited* when some
  trailing window (the newest 1, 2, ... buckets) of at least `min_samples` samples puts
  the rate below t_L with confidence 1 - EXIT_ALPHA (exact binomial lower tail). The
  calm began at the start of the longest such window. This bound is a test per
  evaluation, not over time: it applies only while the end test below has no episode
  rate (state.py); with one, the end test alone leaves levels.
* Latency is one more pair of arms, on the share of slow *rounds* (see state.py)
  against 1 - `latency_percentile`: one slow round is not sustained evidence and never
  reaches a status.
* The episode's end, symmetric to escalation: one more CUSUM, run while the status is
  not operational, tests a change from the episode's own failure rate p_e (its ratio
  since the episode began, as of its last failing probe, Jeffreys-smoothed:
  (f + 1/2) / (n + 1); over the whole episode, not the window: the window around the
  detection holds the cluster of failures that crossed h, an overestimate) back to
  p_b = 0.8 * degraded: per success ln((1 - p_b) / (1 - p_e)), per failure
  ln(p_b / p_e), S = max(0, S + ...). The episode is over when S >= h, the same bound as
  escalation; its calm began at the first success of that excursion (the change point).
  After a total outage four successes end it (the confirmation rounds bring them within
  seconds), and one noise failure costs about one success instead of starting over; a
  30% episode needs about 40 clean probes, and at 30% S drifts down (no false end).
  Every level is then left, and `recovery_time` of that calm still has to pass. A
  level's own threshold would need ~90 clean probes to be proved at 5% (far too many at
  one probe per 15 s); the episode's end only needs evidence against its own rate.
* The episode start is the first failure of the excursion that crossed h (Page's
  change-point estimate: the failure that lifted S from 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ARL_SECONDS = 30 * 86400.0
NEAR = (0.8, 1.25)
FAR = 4.0
EXIT_ALPHA = 0.01
MIN_BOUND = 8.0


@dataclass(frozen=True, slots=True)
class Arm:
    fail: float  # log-likelihood ratio added per failure
    success: float  # ... per success (negative)


def arms(threshold: float) -> tuple[Arm, Arm]:
    """The near and far arms of a level with this threshold."""
    p0 = NEAR[0] * threshold
    out = []
    for factor in (NEAR[1], FAR):
        p1 = min(factor * threshold, (1.0 + threshold) / 2.0, 1.0 - 1e-9)
        p1 = max(p1, p0 * 1.01)
        out.append(Arm(math.log(p1 / p0), math.log1p(-p1) - math.log1p(-p0)))
    return out[0], out[1]


def decision_bound(samples_per_second: float) -> float:
    """h such that one arm at its in-control rate alarms about once per ARL_SECONDS."""
    expected = max(1.0, samples_per_second * ARL_SECONDS)
    return max(MIN_BOUND, math.log(expected) + math.log(2.0))


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p); 1.0 when k is at or above the mean (no tail)."""
    if k >= n or p <= 0.0:
        return 1.0
    if k < 0:
        return 0.0
    if p >= 1.0:
        return 0.0
    if k >= n * p:
        return 1.0
    log_term = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    term = math.exp(log_term)
    total = term
    ratio = (1.0 - p) / p
    i = k
    while i > 0:
        term *= i / (n - i + 1) * ratio
        i -= 1
        total += term
        if term <= total * 1e-12:
            break
    return min(1.0, total)


class EndTest:
    """The CUSUM for the end of an episode (see the module docstring)."""

    def __init__(self, base: float) -> None:
        self.base = min(0.5, max(1e-6, base))  # p_b
        self.rate = 0.0  # p_e, as of the last failing round (none yet: no test)
        self.s = 0.0
        self.since: float | None = None  # first success of the current excursion
        self.n = 0  # the episode's probes and failures so far
        self.f = 0

    def begin(self, failures: int, total: int) -> None:
        """An episode began: these are its probes so far (the window since its start)."""
        self.n, self.f = total, failures
        self._rate()

    def count(self, bad: int, total: int) -> None:
        """One round of the episode; the rate is re-read at failing rounds only (as of the
        last failure: the clean probes after it are what the test weighs)."""
        self.n += total
        self.f += bad
        if bad:
            self._rate()

    def _rate(self) -> None:
        self.rate = min(1.0 - 1e-6, (self.f + 0.5) / (self.n + 1.0))

    def applies(self) -> bool:
        """An episode rate the test can tell apart from the base."""
        return self.rate > self.base * 1.01

    def add(self, bad: int, good: int, first_good_at: float | None, cap: float) -> None:
        if not self.applies():
            self.reset()
            return
        step = good * math.log((1.0 - self.base) / (1.0 - self.rate))
        step += bad * math.log(self.base / self.rate)
        new = self.s + step
        if new <= 0.0:
            self.reset()
            return
        if self.s == 0.0 or self.since is None:
            # the excursion's first success after the last failure: when the round that
            # lifted S has none after its last failure (that failure started last), the
            # next success sets it; without this the end could never be read
            self.since = first_good_at
        self.s = min(new, cap)

    def reset(self) -> None:
        self.s = 0.0
        self.since = None

    def over(self, h: float) -> float | None:
        """The calm's start when the episode is over, else None."""
        return self.since if self.s >= h else None

    def to_state(self) -> list[Any]:
        return [self.rate, self.s, self.since, self.n, self.f]

    def load(self, data: Sequence[Any]) -> None:
        self.rate, self.s, self.since = float(data[0]), float(data[1]), data[2]
        if len(data) > 4:
            self.n, self.f = int(data[3]), int(data[4])


class Cusums:
    """The CUSUM arms of one signal (failures, or slow samples) over several levels."""

    def __init__(self, thresholds: Sequence[float]) -> None:
        self.arms = [arms(t) for t in thresholds]
        self.s = [[0.0, 0.0] for _ in thresholds]
        self.start: list[list[float | None]] = [[None, None] for _ in thresholds]

    def add(self, bad: int, total: int, first_bad_at: float | None, cap: float) -> None:
        good = total - bad
        for level, pair in enumerate(self.arms):
            for j, arm in enumerate(pair):
                old = self.s[level][j]
                new = old + bad * arm.fail + good * arm.success
                if new <= 0.0:
                    self.s[level][j] = 0.0
                    self.start[level][j] = None
                    continue
                self.s[level][j] = min(new, cap)
                if old == 0.0:
                    self.start[level][j] = first_bad_at
        return None

    def reached(self, h: float) -> tuple[int, float | None]:
        """(number of levels reached, 0 for none; the earliest start among the arms of
        those levels still in an excursion: the near arm of a level often lifted from
        zero a round before the far arm that crosses first, and both saw the change)."""
        top = 0
        for level, pair in enumerate(self.s):
            if any(value >= h for value in pair):
                top = level + 1
        onset: float | None = None
        for level in range(top):
            for j, value in enumerate(self.s[level]):
                start = self.start[level][j]
                if value > 0.0 and start is not None and (onset is None or start < onset):
                    onset = start
        return top, onset

    def undecided(self, h: float) -> bool:
        """Some arm has evidence (S > 0) that has not reached the bound yet."""
        return any(0.0 < value < h for pair in self.s for value in pair)

    def reset_from(self, level: int) -> None:
        """Forget the evidence for levels >= `level` (0-based): after leaving them."""
        for i in range(level, len(self.s)):
            self.s[i] = [0.0, 0.0]
            self.start[i] = [None, None]

    def to_state(self) -> list[Any]:
        return [self.s, self.start]

    def load(self, data: Sequence[Any]) -> None:
        s, start = data
        if len(s) == len(self.s):
            self.s = [[float(x) for x in pair] for pair in s]
            self.start = [[None if x is None else float(x) for x in pair] for pair in start]
