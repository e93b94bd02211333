"""Process, component, incident, store and webhook families: a custom Collector.

The state lives in plain attributes set by the shell; `collect()` builds the families fresh
at each scrape, so a reload that removes a component leaves no stale label set, and no
`_created` series appear (docs/METRICS.md lists exactly what is exported).
"""

from __future__ import annotations

import platform
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from prober.domain.snapshot import ComponentView
from prober.domain.status import ComponentStatus, Impact

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DETECT_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DURATION_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)
STORE_OPERATIONS = ("open", "write", "read", "prune")


class Hist:
    """A label-less histogram as plain numbers."""

    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        cum = 0
        buckets: list[tuple[str, float]] = []
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cum += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cum))
        return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=self.total)


class StateCollector(Collector):
    """Everything but the per-check families, rendered through prometheus_client."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.checks = 0
        self.lag = Hist(LAG_BUCKETS)
        self.in_flight = 0
        self.in_flight_fn: Callable[[], int] | None = None
        self.skipped_fn: Callable[[], int] | None = None
        self.reload_ok = 1
        self.reload_success_at = 0.0
        self.network_healthy = 1
        self.components: tuple[ComponentView, ...] = ()
        self.groups: Mapping[str, str | None] = {}
        self.incidents_open = 0
        self.oldest_open_at = 0.0
        self.incidents_opened: dict[str, int] = {i.value: 0 for i in Impact}
        self.time_to_detect = Hist(DETECT_BUCKETS)
        self.incident_duration = Hist(DURATION_BUCKETS)
        self.store_errors: dict[str, int] = dict.fromkeys(STORE_OPERATIONS, 0)
        self.store_healthy = 1
        self.leader = 1  # several replicas: 1 on the leader only (single node: always 1)
        self.leader_term = 1
        self.leader_elected_at = 0.0
        self.webhook_deliveries: dict[tuple[str, str], int] = {}
        # (count, sum) of every probe request per component: the latency summary's _count
        # and _sum (its quantile is over the status window, like a Go client summary's)
        self.latency_totals: Callable[[str], tuple[int, float]] = lambda _: (0, 0.0)

    def collect(self) -> Iterator[Metric]:
        yield from self._process_families()
        yield from self._component_families()
        yield from self._incident_families()
        yield from self._store_families()
        yield from self._leader_families()
        yield from self._webhook_families()

    def _process_families(self) -> Iterator[Metric]:
        """Checks, scheduler, probes in flight, config reloads, network, build."""
        yield GaugeMetricFamily(
            "prober_checks", "Checks in the running configuration.", self.checks
        )
        yield self.lag.family(
            "prober_scheduler_lag_seconds",
            "How late each probe round started against its schedule.",
        )
        skipped = self.skipped_fn() if self.skipped_fn is not None else 0
        yield CounterMetricFamily(
            "prober_scheduler_skipped_rounds",
            "Rounds not started because the check's previous round was still running "
            "or the scheduler fell a whole interval behind.",
            skipped,
        )
        in_flight = self.in_flight_fn() if self.in_flight_fn is not None else self.in_flight
        yield GaugeMetricFamily("prober_probes_in_flight", "Probe requests under way.", in_flight)
        yield GaugeMetricFamily(
            "prober_config_last_reload_successful",
            "1 when the last config load succeeded, 0 when it failed.",
            self.reload_ok,
        )
        yield GaugeMetricFamily(
            "prober_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
            self.reload_success_at,
        )
        yield GaugeMetricFamily(
            "prober_network_healthy",
            "0 when every check failed at once, else 1.",
            self.network_healthy,
        )
        build = GaugeMetricFamily(
            "prober_build_info", "Always 1; the labels say what runs.", labels=["version", "python"]
        )
        build.add_metric([self.version, platform.python_version()], 1)
        yield build

    def _incident_families(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "prober_incidents_open", "Incidents not yet resolved.", self.incidents_open
        )
        yield GaugeMetricFamily(
            "prober_incident_oldest_open_timestamp_seconds",
            "Unix time when the oldest unresolved incident opened; 0 when none is open.",
            self.oldest_open_at,
        )
        opened = CounterMetricFamily(
            "prober_incidents_opened",
            "Incidents opened, by the impact they were opened with.",
            labels=["impact"],
        )
        for impact, n in self.incidents_opened.items():
            opened.add_metric([impact], n)
        yield opened
        yield self.time_to_detect.family(
            "prober_incident_time_to_detect_seconds",
            "From an episode's first failing probe to the incident opening.",
        )
        yield self.incident_duration.family(
            "prober_incident_duration_seconds", "From an incident's start to its resolution."
        )

    def _store_families(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "prober_store_errors", "Failed store operations.", labels=["operation"]
        )
        for op, n in self.store_errors.items():
            errors.add_metric([op], n)
        yield errors
        yield GaugeMetricFamily(
            "prober_store_healthy",
            "1 when the last store write succeeded, else 0.",
            self.store_healthy,
        )

    def _leader_families(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "prober_leader",
            "1 on the replica that leads (runs the incident engine, sends webhooks), else 0.",
            self.leader,
        )
        yield GaugeMetricFamily(
            "prober_leader_term",
            "The current leadership term (grows by one at each election).",
            self.leader_term,
        )
        yield GaugeMetricFamily(
            "prober_leader_last_election_timestamp_seconds",
            "When the current leader was elected (Unix time).",
            self.leader_elected_at,
        )

    def _webhook_families(self) -> Iterator[Metric]:
        deliveries = CounterMetricFamily(
            "prober_webhook_deliveries",
            "Webhook delivery attempts by outcome.",
            labels=["webhook", "outcome"],
        )
        for (hook, outcome), n in sorted(self.webhook_deliveries.items()):
            deliveries.add_metric([hook, outcome], n)
        yield deliveries

    def _component_families(self) -> Iterator[GaugeMetricFamily | Metric]:
        status = GaugeMetricFamily(
            "prober_component_status",
            "Numeric status: 0 operational, 1 under_maintenance, 2 degraded_performance, "
            "3 partial_outage, 4 major_outage.",
            labels=["component", "group"],
        )
        state = GaugeMetricFamily(
            "prober_component_state",
            "1 for the component's current status, 0 for the others.",
            labels=["component", "state"],
        )
        ratio = GaugeMetricFamily(
            "prober_component_failure_ratio",
            "Share of failing probe requests over the status window.",
            labels=["component"],
        )
        name = "prober_component_latency_seconds"
        latency = Metric(
            name,
            "Probe latency: quantile over the status window; count and sum since start.",
            "summary",
        )
        for view in self.components:
            group = self.groups.get(view.id, view.group) or ""
            status.add_metric([view.id, group], view.status.level)
            for s in ComponentStatus:
                state.add_metric([view.id, s.value], 1 if s is view.status else 0)
            ratio.add_metric([view.id], view.failure_ratio)
            if view.latency_p95 is not None:
                latency.add_sample(
                    name, {"component": view.id, "quantile": "0.95"}, view.latency_p95
                )
            count, total = self.latency_totals(view.id)
            latency.add_sample(name + "_count", {"component": view.id}, count)
            latency.add_sample(name + "_sum", {"component": view.id}, total)
        yield from (status, state, ratio, latency)
