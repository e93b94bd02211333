"""The probe-overhead benchmark keeps working (tiny size; figures are not asserted)."""

from __future__ import annotations

from bench import probe_overhead


def test_probe_overhead_runs_tiny() -> None:
    result = probe_overhead.measure(n=20, concurrency=4, repeats=1)
    assert result["failures"] == 0
    per = result["cpu_s_per_1000"]
    assert set(per) == set(probe_overhead.VARIANTS)
    assert all(v > 0 for v in per.values())
