"""Just enough of the Prometheus text format to read prober's own /metrics in a benchmark."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Scrape:
    lag_buckets: tuple[tuple[float, float], ...]  # (le, cumulative count), le ascending
    lag_count: float
    probes_total: float
    series: int
    check_series: int = 0  # sample lines with a `check` label


def parse(text: str) -> Scrape:
    buckets: dict[float, float] = {}
    lag_count = 0.0
    probes = 0.0
    series = 0
    check_series = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series += 1
        if 'check="' in line:
            check_series += 1
        head, _, raw = line.rpartition(" ")
        name, _, rest = head.partition("{")
        value = float(raw)
        if name == "prober_probes_total":
            probes += value
        elif name == "prober_scheduler_lag_seconds_bucket":
            le = rest.split('le="', 1)[1].split('"', 1)[0]
            buckets[math.inf if le == "+Inf" else float(le)] = value
        elif name == "prober_scheduler_lag_seconds_count":
            lag_count = value
    return Scrape(tuple(sorted(buckets.items())), lag_count, probes, series, check_series)


def delta(after: Scrape, before: Scrape) -> tuple[tuple[float, float], ...]:
    """Cumulative lag buckets observed between two scrapes."""
    old = dict(before.lag_buckets)
    return tuple((le, n - old.get(le, 0.0)) for le, n in after.lag_buckets)


def histogram_quantile(q: float, buckets: tuple[tuple[float, float], ...]) -> float | None:
    """As PromQL's histogram_quantile: linear within a bucket; the +Inf bucket gives the
    highest finite bound (so the answer is then a lower bound)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_n = 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if math.isinf(le):
                return prev_le
            if n == prev_n:
                return le
            return prev_le + (le - prev_le) * (rank - prev_n) / (n - prev_n)
        prev_le, prev_n = le, n
    return prev_le


def share_within(bound: float, buckets: tuple[tuple[float, float], ...]) -> float | None:
    """Share of observations <= `bound` (exact when `bound` is a bucket boundary)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    within = max((n for le, n in buckets if le <= bound), default=0.0)
    return within / buckets[-1][1]


def beyond_last_bound(q: float, buckets: tuple[tuple[float, float], ...]) -> bool:
    """Whether quantile `q` lies in the +Inf bucket (histogram_quantile then under-reports)."""
    if len(buckets) < 2 or buckets[-1][1] <= 0:
        return False
    return buckets[-2][1] < q * buckets[-1][1]
