"""bench.soak runs end to end (two kills) and reports every figure at zero; the real figures
come from `python -m bench.soak` (see docs/PERFORMANCE.md)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.soak import MUST_BE_ZERO, Receiver, main, summarize


def test_the_soak_bench_runs_and_reports_zero_losses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "soak.json"
    assert main(["--kills", "2", "--seed", "3", "--max-gap", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for key in (*MUST_BE_ZERO, "webhooks_duplicated", "kills"):
        assert key in printed
    assert '"kills": 2' in out.read_text()


def test_the_soak_summary_counts_what_it_claims(tmp_path: Path) -> None:
    """The checker itself can fail: a lost update, overlapping incidents, a stuck one."""
    rx = Receiver(random.Random(0), 0.0)
    rx.received = [
        ("a", "incident.opened", "i1", "u1"),
        ("a", "incident.opened", "i1", "u1"),
        ("b", "incident.opened", "i9", "u9"),
    ]
    final = {
        "incidents": [("i1", "resolved", 1.0, 10.0), ("i2", "investigating", 5.0, None)],
        "updates": [("u1", "i1"), ("u2", "i2")],
        "pending": 0,
        "dropped": 0,
    }
    r = summarize(final, rx, 1, 0, 0, 1.0)
    assert r["incidents_lost"] == 1 and r["updates_lost"] == 1  # i9 / u9 announced, gone
    assert r["incidents_duplicated"] == 1 and r["incidents_stuck"] == 1
    assert r["webhooks_lost"] == 1 and r["webhooks_duplicated"] == 1  # u2 never sent; a twice
