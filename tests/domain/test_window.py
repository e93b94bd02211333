from __future__ import annotations

import json

import pytest

from prober.domain.window import Window, bin_upper, bucket_width, latency_bin

T = 1_000_000.0


@pytest.mark.parametrize(("span", "width"), [(300.0, 5.0), (60.0, 1.0), (3600.0, 5.0), (6.0, 0.25)])
def test_bucket_width(span: float, width: float) -> None:
    assert bucket_width(span) == width


@pytest.mark.parametrize("latency", [0.0005, 0.001, 0.0123, 0.25, 1.0, 4.9, 30.0])
def test_latency_bin_upper_bound_is_within_ten_percent(latency: float) -> None:
    upper = bin_upper(latency_bin(latency))
    assert upper >= latency * (1 - 1e-9)
    assert upper <= max(latency, 0.001) * 1.1 + 1e-12


def test_memory_is_bounded_whatever_the_probe_rate() -> None:
    w = Window(300.0)
    for i in range(100_000):  # 100 probes a second for 1000 s
        now = T + i / 100
        w.add(now, i % 50 == 0, 0.01 + (i % 7) / 100, "http_5xx" if i % 50 == 0 else "")
        if i % 1000 == 0:
            w.prune(now)
    w.prune(T + 1000)
    assert w.bucket_count <= 61
    counts = w.counts(T + 1000)
    assert 29_000 <= counts.total <= 30_100
    assert counts.ratio == pytest.approx(0.02, abs=0.001)


@pytest.mark.parametrize(
    ("failures", "total", "ratio"), [(0, 10, 0.0), (3, 10, 0.3), (10, 10, 1.0), (0, 0, 0.0)]
)
def test_ratio(failures: int, total: int, ratio: float) -> None:
    w = Window(300.0)
    for i in range(total):
        w.add(T + i, i < failures, 0.1)
    assert w.counts(T + total).ratio == ratio
    assert w.counts(T + total).total == total


def test_old_samples_leave_the_window() -> None:
    w = Window(300.0)
    w.add(T, True, 0.1, "timeout")
    assert w.counts(T + 299).failures == 1
    assert w.counts(T + 306).failures == 0
    assert w.reasons(T + 1) == {"timeout": 1}
    assert w.reasons(T + 400) == {}


def test_percentile() -> None:
    w = Window(300.0)
    for i in range(100):
        w.add(T, False, (i + 1) / 100)  # 0.01 .. 1.00 s
    p95 = w.percentile(T, 0.95)
    assert p95 is not None and 0.95 <= p95 <= 0.95 * 1.1
    p50 = w.percentile(T, 0.5)
    assert p50 is not None and 0.5 <= p50 <= 0.55
    assert Window(300.0).percentile(T, 0.95) is None


def test_suffixes_see_a_recent_burst_and_its_first_failure() -> None:
    w = Window(300.0)
    for s in range(0, 300, 5):  # 5 minutes healthy, 10 probes per 5 s
        for _ in range(10):
            w.add(T + s, False, 0.05)
    burst = T + 300
    for s in (0, 5):
        for i in range(10):
            w.add(burst + s, i < 3, 0.05, "http_5xx")
    suffixes = w.suffixes(burst + 5)
    assert next(c.total for c in suffixes) == 20
    assert suffixes[0].failures == 6
    assert suffixes[0].first_failure_at == burst
    assert suffixes[-1].ratio == pytest.approx(6 / 600, abs=0.002)


def test_state_round_trip_is_json() -> None:
    w = Window(300.0)
    w.add(T, True, 0.2, "http_5xx")
    w.add(T + 1, False, 0.3)
    data = json.loads(json.dumps(w.to_state()))
    back = Window.from_state(data)
    assert back.counts(T + 2) == w.counts(T + 2)
    assert back.percentile(T + 2, 0.5) == w.percentile(T + 2, 0.5)
    assert back.reasons(T + 2) == {"http_5xx": 1}
