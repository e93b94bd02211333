"""The plain alternative to `prober.metrics.fastexpo`: the same per-check state rendered
through prometheus_client (a custom Collector yielding metric families, `generate_latest`).

Not what /metrics serves. It is the baseline of ledger line "fastexpo" in
docs/PERFORMANCE.md (`python bench/metrics_render.py` times both on the same state) and
the reference the tests compare the optimised renderer with, sample for sample: if the
optimisation stops paying, this is what replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from prober.metrics.checkfamilies import (
    B_CERT,
    B_CODE,
    B_DNS,
    B_DURATION,
    B_PHASES,
    B_SSL,
    B_SUCCESS,
    BLACKBOX_PHASES,
    DURATION_BUCKETS,
    F_CERT,
    F_CODE,
    F_DURATION,
    F_FAILURES,
    F_INFO,
    F_PHASES,
    F_PROBES,
    F_SUCCESS,
    F_UP,
    FAMILIES,
)
from prober.metrics.fastexpo import CheckSeries, CheckSeriesTable

_LE = (*(repr(b) for b in DURATION_BUCKETS), "+Inf")
_BB = ["instance", "check"]


def _seconds(pair: tuple[int, ...]) -> float:
    whole, micros = pair
    return whole + micros / 1_000_000


def _phases(s: CheckSeries) -> list[tuple[str, float]]:
    v = s.phase_values
    return [(p, _seconds(v[2 * i : 2 * i + 2])) for i, p in enumerate(s.phase_keys)]


class PlainCheckCollector:
    """A prometheus_client Collector over a `CheckSeriesTable`'s state (read, never changed)."""

    def __init__(self, table: CheckSeriesTable) -> None:
        self._table = table

    def collect(self) -> Iterator[Metric]:
        series = list(self._table.series())
        for family in self._table.families:
            yield self._family(family, series)

    def _family(self, family: int, series: list[CheckSeries]) -> Metric:
        f = FAMILIES[family]
        if family == F_INFO:
            info = InfoMetricFamily(f.name.removesuffix("_info"), f.help, labels=["check"])
            for s in series:
                info.add_metric([s.check_id], {"component": s.component})
            return info
        if family in (F_PROBES, F_FAILURES):
            counter = CounterMetricFamily(f.name, f.help, labels=["check"])
            for s in series:
                counter.add_metric([s.check_id], s.hist[-1] if family == F_PROBES else s.failures)
            return counter
        if family == F_DURATION:
            hist = HistogramMetricFamily(f.name, f.help, labels=["check"])
            top = len(DURATION_BUCKETS) + 1
            for s in series:
                buckets = [(le, float(s.hist[i])) for i, le in enumerate(_LE)]
                total = _seconds((s.hist[top], s.hist[top + 1]))
                hist.add_metric([s.check_id], buckets, total)
            return hist
        labels = _BB if f.group == "blackbox" else ["check"]
        phased = family in (F_PHASES, B_PHASES)
        gauge = GaugeMetricFamily(f.name, f.help, labels=[*labels, "phase"] if phased else labels)
        for s in series:
            ids = [s.check_id] * len(labels)
            for value, phase in _gauge_values(family, s):
                gauge.add_metric(ids if phase is None else [*ids, phase], value)
        return gauge


def _gauge_values(family: int, s: CheckSeries) -> list[tuple[float, str | None]]:
    """One check's samples of a gauge family: (value, phase label or None)."""
    if family == F_PHASES:
        return [(v, p) for p, v in _phases(s)]
    if family == B_PHASES:
        return [(v, BLACKBOX_PHASES[p]) for p, v in _phases(s)]
    if family == B_DNS:
        return [(_seconds(s.phase_values[:2]), None)] if s.phase_keys[:1] == ("dns",) else []
    if family == B_SSL:
        return [(float(s.tls), None)]
    if family == B_DURATION:
        return [] if s.up is None else [(_seconds(s.last_duration), None)]
    value = {
        F_UP: s.up,
        B_SUCCESS: s.up,
        F_SUCCESS: s.last_success,
        F_CODE: s.last_code,
        B_CODE: s.last_code,
        F_CERT: s.cert_expiry,
        B_CERT: s.cert_expiry,
    }[family]
    return [] if value is None else [(float(value), None)]


def render_plain(table: CheckSeriesTable, openmetrics: bool = False) -> bytes:
    """The per-check families of `table`, rendered by prometheus_client."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlainCheckCollector(table))
    if openmetrics:
        body: bytes = generate_openmetrics(registry)  # type: ignore[no-untyped-call]
        return body
    return generate_latest(registry)
