"""prober's /metrics: one injected registry, and the optimised per-check families (fastexpo).

`Metrics` is what the shell calls. The small families (scheduler, config, components and
their probe aggregates, incidents, store, webhooks, build info) come from custom Collectors
registered in ONE injected `CollectorRegistry` (never the global one). The per-check
families, most of a scrape's series at 10,000 checks, are plain Python state rendered to
text by `fastexpo.py` (an optimisation, in docs/PERFORMANCE.md's ledger); `MetricsOptions`
switches the opt-in ones on. `render()` concatenates both, in the text format 0.0.4
(`CONTENT_TYPE_TEXT`) or in OpenMetrics 1.0.0 (`render(openmetrics=True)`,
`CONTENT_TYPE_OPENMETRICS`).

Note: `generate_latest(registry)` alone yields only the small families; `render()` is the
exposition. docs/METRICS.md lists every family; tests keep the two identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE_TEXT
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as CONTENT_TYPE_OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

import prober
from prober.config.model import Check
from prober.domain.snapshot import ComponentView
from prober.metrics.checkfamilies import DURATION_BUCKETS, MetricsOptions
from prober.metrics.components import ComponentTotals
from prober.metrics.fastexpo import CheckSeriesTable, render_yielding
from prober.metrics.servicestate import StateCollector
from prober.metrics.traffic import TrafficCollector
from prober.probes.result import ProbeResult

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_TEXT",
    "DURATION_BUCKETS",
    "Metrics",
    "MetricsOptions",
]
_EOF = b"# EOF\n"


class Metrics:
    """Everything prober exports. Calls are cheap and synchronous; `render()` serves a scrape."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        version: str = prober.__version__,
        options: MetricsOptions | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._state = StateCollector(version)
        self.registry.register(self._state)
        self._components = ComponentTotals()
        self.registry.register(self._components)
        self._state.latency_totals = self._components.latency_totals
        self._traffic = TrafficCollector()
        self.registry.register(self._traffic)
        self._checks = CheckSeriesTable(options)

    # -- probes and scheduler ----------------------------------------------------------------

    def record_round(self, check: Check, results: Sequence[ProbeResult], lag: float) -> None:
        """One round of a check: its probe results and how late the round started."""
        if self._checks.record(check, results):
            self._components.record(check.component, results)
        self._state.lag.observe(lag if lag > 0.0 else 0.0)

    def set_checks(self, checks: Iterable[Check]) -> None:
        """The running configuration's checks: series of removed checks vanish at once."""
        checks = list(checks)
        self._checks.set_checks(checks)
        self._components.keep(c.component for c in checks)
        self._state.checks = len(checks)

    def in_flight(self, n: int) -> None:
        self._state.in_flight = n

    def track_in_flight(self, read: Callable[[], int]) -> None:
        """Read the in-flight gauge at scrape time instead (e.g. `lambda: runner.in_flight`)."""
        self._state.in_flight_fn = read

    def track_skipped_rounds(self, read: Callable[[], int]) -> None:
        """Read the skipped-rounds counter at scrape time (`lambda: runner.skipped_rounds`)."""
        self._state.skipped_fn = read

    # -- real-traffic signals ----------------------------------------------------------------

    def set_traffic_components(self, components: Iterable[str]) -> None:
        """Components with a traffic signal; series of the others vanish."""
        self._traffic.keep(components)

    def traffic_reading(
        self, component: str, outcome: str, ratio: float | None = None, rate: float | None = None
    ) -> None:
        self._traffic.reading(component, outcome, ratio, rate)

    # -- config, network, store, webhooks ----------------------------------------------------

    def config_reloaded(self, ok: bool, at: float) -> None:
        self._state.reload_ok = int(ok)
        if ok:
            self._state.reload_success_at = at

    def network_healthy(self, ok: bool) -> None:
        self._state.network_healthy = int(ok)

    def store_error(self, operation: str) -> None:
        errors = self._state.store_errors
        errors[operation] = errors.get(operation, 0) + 1

    def store_healthy(self, ok: bool) -> None:
        self._state.store_healthy = int(ok)

    def leader(self, leading: bool, term: int, elected_at: float | None) -> None:
        """Who leads (several replicas): this replica or not, the term, the election time."""
        self._state.leader = int(leading)
        self._state.leader_term = term
        if elected_at is not None:
            self._state.leader_elected_at = elected_at

    def webhook_delivery(self, webhook: str, outcome: str) -> None:
        key = (webhook, outcome)
        deliveries = self._state.webhook_deliveries
        deliveries[key] = deliveries.get(key, 0) + 1

    # -- components and incidents ------------------------------------------------------------

    def set_components(
        self, views: Sequence[ComponentView], groups: Mapping[str, str | None]
    ) -> None:
        """Replace the component series wholesale (removed components disappear)."""
        self._state.components = tuple(views)
        self._state.groups = dict(groups)

    def incident_opened(self, impact: str, time_to_detect: float) -> None:
        opened = self._state.incidents_opened
        opened[impact] = opened.get(impact, 0) + 1
        self._state.time_to_detect.observe(max(0.0, time_to_detect))

    def incident_resolved(self, duration: float) -> None:
        self._state.incident_duration.observe(max(0.0, duration))

    def incidents_open(self, n: int, oldest_opened_at: float = 0.0) -> None:
        """How many incidents are unresolved, and when the oldest of them opened (0: none)."""
        self._state.incidents_open = n
        self._state.oldest_open_at = oldest_opened_at if n else 0.0

    # -- exposition --------------------------------------------------------------------------

    def _head(self, openmetrics: bool) -> bytes:
        if not openmetrics:
            return generate_latest(self.registry)
        body: bytes = generate_openmetrics(self.registry)  # type: ignore[no-untyped-call]
        return body.removesuffix(_EOF)

    def render(self, openmetrics: bool = False) -> bytes:
        """The whole exposition: text format 0.0.4, or OpenMetrics 1.0.0."""
        tail = [_EOF] if openmetrics else []
        return b"".join([self._head(openmetrics), *self._checks.render(openmetrics), *tail])

    async def render_async(self, chunks_per_yield: int = 2, openmetrics: bool = False) -> bytes:
        """`render()` that yields to the event loop between chunks of the per-check families
        (ledger line "fastexpo-yield", `prober.metrics.fastexpo.render_yielding`).

        Use it in the /metrics handler: a scrape then never holds the loop for the whole
        render, so probes stay on schedule.
        """
        head = self._head(openmetrics)
        return await render_yielding(head, self._checks, chunks_per_yield, openmetrics)
