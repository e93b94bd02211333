"""Families of the real-traffic signals (prober/signals/traffic.py), per component."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

OUTCOMES = ("ok", "no_data", "error")


class TrafficCollector(Collector):
    def __init__(self) -> None:
        self.up: dict[str, int] = {}
        self.evaluations: dict[str, dict[str, int]] = {}
        self.ratio: dict[str, float] = {}
        self.rate: dict[str, float] = {}

    def keep(self, components: Iterable[str]) -> None:
        keep = set(components)
        for table in (self.up, self.evaluations, self.ratio, self.rate):
            for gone in set(table) - keep:
                del table[gone]
        for cid in keep:
            self.evaluations.setdefault(cid, dict.fromkeys(OUTCOMES, 0))
            self.up.setdefault(cid, 1)

    def reading(
        self, component: str, outcome: str, ratio: float | None, rate: float | None
    ) -> None:
        counts = self.evaluations.setdefault(component, dict.fromkeys(OUTCOMES, 0))
        counts[outcome] = counts.get(outcome, 0) + 1
        self.up[component] = 0 if outcome == "error" else 1
        if outcome == "ok" and ratio is not None:
            self.ratio[component] = ratio
        if rate is not None:
            self.rate[component] = rate

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "prober_traffic_up",
            "1 when the component's last real-traffic evaluation got an answer from "
            "Prometheus, 0 when Prometheus was unreachable or answered an error.",
            labels=["component"],
        )
        evaluations = CounterMetricFamily(
            "prober_traffic_evaluations",
            "Real-traffic evaluations by outcome: ok, no_data (too few requests or no "
            "result), error (Prometheus unreachable or answering an error).",
            labels=["component", "outcome"],
        )
        ratio = GaugeMetricFamily(
            "prober_traffic_failure_ratio",
            "Failing share of real traffic at the last evaluation with data.",
            labels=["component"],
        )
        rate = GaugeMetricFamily(
            "prober_traffic_requests_per_second",
            "Real-traffic request rate at the last evaluation that returned one.",
            labels=["component"],
        )
        for cid in sorted(self.evaluations):
            up.add_metric([cid], self.up.get(cid, 1))
            for outcome, n in self.evaluations[cid].items():
                evaluations.add_metric([cid, outcome], n)
            if cid in self.ratio:
                ratio.add_metric([cid], self.ratio[cid])
            if cid in self.rate:
                rate.add_metric([cid], self.rate[cid])
        yield from (up, evaluations, ratio, rate)
