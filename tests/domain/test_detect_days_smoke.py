"""bench/detect_days.py keeps working at a tiny size (its figures are the benchmark's;
only the shape and the total-outage verdicts, deterministic given the seed, are checked)."""

from __future__ import annotations

import pytest

from bench.detect_days import DEFAULTS, EXAMPLE, Setting, main, outage, steady
from prober.domain.status import ComponentStatus
from prober.probes.result import Reason


@pytest.mark.parametrize("setting", [DEFAULTS, EXAMPLE], ids=["defaults", "example"])
def test_total_outage_meets_the_bars(setting: Setting) -> None:
    for seed in range(3):
        o = outage("500s", Reason.HTTP_5XX, seed, setting=setting)
        assert o.detect is not None and o.detect <= 2 * setting.interval
        assert o.impact == "critical"
        assert o.to_operational is not None and o.to_resolved is not None
        assert o.to_operational <= 2 * setting.interval + 60.0  # + recovery_time
        assert o.recorded is not None and abs(o.recorded - o.true) <= setting.interval


def test_steady_rows_name_the_band() -> None:
    rows = steady(0.05, seed=1)
    assert [r[1] for r in rows][:1] == [ComponentStatus.DEGRADED_PERFORMANCE]
    assert len(rows) == 6


def test_command_line_prints_every_section(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--days", "0.02", "--other-days", "0.01", "--hours", "0.02", "--runs", "1"]
    assert main([*args, "--setting", "defaults"]) == 0
    out = capsys.readouterr().out
    for heading in ("defaults", "false incidents", "steady rates", "episodes", "30% 500s"):
        assert heading in out
