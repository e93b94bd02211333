"""A sliding time window of probe samples for one component, stored as time buckets.

Samples are never kept one by one: each bucket (`width` seconds, 5 s for the default
300 s window) holds a total, a failure count, the time of its first failure, counts of
failure reasons and a sparse log-scale latency histogram (bins 10% wide). Memory is
therefore bounded by `span / width` buckets whatever the probe rate, and the latency
percentile is exact to within one bin (at most 10% high).

Queries always take `now`; buckets older than the span are ignored and dropped by `prune`.
`suffixes(now)` gives the counts over nested trailing windows (2, 4, 8, ... buckets, then
the whole span): the status rule in `state.py` looks at all of them so that a burst of
failures after a long healthy stretch is seen within a round or two, not diluted by the
healthy past.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LATENCY_BASE = 0.001  # seconds: upper bound of bin 0
LATENCY_GROWTH = 1.1  # each bin is 10% wider than the previous one
LATENCY_BINS = 200  # 1 ms * 1.1**199 is about 1.7e5 s: everything fits


def bucket_width(span: float) -> float:
    """Bucket width for a window span: 5 s, narrower for short windows (at least 60 buckets)."""
    return max(0.25, min(5.0, span / 60.0))


def latency_bin(seconds: float) -> int:
    if seconds <= LATENCY_BASE:
        return 0
    index = math.ceil(math.log(seconds / LATENCY_BASE) / math.log(LATENCY_GROWTH) - 1e-9)
    return min(LATENCY_BINS - 1, max(0, index))


def bin_upper(index: int) -> float:
    """Upper bound (seconds) of a latency bin: what a percentile in that bin reports."""
    return LATENCY_BASE * LATENCY_GROWTH**index


@dataclass(slots=True)
class Bucket:
    total: int = 0
    failures: int = 0
    first_failure_at: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)  # failure reason -> count
    last_failure_at: float | None = None
    latency: dict[int, int] = field(default_factory=dict)  # latency bin -> count

    def to_state(self) -> dict[str, Any]:
        return {
            "t": self.total,
            "f": self.failures,
            "ff": self.first_failure_at,
            "lf": self.last_failure_at,
            "r": dict(self.reasons),
            "l": {str(k): v for k, v in self.latency.items()},
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Bucket:
        ff = data.get("ff")
        lf = data.get("lf")
        return cls(
            last_failure_at=None if lf is None else float(lf),
            total=int(data["t"]),
            failures=int(data["f"]),
            first_failure_at=None if ff is None else float(ff),
            reasons={str(k): int(v) for k, v in data.get("r", {}).items()},
            latency={int(k): int(v) for k, v in data.get("l", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Counts:
    """Totals over a span of buckets."""

    total: int
    failures: int
    first_failure_at: float | None  # earliest failing probe in the span

    @property
    def ratio(self) -> float:
        return self.failures / self.total if self.total else 0.0


class Window:
    """Bucketed samples over the trailing `span` seconds."""

    def __init__(self, span: float, width: float | None = None) -> None:
        self.span = float(span)
        self.width = float(width) if width else bucket_width(self.span)
        self._buckets: dict[int, Bucket] = {}
        self.version = 0  # bumped by every change, for callers that cache derived values
        self.failures_held = 0  # failures in all held buckets: 0 means no failure anywhere
        self._min_key: int | None = None  # oldest held bucket, so `prune` is O(1) when idle
        self._reasons_cache: tuple[tuple[int, int, int], dict[str, int]] | None = None

    # -- writing -------------------------------------------------------------------------

    def add(self, at: float, failed: bool, latency: float | None, reason: str = "") -> None:
        self.version += 1
        key = math.floor(at / self.width)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket()
            if self._min_key is None or key < self._min_key:
                self._min_key = key
        bucket.total += 1
        if failed:
            bucket.failures += 1
            self.failures_held += 1
            if bucket.first_failure_at is None or at < bucket.first_failure_at:
                bucket.first_failure_at = at
            if bucket.last_failure_at is None or at > bucket.last_failure_at:
                bucket.last_failure_at = at
            if reason:
                bucket.reasons[reason] = bucket.reasons.get(reason, 0) + 1
        if latency is not None and latency >= 0:
            b = latency_bin(latency)
            bucket.latency[b] = bucket.latency.get(b, 0) + 1

    def prune(self, now: float) -> None:
        """Drop buckets older than the span: O(1) unless one is due (once per bucket)."""
        oldest = self._oldest_key(now)
        if self._min_key is None or self._min_key >= oldest:
            return
        stale = [k for k in self._buckets if k < oldest]
        for key in stale:
            self.failures_held -= self._buckets.pop(key).failures
        self._min_key = min(self._buckets, default=None)
        if stale:
            self.version += 1

    def clear(self) -> None:
        self._buckets.clear()
        self.failures_held = 0
        self._min_key = None
        self.version += 1

    # -- reading -------------------------------------------------------------------------

    def _oldest_key(self, now: float) -> int:
        return math.floor((now - self.span) / self.width) + 1

    def _live(self, now: float) -> list[tuple[int, Bucket]]:
        oldest = self._oldest_key(now)
        return sorted((k, b) for k, b in self._buckets.items() if k >= oldest)

    @property
    def bucket_count(self) -> int:
        """Buckets currently held (bounded by span / width + 1 after `prune`)."""
        return len(self._buckets)

    def counts(self, now: float) -> Counts:
        return _sum(b for _, b in self._live(now))

    def suffixes(self, now: float) -> list[Counts]:
        """Counts over the trailing 2, 4, 8, ... buckets and finally the whole span."""
        current = math.floor(now / self.width)
        full = max(1, math.ceil(self.span / self.width))
        sizes: list[int] = []
        size = 2
        while size < full:
            sizes.append(size)
            size *= 2
        sizes.append(full)
        oldest = self._oldest_key(now)
        buckets = self._buckets
        out: list[Counts] = []
        total = failures = 0
        first: float | None = None
        key = current
        for size in sizes:
            boundary = max(current - size + 1, oldest)
            while key >= boundary:
                b = buckets.get(key)
                key -= 1
                if b is None:
                    continue
                total += b.total
                failures += b.failures
                ff = b.first_failure_at
                if ff is not None and (first is None or ff < first):
                    first = ff
            out.append(Counts(total, failures, first))
        return out

    def trailing(self, now: float) -> list[tuple[int, int, float]]:
        """(total, failures, start time) over the newest 1, 2, 3, ... buckets held."""
        oldest = self._oldest_key(now)
        key = math.floor(now / self.width)
        out: list[tuple[int, int, float]] = []
        total = failures = 0
        for k in sorted((k for k in self._buckets if oldest <= k <= key), reverse=True):
            b = self._buckets[k]
            total += b.total
            failures += b.failures
            out.append((total, failures, k * self.width))
        return out

    def last_failure_before(self, at: float) -> float | None:
        """The latest failing probe in the buckets that begin before `at`."""
        out: float | None = None
        for k, b in self._buckets.items():
            lf = b.last_failure_at
            if k * self.width < at and lf is not None and lf < at and (out is None or lf > out):
                out = lf
        return out

    def percentile(self, now: float, q: float) -> float | None:
        """Latency at quantile q (0..1) over the window, None without samples."""
        merged: dict[int, int] = {}
        for _, b in self._live(now):
            for k, v in b.latency.items():
                merged[k] = merged.get(k, 0) + v
        total = sum(merged.values())
        if total == 0:
            return None
        rank = max(1, math.ceil(q * total))
        seen = 0
        for k in sorted(merged):
            seen += merged[k]
            if seen >= rank:
                return bin_upper(k)
        return bin_upper(max(merged))  # pragma: no cover - rank <= total always hits above

    def reasons(self, now: float) -> dict[str, int]:
        """Failure reason counts over the window (cached on content and oldest bucket)."""
        key = (self.version, self._oldest_key(now), math.floor(now / self.width))
        cached = self._reasons_cache
        if cached is not None and cached[0] == key:
            return dict(cached[1])
        out: dict[str, int] = {}
        if self.failures_held:
            for _, b in self._live(now):
                for k, v in b.reasons.items():
                    out[k] = out.get(k, 0) + v
        self._reasons_cache = (key, out)
        return dict(out)

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "span": self.span,
            "width": self.width,
            "buckets": {str(k): b.to_state() for k, b in sorted(self._buckets.items())},
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Window:
        window = cls(float(data["span"]), float(data["width"]))
        for k, b in data.get("buckets", {}).items():
            window._buckets[int(k)] = Bucket.from_state(b)
        window.failures_held = sum(b.failures for b in window._buckets.values())
        window._min_key = min(window._buckets, default=None)
        return window


def _sum(buckets: Iterable[Bucket]) -> Counts:
    total = failures = 0
    first: float | None = None
    for b in buckets:
        total += b.total
        failures += b.failures
        if b.first_failure_at is not None and (first is None or b.first_failure_at < first):
            first = b.first_failure_at
    return Counts(total, failures, first)
