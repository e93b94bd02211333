"""Per-component aggregates of probe results, always exported whatever the options.

`prober_component_probes_total{component, reason}` and the latency histogram
`prober_component_probe_duration_seconds{component}` cost a fixed number of series per
component (not per check): result reasons and latency stay visible when the per-check detail
families are off.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from prober.metrics.checkfamilies import DURATION_BUCKETS
from prober.probes.result import ProbeResult

_LE = (*(repr(b) for b in DURATION_BUCKETS), "+Inf")


class _Totals:
    __slots__ = ("counts", "reasons", "total")

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {"ok": 0}
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0.0


class ComponentTotals(Collector):
    """Probe results summed per component; components without checks vanish on reload."""

    def __init__(self) -> None:
        self._by_component: dict[str, _Totals] = {}

    def keep(self, components: Iterable[str]) -> None:
        old = self._by_component
        self._by_component = {c: old.get(c) or _Totals() for c in sorted(set(components))}

    def record(self, component: str, results: Sequence[ProbeResult]) -> None:
        totals = self._by_component.get(component)
        if totals is None:
            totals = self._by_component[component] = _Totals()
        reasons = totals.reasons
        for r in results:
            reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
            d = r.duration if math.isfinite(r.duration) and r.duration > 0 else 0.0
            totals.counts[bisect_left(DURATION_BUCKETS, d)] += 1
            totals.total += d

    def latency_totals(self, component: str) -> tuple[int, float]:
        """(requests, seconds) of the component's probes so far."""
        totals = self._by_component.get(component)
        return (sum(totals.counts), round(totals.total, 6)) if totals else (0, 0.0)

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        probes = CounterMetricFamily(
            "prober_component_probes",
            "Probe requests of the component's checks, by result reason.",
            labels=["component", "reason"],
        )
        latency = HistogramMetricFamily(
            "prober_component_probe_duration_seconds",
            "Whole-request latency of the component's probe requests.",
            labels=["component"],
        )
        for component, totals in self._by_component.items():
            for reason, n in totals.reasons.items():
                probes.add_metric([component, reason], n)
            cum = 0
            buckets: list[tuple[str, float]] = []
            for le, n in zip(_LE, totals.counts, strict=True):
                cum += n
                buckets.append((le, cum))
            latency.add_metric([component], buckets, round(totals.total, 6))
        yield probes
        yield latency
