"""History: probe results folded into per-minute aggregates, and daily uptime from the
stored timeline of component status changes. Pure functions and a small accumulator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
            ProbeAggregate(check, r.component, minute, r.total, r.failures, r.latency_sum,
                           r.latency_max)
            for (check, minute), r in self._rows.items()
        ]
        self._rows = {}
        return rows


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def daily_uptime(
    changes: Sequence[StatusChange],
    component_ids: Sequence[str],
    now: float,
    days: int = 90,
    created: Mapping[str, float] | None = None,
) -> dict[str, tuple[DayUptime, ...]]:
    """Seconds spent in each status per UTC day for the last `days` days, oldest first.

    Time before a component's first known status, or before prober first saw it
    (`created`), counts as unknown (absent from the day), never as uptime.
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
        out[cid] = tuple(map(DayUptime, labels, buckets))
    return out
