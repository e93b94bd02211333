"""Scale: many checks in a real `prober run` process, its /metrics and status API under load.

The prober process is pinned to the measured core; nginx, this orchestrator and the load
generator stay on the other. Windows, in order:

1. warm-up: one interval and a bit, so every check has fired;
2. `before`: probing alone. CPU share from /proc, scheduler lag quantiles from the delta
   of the `prober_scheduler_lag_seconds` histogram between two scrapes, probes per second
   from `prober_probes_total`;
3. `/metrics`: timed GETs (wall time of the whole request as a scraper sees it) and size,
   spaced `METRICS_GAP` apart, with the other load on the measured core during them: on
   a shared machine a burst of foreign load there multiplies this wait (a 10-20 ms GET
   becomes 70-300 ms) without any change in prober, so read the median with that share;
4. `during`: the load generator sends GET /api/v2/summary.json open-loop at a fixed rate
   while the same figures are taken again, so lag during can be compared with before.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from bench import promtext
from bench.procstat import core_busy, cpu_seconds, pinned, rss_bytes

REPO = Path(__file__).resolve().parents[1]
API_PATH = "/api/v2/summary.json"
T = TypeVar("T")
METRICS_BUDGET = 30.0  # seconds at most for the timed /metrics GETs
# Seconds between two timed /metrics GETs: spread over a few seconds, a short burst of
# foreign load on the measured core takes one or two of them, not the median.
METRICS_GAP = 0.25
FAIL_EVERY = 100  # one check in 100 probes /fail (a 500): the failure path is exercised too


@dataclass(frozen=True)
class ScaleSize:
    checks: int
    interval: float  # seconds
    window: float  # seconds of the `before` window
    api_rate: float  # requests per second
    api_duration: float  # seconds
    scrapes: int  # timed GETs of /metrics


class Sample(NamedTuple):
    scrape: promtext.Scrape
    cpu: float
    core_busy: float | None
    at: float


def write_config(path: Path, target: str, size: ScaleSize) -> None:
    components = 10
    lines = ["page:", "  name: Bench", "components:"]
    for c in range(components):
        lines += [f"  - id: comp-{c}", f"    name: Component {c}"]
    lines.append("checks:")
    timeout = "2s" if size.interval > 2 else f"{int(size.interval * 500)}ms"
    for i in range(size.checks):
        path_ = "/fail" if i % FAIL_EVERY == FAIL_EVERY - 1 else "/ok"
        lines += [
            f"  - id: check-{i:05d}",
            f"    component: comp-{i % components}",
            f"    url: {target}{path_}",
            f"    interval: {size.interval:g}s",
            f"    timeout: {timeout}",
        ]
    path.write_text("\n".join(lines) + "\n")


def _get(url: str, timeout: float = 60.0) -> tuple[bytes, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
    return body, time.perf_counter() - start


class ProberProcess:
    """`python -m prober run` on the measured core; its JSON log is drained in a thread."""

    def __init__(self, config: Path, db: Path, core: int | None, in_process: bool = False) -> None:
        self.core = core
        self.url = ""
        # /metrics is on the admin listener of `prober run`; scale_host serves one listener
        self.metrics_url = ""
        self._admin_expected = not in_process
        self.events: dict[str, int] = {}
        self.last_raw = ""
        self._listening = threading.Event()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if in_process:
            argv = [sys.executable, "-m", "bench.scale_host", "--config", str(config)]
        else:
            argv = [
                sys.executable,
                "-m",
                "prober",
                "run",
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--db",
                str(db),
                "--log-format",
                "json",
            ]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            pinned(core, argv),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(REPO),
            env=env,
        )
        self.ready_after: float | None = None
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": "raw_output", "level": "error"}
                self.last_raw = raw.decode(errors="replace").strip()[-300:]
            event = str(line.get("event", "?"))
            level = str(line.get("level", "info"))
            if level in ("warning", "error", "critical"):
                self.events[event] = self.events.get(event, 0) + 1
            if event == "listening" and not self.url:
                self.url = str(line["url"]).rstrip("/")
                self.ready_after = time.monotonic() - self.started
                if not self._admin_expected:
                    self.metrics_url = self.url
            elif event == "admin_listening" and not self.metrics_url:
                self.metrics_url = str(line["url"]).rstrip("/")
            if self.url and self.metrics_url:
                self._listening.set()

    def wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prober run did not start (exit {self.proc.returncode})")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def scrape(self) -> Sample:
        """/metrics, the process's CPU, the measured core's busy time and the time, together."""
        body, _ = _get(self.metrics_url + "/metrics")
        return Sample(
            promtext.parse(body.decode()),
            cpu_seconds(self.pid),
            core_busy(self.core),
            time.monotonic(),
        )

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def _foreign_share(
    a: tuple[float, float | None, float], b: tuple[float, float | None, float]
) -> float | None:
    """Share of the measured core busy with other processes between two readings of
    (prober's CPU seconds, the core's busy seconds, monotonic time)."""
    (c0, k0, t0), (c1, k1, t1) = a, b
    if k0 is None or k1 is None or t1 <= t0:
        return None
    return max(0.0, (k1 - k0 - (c1 - c0)) / (t1 - t0))


def _window(a: Sample, b: Sample, expected_pps: float) -> dict[str, Any]:
    (s0, c0, k0, t0), (s1, c1, k1, t1) = a, b
    wall = t1 - t0
    buckets = promtext.delta(s1, s0)
    pps = (s1.probes_total - s0.probes_total) / wall
    return {
        "seconds": wall,
        "cpu_share": (c1 - c0) / wall,
        "foreign_share": (k1 - k0 - (c1 - c0)) / wall
        if k0 is not None and k1 is not None
        else None,
        "rounds": buckets[-1][1] if buckets else 0,
        "lag_p50": promtext.histogram_quantile(0.50, buckets),
        "lag_p99": promtext.histogram_quantile(0.99, buckets),
        # True when the p99 fell in the +Inf bucket: the figure is then only a lower bound.
        "lag_p99_above_buckets": promtext.beyond_last_bound(0.99, buckets),
        "lag_share_within_50ms": promtext.share_within(0.05, buckets),
        "probes_per_second": pps,
        "probes_per_second_expected": expected_pps,
        "ms_per_probe": (c1 - c0) / (s1.probes_total - s0.probes_total) * 1000.0
        if s1.probes_total > s0.probes_total
        else None,
    }


def run(
    tmp: Path,
    target: str,
    size: ScaleSize,
    core: int | None,
    driver_core: int | None,
    in_process: bool = False,
) -> dict[str, Any]:
    config = tmp / "scale-checks.yaml"
    write_config(config, target, size)
    mode = "prober run process"
    prober = ProberProcess(config, tmp / "scale.db", core, in_process=in_process)
    if in_process:
        mode = "in-process Runner+HttpProber+Metrics+api (bench.scale_host), as asked"
    try:
        prober.wait_listening(timeout=120.0)
    except RuntimeError as exc:
        if in_process:
            raise
        failure = f"{exc}: {prober.last_raw}"
        prober.stop()
        mode = f"in-process Runner+HttpProber+Metrics+api (bench.scale_host); {failure}"
        prober = ProberProcess(config, tmp / "scale.db", core, in_process=True)
    expected = size.checks / size.interval
    errors: dict[str, str] = {}

    def attempt(phase: str, fn: Callable[[], T]) -> T | None:
        """Run one phase; a failure is recorded and the later phases still run."""
        try:
            return fn()
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            errors[phase] = f"{type(exc).__name__}: {exc}"
            return None

    def window(a: Sample | None, b: Sample | None) -> dict[str, Any]:
        return _window(a, b, expected) if a is not None and b is not None else {}

    times: list[float] = []
    metrics_foreign: float | None = None
    body = b""
    api: dict[str, Any] = {"rate_target": size.api_rate}
    rss: list[int] = []
    rss_peak = 0
    try:
        prober.wait_listening(timeout=120.0)
        time.sleep(size.interval + min(2.0, size.interval))  # every check has fired once
        first = attempt("scrape before", prober.scrape)
        time.sleep(size.window)
        second = attempt("scrape before", prober.scrape)
        before = window(first, second)
        rss.append(rss_bytes(prober.pid)[0])

        budget = time.monotonic() + METRICS_BUDGET
        load_at = (cpu_seconds(prober.pid), core_busy(core), time.monotonic())
        for i in range(size.scrapes):  # bounded in count and in time
            if i:
                time.sleep(METRICS_GAP)
            got = attempt("timed /metrics", lambda: _get(prober.metrics_url + "/metrics"))
            if got is not None:
                body, took = got
                times.append(took)
            if got is None or time.monotonic() > budget:
                break
        metrics_foreign = _foreign_share(
            load_at, (cpu_seconds(prober.pid), core_busy(core), time.monotonic())
        )

        third = attempt("scrape during", prober.scrape)  # before the load generator starts
        argv = [
            sys.executable,
            "-m",
            "bench.loadgen",
            prober.url + API_PATH,
            "--rate",
            str(size.api_rate),
            "--duration",
            str(size.api_duration),
        ]
        load = attempt(
            "load generator",
            lambda: subprocess.run(
                pinned(driver_core, argv),
                capture_output=True,
                text=True,
                cwd=str(REPO),
                timeout=size.api_duration + 60,
                check=False,
            ),
        )
        fourth = attempt("scrape during", prober.scrape)
        during = window(third, fourth)
        rss_now, rss_peak = rss_bytes(prober.pid)
        rss.append(rss_now)
        if load is not None:
            lines = load.stdout.strip().splitlines()
            if load.returncode == 0 and lines:
                api.update(json.loads(lines[-1]))
            else:
                errors["load generator"] = load.stderr.strip()[-1000:]
    finally:
        exit_code = prober.stop()
    return {
        "mode": mode,
        "checks": size.checks,
        "interval": size.interval,
        "startup_seconds": prober.ready_after,
        "before": before,
        "during_api_load": during,
        "rss_bytes": max(rss) if rss else None,
        "rss_peak_bytes": rss_peak,
        "metrics_render_seconds_median": statistics.median(times) if times else None,
        "metrics_render_seconds_max": max(times) if times else None,
        "metrics_gets": len(times),
        # other load on the measured core while the timed GETs ran (None: not pinned)
        "metrics_foreign_share": metrics_foreign,
        "metrics_bytes": len(body),
        "metrics_series": promtext.parse(body.decode()).series if body else 0,
        "metrics_series_per_check": (
            round(promtext.parse(body.decode()).check_series / size.checks, 2)
            if body and size.checks
            else None
        ),
        "api": api,
        "errors": errors,
        "warnings_logged": dict(prober.events),
        "exit_code": exit_code,
    }


def isolated_render(checks: int, core: int | None, tmp: Path) -> dict[str, Any]:
    """`Metrics.render()` alone at `checks` checks, next to a naive prometheus_client
    registry: bench/metrics_render.py in its own process on the measured core."""
    out = tmp / "metrics-render.json"
    argv = [
        sys.executable,
        str(REPO / "bench" / "metrics_render.py"),
        "--checks",
        str(checks),
        "--repeats",
        "3",
        "--json",
        str(out),
    ]
    try:
        done = subprocess.run(
            pinned(core, argv),
            capture_output=True,
            text=True,
            cwd=str(REPO),
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "bench/metrics_render.py took over 180 s"}
    if done.returncode != 0 or not out.exists():
        return {"error": done.stderr.strip()[-1000:] or f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result
