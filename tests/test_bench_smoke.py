"""The benchmark keeps working: `python -m bench --quick` at its tiny size, plus its pure parts.

No timing assertions: figures vary with the machine. What is asserted is that every section
ran, produced the documented keys, sent real traffic without errors, and judged every bar.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import bars, promtext
from bench.targets import Blackbox

REPO = Path(__file__).resolve().parents[1]

BARS = {
    "CPU per probe / bare aiohttp loop",
    "  same, both saturated",
    "CPU per probe / blackbox_exporter",
    "probes per second on one core",
    "scheduler lag p99 at scale",
    "RSS at scale",
    "/metrics GET while probing (scraper's wait)",
    "  render() alone (bench/metrics_render.py)",
    "status API p99 under load",
    "lag p99 during API load (probing undisturbed)",
}


@pytest.mark.slow
def test_quick_bench_writes_table_and_json(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out_json)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for heading in ("Cost per probe", "Scale:", "The bar (issue 6)", "prober/aiohttp"):
        assert heading in proc.stdout, proc.stdout

    data = json.loads(out_json.read_text())
    assert data["quick"] is True
    assert {"target", "loop", "pinning", "loadavg_start"} <= data["environment"].keys()

    cost = data["cost"]
    contenders = ["prober", "aiohttp"] + (["blackbox"] if Blackbox.available() else [])
    for name in contenders:
        figures = cost[name]
        assert figures["failed_runs"] == [], figures["failed_runs"]
        assert figures["errors"] == 0
        for key in (
            "pps_per_core",
            "pps_wall",
            "ms_per_probe",
            "ms_per_probe_saturated",
            "rate_achieved",
        ):
            assert figures[key] is not None and figures[key] > 0, (name, key, figures)
    assert cost["prober"]["runner_lag_p99"] is not None

    scale = data["scale"]
    assert scale["mode"] == "prober run process", scale["mode"]
    assert scale["exit_code"] == 0
    for window in ("before", "during_api_load"):
        w = scale[window]
        assert w["probes_per_second"] > 0
        assert w["rounds"] > 0 and w["lag_p99"] is not None
    assert scale["rss_bytes"] > 0
    assert scale["metrics_bytes"] > 0 and scale["metrics_series"] > scale["checks"]
    assert scale["metrics_render_seconds_median"] > 0
    assert scale["metrics_gets"] == 3  # the quick size's GETs, each answered
    assert "metrics_foreign_share" in scale  # None only when the bench could not pin
    iso = scale["metrics_render_isolated"]
    assert iso["checks"] == scale["checks"] and iso["prober_render_ms"] > 0, iso
    api = scale["api"]
    assert api["sent"] > 0 and api["errors"] == 0 and api["statuses"] == {"200": api["sent"]}
    assert api["p99"] is not None

    judged = {v["bar"]: v for v in data["bar"]}
    assert judged.keys() == BARS
    for name, verdict in judged.items():
        if name == "CPU per probe / blackbox_exporter" and not Blackbox.available():
            continue
        assert verdict["met"] in (True, False), verdict
        assert verdict["by"].startswith(("met", "NOT MET")), verdict


def test_histogram_quantile_matches_promql() -> None:
    text = "\n".join(
        [
            "# TYPE prober_scheduler_lag_seconds histogram",
            'prober_scheduler_lag_seconds_bucket{le="0.01"} 50',
            'prober_scheduler_lag_seconds_bucket{le="0.05"} 99',
            'prober_scheduler_lag_seconds_bucket{le="+Inf"} 100',
            "prober_scheduler_lag_seconds_count 100",
            'prober_probes_total{check="a"} 7',
            'prober_probes_total{check="b"} 3',
        ]
    )
    scrape = promtext.parse(text)
    assert scrape.probes_total == 10
    assert scrape.lag_count == 100
    assert promtext.histogram_quantile(0.5, scrape.lag_buckets) == pytest.approx(0.01)
    assert promtext.histogram_quantile(0.25, scrape.lag_buckets) == pytest.approx(0.005)
    assert promtext.histogram_quantile(0.99, scrape.lag_buckets) == pytest.approx(0.05)
    assert promtext.histogram_quantile(1.0, scrape.lag_buckets) == pytest.approx(0.05)
    assert promtext.share_within(0.05, scrape.lag_buckets) == pytest.approx(0.99)
    empty = promtext.parse("")
    assert promtext.delta(scrape, empty)[-1] == (math.inf, 100)
    assert promtext.histogram_quantile(0.5, empty.lag_buckets) is None


def test_judge_says_by_how_much() -> None:
    assert bars.judge("x", 1.0, 1.3, "x").by == "met: 23% headroom"
    assert bars.judge("x", 2.6, 1.3, "x").by == "NOT MET: 100% over"
    assert bars.judge("pps", 1500.0, 3000.0, "/s", at_most=False).by == "NOT MET: 50% short"
    assert bars.judge("pps", None, 3000.0, "/s", at_most=False).met is None


@pytest.mark.slow
def test_in_process_scale_host_serves_metrics_and_api(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--skip",
            "cost",
            "--in-process",
            "--checks",
            "50",
            "--json",
            str(out_json),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    scale = json.loads(out_json.read_text())["scale"]
    assert scale["mode"].startswith("in-process"), scale["mode"]
    assert scale["errors"] == {}, scale["errors"]
    assert scale["before"]["probes_per_second"] > 0
    assert scale["metrics_series"] > 50
    assert scale["api"]["errors"] == 0 and scale["api"]["sent"] > 0


@pytest.mark.slow
def test_distributed_section_runs_agents_postgres_and_a_failover(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--skip", "cost", "--skip", "scale",
         "--json", str(out_json)],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Distributed mode (issue 14)" in proc.stdout, proc.stdout
    d = json.loads(out_json.read_text())["distributed"]
    t = d["throughput"]
    assert t["failures"] == 0 and t["rows_per_1000_probes"] == 1000, t
    assert t["single_node_probes_per_core_s"] > 0 and t["agent_postgres_probes_per_core_s"] > 0
    assert d["latency"]["rounds_decided"] > 0 and d["latency"]["extra_latency_s"]["p99"] > 0
    assert d["storage"]["rows_per_1000_probes"] == 1000.0
    assert d["storage"]["table_bytes_per_1000_probes"] > 0
    assert d["storage"]["wal_bytes_per_1000_probes"] > 0
    leader = d["leader"]
    assert leader["merged_rounds"] == leader["checks"] * leader["rounds"] > 0, leader
    f = d["failover"]
    assert f["runs"] == 1 and 0 < f["elected_s"]["max"] <= f["first_write_s"]["max"], f
