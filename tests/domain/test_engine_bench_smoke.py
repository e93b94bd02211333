"""bench/engine_bench.py keeps working (tiny size; no timing asserted: benchmarks are not tests)."""

from __future__ import annotations

from bench.engine_bench import main, run


def test_engine_bench_runs_at_a_tiny_size() -> None:
    r = run(checks=200, components=100, interval=10.0, warmup=1, intervals=16)
    assert r["effects"] > 0  # the failing checks made components change and incidents open
    assert r["observe_mean"] > 0 and r["tick_mean"] > 0


def test_engine_bench_command_line(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--checks", "100", "--components", "5", "100"]) == 0
    out = capsys.readouterr().out
    assert "observe" in out and "tick" in out
