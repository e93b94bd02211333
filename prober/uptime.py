"""Uptime tallies: probe results folded into per-minute aggregates (stored), per-day probe counts
per component (uptime: successful probes over all probes), and the seconds spent in each
status per day (the uptime bar's colour). Pure functions and small accumulators."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prober.domain.snapshot import DayUptime
from prober.probes.result import ProbeResult
from prober.store.base import ProbeAggregate, StatusChange

DAY = 86400


@dataclass(slots=True)
class _Minute:
    component: str
    total: int = 0
    failures: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0


class Aggregator:
    """Accumulates probe results as one row per (check, minute) until drained."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], _Minute] = {}

    def add(self, result: ProbeResult) -> None:
        key = (result.check_id, int(result.at // 60) * 60)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Minute(result.component)
        row.total += 1
        row.failures += 0 if result.ok else 1
        row.latency_sum += result.duration
        row.latency_max = max(row.latency_max, result.duration)

    def drain(self) -> list[ProbeAggregate]:
        rows = [
            ProbeAggregate(
                check, r.component, minute, r.total, r.failures, r.latency_sum, r.latency_max
            )
            for (check, minute), r in self._rows.items()
        ]
        self._rows = {}
        return rows


class DailyProbes:
    """Probes and failures per (component, UTC day start): seeded once from the store's
    probe aggregates (`Store.probe_days`), then fed every result as it arrives."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, int], list[int]] = {}

    def seed(self, rows: Iterable[tuple[str, int, int, int]]) -> None:
        for component, day, total, failures in rows:
            counts = self._days.setdefault((component, int(day)), [0, 0])
            counts[0] += total
            counts[1] += failures

    def add(self, component: str, at: float, ok: bool) -> bool:
        """Count one probe; True when it is the component's first of that day."""
        key = (component, int(at) // DAY * DAY)
        counts = self._days.get(key)
        first = counts is None
        if counts is None:
            counts = self._days[key] = [0, 0]
        counts[0] += 1
        if not ok:
            counts[1] += 1
        return first

    def prune(self, before: float) -> None:
        self._days = {k: v for k, v in self._days.items() if k[1] + DAY > before}

    def copy(self) -> dict[tuple[str, int], tuple[int, int]]:
        return {k: (v[0], v[1]) for k, v in self._days.items()}


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def daily_uptime(
    changes: Sequence[StatusChange],
    component_ids: Sequence[str],
    now: float,
    days: int = 90,
    created: Mapping[str, float] | None = None,
    probes: Mapping[tuple[str, int], tuple[int, int]] | None = None,
) -> dict[str, tuple[DayUptime, ...]]:
    """Per UTC day for the last `days` days, oldest first: the probes and failures of
    `probes` ((component, day start) -> (total, failures)) and the seconds spent in each
    status.

    Time before a component's first known status, or before prober first saw it
    (`created`), is absent from the day's seconds, never counted as a status.
    """
    first_day = (int(now) // DAY - days + 1) * DAY
    by_component: dict[str, list[StatusChange]] = {c: [] for c in component_ids}
    for ch in changes:
        if ch.component in by_component:
            by_component[ch.component].append(ch)
    out: dict[str, tuple[DayUptime, ...]] = {}
    labels = [_day(first_day + i * DAY) for i in range(days)]
    for cid, items in by_component.items():
        items.sort(key=lambda c: c.at)
        buckets: list[dict[str, float]] = [{} for _ in range(days)]
        born = (created or {}).get(cid, first_day)
        for i, ch in enumerate(items):
            start = max(ch.at, first_day, born)
            end = items[i + 1].at if i + 1 < len(items) else now
            end = min(end, now)
            while start < end:
                index = int((start - first_day) // DAY)
                day_end = first_day + (index + 1) * DAY
                stop = min(end, day_end)
                if 0 <= index < days:
                    b = buckets[index]
                    b[ch.status.value] = b.get(ch.status.value, 0.0) + (stop - start)
                start = stop
        counts = [(probes or {}).get((cid, first_day + i * DAY), (0, 0)) for i in range(days)]
        out[cid] = tuple(
            DayUptime(label, b, total, failures)
            for label, b, (total, failures) in zip(labels, buckets, counts, strict=True)
        )
    return out
