"""The ledger's own benches keep working at a tiny size (docs/PERFORMANCE.md, the ledger).

No timing assertions: figures vary with the machine. Asserted: each bench runs both the
plain alternative and the optimised code, and prints a row for each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=120, cwd=REPO, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_gc_pause_bench_runs_both_policies() -> None:
    out = run("-m", "bench.gc_pause", "--objects", "3000", "--rounds", "50", "--repeats", "1")
    header = next(line for line in out.splitlines() if "default gc" in line)
    assert "quiet_gc" in header
    rows = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    assert {"full_collections", "max_pause_ms", "rounds_cpu_ms", "one_timed_full_ms"} <= rows


def test_api_cache_bench_runs_plain_and_optimised() -> None:
    out = run("-m", "bench.api_cache", "--requests", "5", "--repeats", "1")
    for variant in (
        "fastcache plain",
        "fastcache optimised",
        "fastjson plain",
        "fastjson optimised",
        "fastcache: plain / optimised",
        "fastjson:  plain / optimised",
    ):
        assert variant in out, out


def test_scheduler_lag_bench_has_the_plain_render() -> None:
    out = run(
        "bench/scheduler_lag.py",
        "--checks", "20", "--interval", "0.2", "--seconds", "0.6",
        "--scrape-interval", "0.2", "--sync-render", "--no-uvloop",
    )  # fmt: skip
    assert "render() (blocking)" in out
    assert "lag_p99_ms_during_scrapes" in out


def test_agent_codec_bench_runs_plain_and_fastcodec() -> None:
    import json

    out = json.loads(run("-m", "bench.agent_codec", "--rounds", "500", "--repeats", "1"))
    assert set(out["us_per_round"]) == {"plain", "fastcodec"}
    assert all(v > 0 for v in out["us_per_round"].values())
