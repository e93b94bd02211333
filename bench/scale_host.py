"""Fallback scale host when `prober run` cannot start: Runner + HttpProber + Metrics in one
process, serving `/metrics` and the status API (`make_app`) from a snapshot rebuilt every
second with each component's failure ratio over its recent probes. No store, no incident
lifecycle: the bench reports this mode as "in-process" so nobody mistakes it for the real
service.

`python -m bench.scale_host --config FILE` logs a JSON line {"event": "listening", "url": ...}
on stderr, like `prober run --log-format json`, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from aiohttp import web


async def serve(config_path: str) -> None:
    from prober.api.app import make_app
    from prober.clock import SystemClock
    from prober.config.loader import load_config
    from prober.config.model import Check
    from prober.domain.snapshot import CheckView, ComponentView, StatusSnapshot
    from prober.domain.status import ComponentStatus
    from prober.metrics import CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, Metrics
    from prober.probes.http import HttpProber
    from prober.probes.result import ProbeResult
    from prober.runner import Runner

    config = load_config(config_path)
    metrics = Metrics()
    metrics.set_checks(config.checks)
    prober = HttpProber()
    last: dict[str, ProbeResult] = {}
    counts: dict[str, list[int]] = {c.id: [0, 0] for c in config.components}

    async def on_round(check: Check, results: list[ProbeResult], lag: float) -> None:
        metrics.record_round(check, results, lag)
        if results:
            last[check.id] = results[-1]
        tally = counts[check.component]
        tally[0] += len(results)
        tally[1] += sum(1 for r in results if not r.ok)

    now = time.time()
    state: dict[str, Any] = {"version": 0}

    def rebuild() -> StatusSnapshot:
        state["version"] += 1
        components = tuple(
            ComponentView(
                id=c.id,
                name=c.name,
                group=c.group,
                description=c.description,
                position=i + 1,
                status=ComponentStatus.OPERATIONAL,
                failure_ratio=counts[c.id][1] / counts[c.id][0] if counts[c.id][0] else 0.0,
                samples=counts[c.id][0],
                latency_p95=None,
                created_at=now,
                updated_at=now,
            )
            for i, c in enumerate(config.components)
        )
        checks = tuple(
            CheckView(id=c.id, component=c.component, last=last.get(c.id), last_success_at=None)
            for c in config.checks
        )
        return StatusSnapshot(
            generated_at=time.time(),
            page=config.page,
            components=components,
            checks=checks,
            incidents=(),
            maintenances=(),
            uptime={},
            version=state["version"],
        )

    snapshot = rebuild()

    class Backend:
        def snapshot(self) -> StatusSnapshot:
            return snapshot

        async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
            return metrics.render(openmetrics), (
                CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT
            )

        def ready(self) -> tuple[bool, str]:
            return True, "ok"

        async def reload(self) -> tuple[bool, list[str]]:
            return False, ["not supported by the bench host"]

        async def write_incident(self, *args: object) -> Any:
            raise KeyError("no incidents in the bench host")

        def write_token(self) -> str | None:
            return None

    runner = Runner(prober.probe, on_round, SystemClock())
    metrics.track_in_flight(lambda: runner.in_flight)
    app_runner = web.AppRunner(make_app(Backend()), access_log=None, handle_signals=False)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0)
    await site.start()
    runner.start(config.checks)
    host, port = app_runner.addresses[0][:2]
    sys.stderr.write(json.dumps({"event": "listening", "url": f"http://{host}:{port}/"}) + "\n")
    sys.stderr.flush()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            snapshot = rebuild()
    await runner.stop()
    await app_runner.cleanup()
    await prober.close()


def main() -> None:
    from bench.loadgen import run_async

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    run_async(serve(p.parse_args().config))


if __name__ == "__main__":
    main()
