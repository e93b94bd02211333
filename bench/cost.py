"""Cost per probe: prober, the bare aiohttp floor and blackbox_exporter, side by side.

Each workload runs in its own process on the measured core (blackbox: the exporter is on
the measured core and its driver on the other). Repeats are interleaved (prober, aiohttp,
blackbox, prober, ...) so slow drift on the machine hits all three alike; each figure is the
median over repeats. Two shapes per contender:

- saturation: closed loops, `concurrency` GETs in flight; `pps_wall` is what the process
  achieved, `pps_per_core` is probes per CPU-second of that process (what one whole core
  sustains, even when something else shared the core during the run);
- fixed rate: open-loop at `rate` per second (prober: the real Runner with rate x interval
  checks); `ms_per_probe` is CPU milliseconds per probe, which is also CPU-seconds per
  1,000 probes. The ratios of the bar use these same-rate figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procstat import median, pinned
from bench.targets import Blackbox

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class CostSize:
    duration: float  # measured seconds per workload
    warmup: float
    concurrency: int
    rate: float  # probes per second for the fixed-rate runs
    interval: float  # check interval of the runner at that rate


def _worker(spec: dict[str, Any], core: int | None) -> dict[str, Any]:
    timeout = spec["warmup"] + spec["duration"] + 60
    out = subprocess.run(
        pinned(core, [sys.executable, "-m", "bench.worker", json.dumps(spec)]),
        capture_output=True,
        text=True,
        cwd=str(REPO),
        timeout=timeout,
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"kind": spec["kind"], "error": out.stderr.strip()[-1500:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run(
    target: str,
    blackbox: Blackbox | None,
    size: CostSize,
    repeat: int,
    core: int | None,
    driver_core: int | None,
    use_uvloop: bool,
) -> dict[str, Any]:
    contenders = ["prober", "aiohttp"] + (["blackbox"] if blackbox is not None else [])
    runs: dict[str, list[dict[str, Any]]] = {
        f"{c}_{s}": [] for c in contenders for s in ("sat", "rate")
    }
    for _ in range(repeat):
        for shape in ("sat", "rate"):
            for name in contenders:
                kind = f"{name}_{shape}"
                warmup = size.warmup
                if kind == "prober_rate":  # every check must have fired once first
                    warmup = max(size.warmup, size.interval + 0.2)
                spec: dict[str, Any] = {
                    "kind": kind,
                    "target": target,
                    "concurrency": size.concurrency,
                    "duration": size.duration,
                    "warmup": warmup,
                    "rate": size.rate,
                    "interval": size.interval,
                    "uvloop": use_uvloop,
                    "measured_core": core,
                }
                where = core
                if name == "blackbox" and blackbox is not None:
                    spec["blackbox_pid"] = blackbox.pid
                    spec["probe_url"] = blackbox.probe_url(target + "/ok")
                    where = driver_core
                runs[kind].append(_worker(spec, where))
    summary: dict[str, Any] = {
        "rate": size.rate,
        "concurrency": size.concurrency,
        "duration": size.duration,
        "repeat": repeat,
    }
    for name in contenders:
        sat, rate = runs[f"{name}_sat"], runs[f"{name}_rate"]
        per_core = [r["probes"] / r["cpu"] if r.get("cpu") else None for r in sat]
        summary[name] = {
            "pps_per_core": median(per_core),
            "pps_wall": median([r.get("pps") for r in sat]),
            "cpu_share_saturated": median([r.get("cpu_share") for r in sat]),
            "ms_per_probe_saturated": median([r.get("ms_per_probe") for r in sat]),
            "ms_per_probe": median([r.get("ms_per_probe") for r in rate]),
            "rate_achieved": median([r.get("pps") for r in rate]),
            "cpu_share_at_rate": median([r.get("cpu_share") for r in rate]),
            "foreign_share": median([r.get("foreign_share") for r in sat + rate]),
            "errors": sum(int(r.get("errors", 0)) for r in sat + rate),
            "failed_runs": [r["error"] for r in sat + rate if "error" in r],
            "loop": next((r["loop"] for r in sat + rate if "loop" in r), None),
        }
        if name == "prober":
            summary[name]["runner_lag_p99"] = median([r.get("lag_p99") for r in rate])
    summary["runs"] = runs
    return summary
