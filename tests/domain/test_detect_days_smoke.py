"""bench/detect_days.py keeps working at a tiny size (its figures are the benchmark's;
only the shape and the outage verdict, which is deterministic given the seed, are checked)."""

from __future__ import annotations

from bench.detect_days import main, outage, steady
from prober.domain.status import ComponentStatus
from prober.probes.result import Reason


def test_outage_row_has_every_figure() -> None:
    o = outage("500s", Reason.HTTP_5XX, seed=1)
    assert o.detect is not None and o.detect <= 10.0  # two intervals
    assert o.impact == "critical"
    assert o.to_operational is not None and o.to_resolved is not None
    assert o.recorded is not None and abs(o.recorded - o.true) <= 5.0  # one interval


def test_steady_rows_name_the_band() -> None:
    rows = steady(0.05, seed=1)
    assert [r[1] for r in rows][:1] == [ComponentStatus.DEGRADED_PERFORMANCE]
    assert len(rows) == 6


def test_command_line_prints_every_section(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--days", "0.02", "--other-days", "0.01", "--hours", "0.02"]) == 0
    out = capsys.readouterr().out
    for heading in ("false incidents", "steady rates", "total outage"):
        assert heading in out
