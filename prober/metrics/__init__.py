"""prober's /metrics: one injected registry, and a fast path for the per-check families.

`Metrics` is what the shell calls. The small families (scheduler, config, components,
incidents, store, webhooks, build info) come from a custom Collector registered in ONE
injected `CollectorRegistry` (never the global one). The per-check families, which are most
of a scrape at 10,000 checks, are plain Python state rendered to text by `checks.py`.
`render()` concatenates both: text exposition format 0.0.4 (`CONTENT_TYPE_LATEST`).

Note: `generate_latest(registry)` alone yields only the small families; `render()` is the
exposition. docs/METRICS.md lists every family; tests keep the two identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

import prober
from prober.config.model import Check
from prober.domain.snapshot import ComponentView
from prober.metrics.checks import DURATION_BUCKETS, CheckSeriesTable
from prober.metrics.state import StateCollector
from prober.probes.result import ProbeResult

__all__ = ["CONTENT_TYPE_LATEST", "DURATION_BUCKETS", "Metrics"]


class Metrics:
    """Everything prober exports. Calls are cheap and synchronous; `render()` serves a scrape."""

    def __init__(
        self, registry: CollectorRegistry | None = None, version: str = prober.__version__
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._state = StateCollector(version)
        self.registry.register(self._state)
        self._checks = CheckSeriesTable()

    # -- probes and scheduler ----------------------------------------------------------------

    def record_round(self, check: Check, results: Sequence[ProbeResult], lag: float) -> None:
        """One round of a check: its probe results and how late the round started."""
        self._checks.record(check, results)
        self._state.lag.observe(lag if lag > 0.0 else 0.0)

    def set_checks(self, checks: Iterable[Check]) -> None:
        """The running configuration's checks: series of removed checks vanish at once."""
        checks = list(checks)
        self._checks.set_checks(checks)
        self._state.checks = len(checks)

    def in_flight(self, n: int) -> None:
        self._state.in_flight = n

    def track_in_flight(self, read: Callable[[], int]) -> None:
        """Read the in-flight gauge at scrape time instead (e.g. `lambda: runner.in_flight`)."""
        self._state.in_flight_fn = read

    def track_skipped_rounds(self, read: Callable[[], int]) -> None:
        """Read the skipped-rounds counter at scrape time (`lambda: runner.skipped_rounds`)."""
        self._state.skipped_fn = read

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

    def render(self) -> bytes:
        """The whole exposition, text format 0.0.4."""
        return b"".join([generate_latest(self.registry), *self._checks.render()])

    async def render_async(self, chunks_per_yield: int = 2) -> bytes:
        """`render()` that yields to the event loop between chunks of ~BLOCK checks.

        Use it in the /metrics handler: at 10,000 checks a scrape then never holds the
        loop for more than a few milliseconds, so probes stay on schedule.
        """
        out = [generate_latest(self.registry)]
        for i, chunk in enumerate(self._checks.steps()):
            out.append(chunk)
            if i % chunks_per_yield == chunks_per_yield - 1:
                await asyncio.sleep(0)
        return b"".join(out)
