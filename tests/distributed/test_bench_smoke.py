"""The agent benchmarks run end to end at smoke size (figures are printed, not asserted)."""

from __future__ import annotations

import json

import pytest

from bench import agent, agent_latency


def test_agent_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert agent.main(["-n", "60", "-c", "4", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["failures"] == 0
    assert out["rows_per_1000_probes"]["agent_sqlite"] == 1000.0


def test_agent_latency_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert agent_latency.main(["--seconds", "1.5", "--checks", "20", "--db", "sqlite"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rounds_decided"] > 0 and out["rows_written"] >= 3 * out["rounds_decided"] - 60


def test_quorum_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import quorum

    assert quorum.main(["--checks", "50", "--seconds", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["observations"] == 3 * out["decisions"] > 0
