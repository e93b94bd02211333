"""`python -m bench.agent_confirm` runs and prints a figure per scenario and harness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_agent_confirm_prints_every_scenario() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "bench.agent_confirm", "--offsets", "7.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines() if " s (worst " in line]
    assert len(lines) == 6, out
    for line in lines:  # within two intervals, with the merged confirmation rounds
        worst = float(line.split("(worst ")[1].split(")")[0])
        assert worst <= 30.0 and "merged confirmation rounds >= 13" in line, line
    assert "before: agents without confirmation rounds" in out
