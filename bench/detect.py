"""Time to detect: a real `prober run` process against the simulated SaaS API.

    python -m bench.detect [--timeout 300]

For each probe setting and each failure scenario, a fresh prober process probes two
components of the simulated target (platform-api, billing) until everything is healthy and
the status window is full of healthy samples... then the target is switched to the scenario
(`outage`: every request 500; `partial`: 30% of platform-api's requests 500) and we read
the incident from /api/v2/incidents/unresolved.json; 30 s after the switch the target is
healthy again and we follow the recovery (recovery_time 10s and quiet_period 15s here, so
a run fits the bench). `hang`: platform-api's requests wait (tests/e2e/target.py) until
the recovery releases them, so every probe of it times out (timeout: the default
min(5 s, 80% of the interval) at the defaults, 2 s at the example setting, as its
checks.yaml); billing answers on a target of its own. Reported per run:

  start_error   incident started_at minus the moment the target began failing (how true
                the start time is; the first failing probe comes at most one interval later)
  detect        incident created_at minus started_at: from the first failing probe to the
                incident opening (the figure issue 3 asks for)
  switch_to_open  incident created_at minus the moment the target began failing
  ->operational, ->monitoring, ->resolved  from the target's recovery to every component
                operational, to the incident's monitoring_at and resolved_at
  recorded      the incident's duration (recovered_at minus started_at) against the
                true one (from the switch to the recovery)

All runs of one setting go in parallel (separate processes and targets). Figures are wall
clock on this machine, not simulated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from prober.demo.sim import start_sim
from tests.e2e.harness import ProberProcess, write_config
from tests.e2e.target import Target


@dataclass(frozen=True)
class Setting:
    name: str
    interval: str
    requests: int
    warmup: float  # seconds of healthy probing before the switch
    hang_timeout: str  # the check's timeout in the hang scenario


SETTINGS = (
    Setting("defaults (15s, 1 request)", "15s", 1, 35.0, "5s"),
    Setting("example (5s, 10 requests)", "5s", 10, 12.0, "2s"),
    Setting("1s, 1 request", "1s", 1, 5.0, "800ms"),
    Setting("1s, 10 requests", "1s", 10, 5.0, "800ms"),
)
SCENARIOS = ("outage", "partial", "hang")


# Shortened so a run fits the bench: recovery_time and quiet period as printed.
RECOVERY = "status:\n  recovery_time: 10s\nincidents:\n  quiet_period: 15s\n"
OUTAGE_LENGTH = 30.0  # seconds the target fails after the switch (the true duration)


async def one_run(setting: Setting, scenario: str, limit: float, tmp: Path) -> dict[str, Any]:
    if scenario == "hang":
        return await hang_run(setting, limit, tmp)
    runner, port = await start_sim("127.0.0.1", 0, scenario="healthy")
    target = f"http://127.0.0.1:{port}"
    config = write_config(tmp / "checks.yaml", target, interval=setting.interval, extra=RECOVERY)
    text = config.read_text()
    text = text.replace("timeout: 500ms", "timeout: 800ms")
    text = text.replace("requests_per_round: 5", f"requests_per_round: {setting.requests}")
    config.write_text(text)
    proc = ProberProcess(config, tmp / "prober.db")
    row: dict[str, Any] = {"setting": setting.name, "scenario": scenario}
    try:
        await proc.start()
        await asyncio.sleep(setting.warmup)
        async with aiohttp.ClientSession() as s:
            async with s.post(target + "/_sim/scenario", json={"scenario": scenario}) as r:
                assert r.status == 200
            switched = time.time()
            incident = await _first_incident(s, proc.url, limit)
            if incident is None:
                row["result"] = f"no incident within {limit:.0f}s"
                return row
            _opened(row, incident, switched)
            await asyncio.sleep(max(0.0, switched + OUTAGE_LENGTH - time.time()))
            async with s.post(target + "/_sim/scenario", json={"scenario": "healthy"}) as r:
                assert r.status == 200
            healed = time.time()
            row["true"] = round(healed - switched, 1)
            row.update(await _recovery(s, proc.url, incident["id"], healed, limit))
        return row
    finally:
        if proc.proc is not None:
            await proc.stop()
        await runner.cleanup()


async def hang_run(setting: Setting, limit: float, tmp: Path) -> dict[str, Any]:
    """platform-api hangs (every request waits until released) from the switch until the
    recovery; billing answers on its own target throughout."""
    hanging, healthy = Target(seed=1), Target(seed=2)
    await hanging.start()
    await healthy.start()
    lines = ["page:", "  name: detect", "components:"]
    lines += [f"  - id: {c}\n    name: {c}" for c in ("platform-api", "billing")]
    lines += ["checks:"]
    for c, t in (("platform-api", hanging), ("billing", healthy)):
        lines += [
            f"  - id: {c}-health",
            f"    component: {c}",
            f"    url: {t.url}/{c}/health",
            f"    interval: {setting.interval}",
            f"    timeout: {setting.hang_timeout}",
            f"    requests_per_round: {setting.requests}",
        ]
    config = tmp / "checks.yaml"
    config.write_text("\n".join(lines) + "\n" + RECOVERY)
    proc = ProberProcess(config, tmp / "prober.db")
    row: dict[str, Any] = {"setting": setting.name, "scenario": "hang"}
    try:
        await proc.start()
        await asyncio.sleep(setting.warmup)
        async with aiohttp.ClientSession() as s:
            hanging.hang = True
            switched = time.time()
            incident = await _first_incident(s, proc.url, limit)
            if incident is None:
                row["result"] = f"no incident within {limit:.0f}s"
                return row
            _opened(row, incident, switched)
            await asyncio.sleep(max(0.0, switched + OUTAGE_LENGTH - time.time()))
            hanging.release()
            healed = time.time()
            row["true"] = round(healed - switched, 1)
            row.update(await _recovery(s, proc.url, incident["id"], healed, limit))
        return row
    finally:
        if proc.proc is not None:
            await proc.stop()
        await hanging.stop()
        await healthy.stop()


async def _first_incident(
    s: aiohttp.ClientSession, url: str, limit: float
) -> dict[str, Any] | None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with s.get(url + "/api/v2/incidents/unresolved.json") as r:
            found = (await r.json())["incidents"]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.1)
    return None


def _opened(row: dict[str, Any], incident: dict[str, Any], switched: float) -> None:
    started = _ts(incident["started_at"])
    created = _ts(incident["created_at"])
    row.update(
        result="opened",
        impact=incident["impact"],
        start_error=round(started - switched, 2),
        detect=round(created - started, 2),
        switch_to_open=round(created - switched, 2),
    )


async def _recovery(
    s: aiohttp.ClientSession, url: str, incident_id: str, healed: float, limit: float
) -> dict[str, Any]:
    """Seconds from the target's recovery to operational and to resolved, the monitoring
    time and the recorded duration, polled every 0.2 s (bounded by `limit`)."""
    out: dict[str, Any] = {}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with s.get(url + "/api/prober/v1/components.json") as r:
            comps = (await r.json())["components"]
        if "operational" not in out and all(c["status"] == "operational" for c in comps):
            out["operational"] = round(time.time() - healed, 1)
        async with s.get(url + f"/api/prober/v1/incidents/{incident_id}.json") as r:
            inc = (await r.json())["incident"]
        if inc["monitoring_at"] and "monitoring" not in out:
            out["monitoring"] = round(_ts(inc["monitoring_at"]) - healed, 1)
        if inc["status"] == "resolved":
            out["resolved"] = round(_ts(inc["resolved_at"]) - healed, 1)
            if inc.get("recovered_at"):
                out["recorded"] = round(_ts(inc["recovered_at"]) - _ts(inc["started_at"]), 1)
            return out
        await asyncio.sleep(0.2)
    return out


def _sec(x: float | None) -> str:
    return "-" if x is None else f"{x}s"


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def main_async(limit: float, only: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        for setting in SETTINGS:
            if only and not setting.name.startswith(only):
                continue
            dirs = [Path(d) / f"{setting.interval}-{setting.requests}-{s}" for s in SCENARIOS]
            for p in dirs:
                p.mkdir()
            rows += await asyncio.gather(
                *(one_run(setting, s, limit, p) for s, p in zip(SCENARIOS, dirs, strict=True))
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--setting", default="", help="only the settings whose name starts so (defaults, example)"
    )
    args = ap.parse_args(argv)
    rows = asyncio.run(main_async(args.timeout, args.setting))
    print(
        f"{'setting':28} {'scenario':8} {'start_error':>11} {'detect':>7} "
        f"{'switch_to_open':>14} {'impact':>8} {'->operational':>13} {'->monitoring':>12} "
        f"{'->resolved':>10} {'recorded':>8} {'true':>6}"
    )
    for r in rows:
        if r["result"] != "opened":
            print(f"{r['setting']:28} {r['scenario']:8} {r['result']}")
            continue
        rec = [_sec(r.get(k)) for k in ("operational", "monitoring", "resolved", "recorded")]
        print(
            f"{r['setting']:28} {r['scenario']:8} {r['start_error']:>10}s {r['detect']:>6}s "
            f"{r['switch_to_open']:>13}s {r['impact']:>8} {rec[0]:>13} {rec[1]:>12} "
            f"{rec[2]:>10} {rec[3]:>8} {_sec(r.get('true')):>6}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
