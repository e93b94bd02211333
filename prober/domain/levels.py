"""Status levels, the fast path to major and the exit rule of component health.

The levels a component's health (prober/domain/state.py) moves between, their severity
order, the fast path and the test that lets a level go (the CUSUM escalation is in
state.py, the statistics in detector.py):

* Fast path: when every check of the component failed every probe of its last
  `failing_rounds_for_major` rounds (confirmation rounds count: prober/confirm.py), and
  those n failed probes are enough evidence on their own (n * ln(1 / (0.8 * degraded))
  >= h: background noise at 0.8 * degraded would produce such a streak about once per
  30 days; and n * ln(1 / (0.8 * major)) >= h: so would a steady 40%), the status is
  `major_outage` at once (two rounds of 10 requests; at one probe per 15 s a failing
  round and its thirteen confirmation rounds, about 13 s after the first failure).
  While such a streak is under way and the fast path is not yet due, a lower level
  waits for it: a total outage opens major.
* Exit (symmetric): while the end test has an episode rate to judge, only the end test
  (detector.EndTest, a CUSUM: its error is controlled over time) leaves levels, all of
  them at once; without one, a level is left when the trailing windows put the rate
  below its threshold with 99% confidence (upper bound, see detector.py), or the whole
  window holds `min_samples` probes and not one failure, and have done so for
  `recovery_time`, counted from the start of that calm evidence (the first window
  without the failures), not from the moment the bound was crossed. The status drops
  straight to the highest level not left; the evidence for the levels above is reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prober.domain.detector import EXIT_ALPHA, NEAR, EndTest, binom_cdf
from prober.domain.policy import StatusPolicy
from prober.domain.status import ComponentStatus
from prober.domain.window import Window

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


def _thresholds(policy: StatusPolicy) -> tuple[tuple[ComponentStatus, float], ...]:
    return ((DEGRADED, policy.degraded), (PARTIAL, policy.partial), (MAJOR, policy.major))


LEVELS = (OP, DEGRADED, PARTIAL, MAJOR)

# What the statistics want (ComponentHealth.undecided, Engine.undecided): nothing more
# now, more evidence (an escalation arm undecided), or more evidence for the end test of
# an open episode (it has begun to count and not decided: the runner samples it denser)
WANT_NONE = 0
WANT_EVIDENCE = 1
WANT_END = 2


@dataclass(frozen=True, slots=True)
class Assessment:
    escalate: ComponentStatus  # the level to rise to now
    hold: ComponentStatus  # the highest level not left (for de-escalation)
    onset: float | None  # first failing probe of the evidence that escalates
    ratio: float  # failure ratio over the whole window
    samples: int
    latency: float | None  # latency percentile over the window (with latency_threshold)
    calm: dict[ComponentStatus, float] = field(default_factory=dict)  # level -> calm since


def exits(
    window: Window,
    policy: StatusPolicy,
    now: float,
    up_to: ComponentStatus = MAJOR,
    minimum: int | None = None,
    ended_since: float | None = None,
    sparse: bool = True,
    windows: bool = True,
) -> dict[ComponentStatus, float]:
    """Levels (up to `up_to`) the trailing windows put the rate below, with the start of
    the longest window that does so (see detector.py). `minimum`: the samples a trailing
    window needs (default `policy.min_samples`; see ComponentHealth.min_samples).
    `ended_since`: the episode is over by the end test (detector.EndTest), its calm
    since the change point: every level is left from then at the latest. `sparse`: the
    clean-window rule applies (only without an episode rate for the end test: at 30% a
    clean window of 20 single probes comes about once a day). `windows`: the trailing
    windows' 99% bounds apply (only without an episode rate too: a bound per window is
    a test per evaluation, not controlled over time; with the rounds of adaptive
    sampling a steady 30% or 60% fell out of its band through it)."""
    out: dict[ComponentStatus, float] = {}
    minimum = max(1, policy.min_samples if minimum is None else minimum)
    levels = [(s, t) for s, t in _thresholds(policy) if SEVERITY[s] <= SEVERITY[up_to]]
    if not levels:
        return out
    trailing = window.trailing(now)
    for total, failures, start in trailing if windows else ():
        if total < minimum:
            continue
        for status, threshold in levels:
            if failures < total * threshold and binom_cdf(failures, total, threshold) <= EXIT_ALPHA:
                out[status] = start
    if sparse and trailing and trailing[-1][0] >= minimum and trailing[-1][1] == 0:
        # Sparse probing (a window too small for 99% confidence, e.g. one probe every
        # 15 s): a whole window without any failure leaves every level.
        for status, _ in levels:
            out.setdefault(status, trailing[-1][2])
    if ended_since is not None:
        for status, _ in levels:
            out[status] = min(out.get(status, ended_since), ended_since)
    return out


def fast_major(failing_rounds: int, streak_failures: int, policy: StatusPolicy, h: float) -> bool:
    """The fast path is due (see state.py): every check failed every probe of its last
    `failing_rounds_for_major` rounds, and those failures are enough evidence."""
    if failing_rounds < max(1, policy.failing_rounds_for_major):
        return False
    # enough against the noise (a false incident about once per 30 days) ...
    p0 = min(0.99, NEAR[0] * policy.degraded)
    if streak_failures * -math.log(p0) < h:
        return False
    # ... and as much against the major level's in-control rate: a steady partial
    # outage (40%) shows such a streak about once per 30 days, not every hour
    major0 = min(0.99, NEAR[0] * policy.major)
    return streak_failures * -math.log(major0) >= h


def recovery_instant(
    end: EndTest, h: float, window: Window, calm_since: float, last: float | None
) -> float | None:
    """When the episode ended: the end test's change point, the first success after
    the episode's last failure (the first evidence of recovery, as the start is the
    first evidence of failure); without it, the last failure before the calm."""
    since = end.since
    if since is not None and end.over(h) is not None:
        return since  # the end test's change point (it tolerated any noise failure since)
    return window.last_failure_before(calm_since) or last
