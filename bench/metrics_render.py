"""/metrics render cost at scale: prober's exposition next to a naive prometheus_client one.

    python bench/metrics_render.py [--checks 10000] [--repeats 7] [--detail] [--blackbox]
                                   [--json out.json]

Both sides get the same realistic rounds (mostly ok, a few 5xx/timeouts, all five phases,
certificate expiry on https checks). Before each timed prober render every check records
a fresh round, as happens between two scrapes when the interval (10 s) is shorter than the
scrape interval (15 s); the first render after a (re)load, which also builds the
templates, is reported apart. Series are the exposition's sample lines; series per check
counts those carrying a `check` label, divided by the number of checks; the gzip size is
what a scraper sending `Accept-Encoding: gzip` receives. --detail and --blackbox switch on
the opt-in per-check families (`MetricsOptions`). The naive side is a labelled Histogram
(default buckets), Counter and Gauges per check, rendered with generate_latest. Figures are medians.

Ledger line "fastexpo" (docs/PERFORMANCE.md): on the same per-check state, after the same
rounds, the optimised renderer (`prober.metrics.fastexpo`) and the plain prometheus_client
one (`prober.metrics.plainexpo`, same samples) are timed alternately; the "fastexpo / plain"
rows and the CPU ratio are that comparison.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from prober.config.model import Check
from prober.metrics import Metrics, MetricsOptions
from prober.metrics.plainexpo import render_plain
from prober.probes.result import PHASES, ProbeResult, Reason

FAILURES = (Reason.HTTP_5XX, Reason.TIMEOUT, Reason.CONNECT)


def make_checks(n: int) -> list[Check]:
    return [
        Check(
            id=f"check-{i:05d}",
            component=f"component-{i % 200:03d}",
            url=("https" if i % 2 else "http") + f"://svc-{i}.internal.test/health",
        )
        for i in range(n)
    ]


def make_round(check: Check, rnd: random.Random, at: float) -> list[ProbeResult]:
    out = []
    for _ in range(check.requests_per_round):
        failed = rnd.random() < 0.03
        reason = rnd.choice(FAILURES) if failed else Reason.OK
        duration = min(9.0, rnd.lognormvariate(-2.5, 0.6))
        phases = {p: duration * w for p, w in zip(PHASES, (0.05, 0.1, 0.2, 0.6, 0.05), strict=True)}
        out.append(
            ProbeResult(
                check.id,
                check.component,
                at,
                reason,
                duration,
                503 if reason is Reason.HTTP_5XX else (200 if not failed else None),
                phases=phases,
                cert_expiry=1_790_000_000.0 if check.url.startswith("https") else None,
            )
        )
    return out


class Naive:
    """What a first attempt looks like: prometheus_client children per check."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.probes = Counter("prober_probes", "", ["check", "component", "reason"], registry=r)
        self.duration = Histogram(
            "prober_probe_duration_seconds", "", ["check", "component"], registry=r
        )
        self.phase = Gauge("prober_probe_phase_seconds", "", ["check", "phase"], registry=r)
        self.up = Gauge("prober_check_up", "", ["check", "component"], registry=r)
        self.success = Gauge(
            "prober_check_last_success_timestamp_seconds", "", ["check", "component"], registry=r
        )
        self.code = Gauge("prober_check_last_status_code", "", ["check", "component"], registry=r)
        self.cert = Gauge(
            "prober_check_tls_cert_expiry_timestamp_seconds", "", ["check", "component"], registry=r
        )

    def record(self, check: Check, results: list[ProbeResult]) -> None:
        for res in results:
            self.probes.labels(check.id, check.component, res.reason.value).inc()
            self.duration.labels(check.id, check.component).observe(res.duration)
            if res.ok:
                self.success.labels(check.id, check.component).set(res.at)
            if res.cert_expiry is not None:
                self.cert.labels(check.id, check.component).set(res.cert_expiry)
        last = results[-1]
        for p, v in last.phases.items():
            self.phase.labels(check.id, p).set(v)
        self.up.labels(check.id, check.component).set(all(r.ok for r in results))
        self.code.labels(check.id, check.component).set(last.status_code or 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def timed(fn: Any) -> tuple[float, float, Any]:
    """(wall seconds, cpu seconds, result)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def count_series(body: bytes) -> tuple[int, int]:
    """(sample lines, sample lines with a `check` label)."""
    lines = [line for line in body.split(b"\n") if line and not line.startswith(b"#")]
    return len(lines), sum(1 for line in lines if b'check="' in line)


def run(
    n_checks: int = 10_000,
    repeats: int = 7,
    warmup_rounds: int = 20,
    options: MetricsOptions | None = None,
) -> dict[str, Any]:
    rnd = random.Random(42)
    checks = make_checks(n_checks)
    metrics = Metrics(CollectorRegistry(), options=options)
    metrics.set_checks(checks)
    naive = Naive()
    at = 1_780_000_000.0

    def record_all(naive_too: bool) -> None:
        nonlocal at
        at += 10.0
        for c in checks:
            results = make_round(c, rnd, at)
            metrics.record_round(c, results, rnd.random() * 0.002)
            if naive_too:
                naive.record(c, results)

    record_all(True)
    first_wall, first_cpu, _ = timed(metrics.render)
    for _ in range(warmup_rounds):
        record_all(True)
    table = metrics._checks  # the per-check state both renderers read
    walls, cpus, size = [], [], 0
    fast_cpus: list[float] = []
    plain_cpus: list[float] = []
    for _ in range(repeats):
        record_all(False)
        wall, cpu, body = timed(metrics.render)
        walls.append(wall)
        cpus.append(cpu)
        size = len(body)
        fast_cpus.append(timed(lambda: b"".join(table.render()))[1])
        plain_cpus.append(timed(lambda: render_plain(table))[1])
    series, check_series = count_series(body)
    gz_size = len(gzip.compress(body, 6))
    n_walls, n_cpus, n_size = [], [], 0
    for _ in range(max(1, repeats // 2)):
        wall, cpu, body = timed(naive.render)
        n_walls.append(wall)
        n_cpus.append(cpu)
        n_size, n_body = len(body), body
    return {
        "checks": n_checks,
        "prober_render_ms": round(statistics.median(walls) * 1000, 1),
        "prober_render_cpu_ms": round(statistics.median(cpus) * 1000, 1),
        "prober_first_render_ms": round(first_wall * 1000, 1),
        "prober_first_render_cpu_ms": round(first_cpu * 1000, 1),
        "prober_size_mb": round(size / 1e6, 2),
        "prober_bytes": size,
        "prober_gzip_bytes": gz_size,
        "prober_series": series,
        "prober_series_per_check": round(check_series / n_checks, 2),
        "options": {
            "detail": bool(options and options.detail),
            "blackbox": bool(options and options.blackbox),
        },
        "naive_series": count_series(n_body)[0],
        "naive_render_ms": round(statistics.median(n_walls) * 1000, 1),
        "naive_render_cpu_ms": round(statistics.median(n_cpus) * 1000, 1),
        "naive_size_mb": round(n_size / 1e6, 2),
        "fastexpo_cpu_ms": round(statistics.median(fast_cpus) * 1000, 1),
        "plainexpo_cpu_ms": round(statistics.median(plain_cpus) * 1000, 1),
        "fastexpo_speedup": round(
            statistics.median(plain_cpus) / max(statistics.median(fast_cpus), 1e-9), 1
        ),
        "speedup": round(statistics.median(n_cpus) / max(statistics.median(cpus), 1e-9), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--checks", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup-rounds", type=int, default=20)
    ap.add_argument("--detail", action="store_true", help="per-check histograms and phases")
    ap.add_argument("--blackbox", action="store_true", help="blackbox-compatible families")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    options = MetricsOptions(detail=args.detail, blackbox=args.blackbox)
    res = run(args.checks, args.repeats, args.warmup_rounds, options)
    print(f"/metrics render, {res['checks']} checks (median), options {res['options']}")
    print(f"{'':22}{'wall ms':>10}{'cpu ms':>10}{'size MB':>10}")
    print(
        f"{'prober':22}{res['prober_render_ms']:>10}{res['prober_render_cpu_ms']:>10}"
        f"{res['prober_size_mb']:>10}"
    )
    print(f"{'prober first render':22}{res['prober_first_render_ms']:>10}")
    print(
        f"{'naive prometheus_client':22}{res['naive_render_ms']:>10}"
        f"{res['naive_render_cpu_ms']:>10}{res['naive_size_mb']:>10}"
    )
    print(f"speedup (cpu): {res['speedup']}x")
    print(
        f"per-check families, same state: fastexpo {res['fastexpo_cpu_ms']} cpu ms, "
        f"plainexpo (prometheus_client) {res['plainexpo_cpu_ms']} cpu ms: "
        f"{res['fastexpo_speedup']}x"
    )
    print(
        f"prober: {res['prober_series']:,} series, {res['prober_series_per_check']} per check, "
        f"{res['prober_bytes']:,} bytes ({res['prober_gzip_bytes']:,} gzipped); "
        f"naive: {res['naive_series']:,} series"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
