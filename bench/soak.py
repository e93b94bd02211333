"""`python -m bench.soak`: random kill -9s across incident lifecycles; nothing lost or doubled.

    python -m bench.soak                 200 kills (default; about 10 minutes)
    python -m bench.soak --kills 20      a smaller run
    python -m bench.soak --kills 3 --seed 1 --json out.json

A real `prober run` process probes the simulated SaaS target (prober.demo.sim) with short
timers (quiet period 3 s); the target flips between `outage` and `healthy` at random, and
the prober process is killed with SIGKILL at random moments (during start-up, mid-round,
inside a quiet period) and restarted on the same database. A webhook receiver (failing 10 %
of requests with 503, so retries happen) records every delivery. At the end the target is
healthy, prober runs until every incident resolved and the outbox drained, then stops with
SIGTERM, and the database is compared with what was observed:

  incidents lost        an incident some webhook announced that is not in the database
  incidents duplicated  incidents open at the same time (one episode, one incident)
  incidents stuck       incidents still open once the target has long been healthy
  updates lost          an update some webhook announced that is not in the database
  webhooks lost         an update in the database never delivered
  webhooks duplicated   an event (webhook-id) received more than once: at-least-once
                        delivery resends an event whose "done" mark a kill -9 lost, and
                        receivers de-duplicate by webhook-id (Standard Webhooks)

Every figure is printed; the exit code is 1 if any of the first five is not zero.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from prober.demo.sim import start_sim

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = ("platform-api", "billing")


def config_text(target: str, hook: str) -> str:
    lines = ["page:", "  name: Soak", "components:"]
    for c in COMPONENTS:
        lines += [f"  - id: {c}", f"    name: {c}"]
    lines += ["checks:"]
    for c in COMPONENTS:
        lines += [
            f"  - id: {c}-health",
            f"    component: {c}",
            f"    url: {target}/{c}/health",
            "    interval: 1s",
            "    timeout: 500ms",
            "    requests_per_round: 3",
        ]
    lines += [
        "status:",
        "  window: 10s",
        "  min_samples: 3",
        "  recovery_time: 1s",
        "incidents:",
        "  quiet_period: 3s",
        "  min_update_spacing: 1s",
        "webhooks:",
        "  - id: soak",
        f"    url: {hook}",
        "    max_attempts: 100",
        "    secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    ]
    return "\n".join(lines) + "\n"


class Receiver:
    def __init__(self, rng: random.Random, fail_rate: float) -> None:
        self.rng = rng
        self.fail_rate = fail_rate
        self.received: list[tuple[str, str, str, str]] = []  # webhook-id, event, inc, update
        self.failed = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.rng.random() < self.fail_rate:
            self.failed += 1
            return web.Response(status=503)
        self.received.append(
            (
                request.headers.get("webhook-id", ""),
                body["event"],
                body["incident"]["id"],
                body["incident_update"]["id"],
            )
        )
        return web.Response(status=204)


class Prober:
    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.config, self.db, self.log = config, db, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "prober",
                "run",
                "--config",
                str(self.config),
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--db",
                str(self.db),
                "--log-format",
                "json",
                "--grace",
                "2",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=out,
                cwd=str(REPO),
                env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
            )

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 60)


def read_db(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        incidents = conn.execute(
            "SELECT id, status, created_at, resolved_at FROM incidents ORDER BY created_at"
        ).fetchall()
        updates = conn.execute("SELECT id, incident_id FROM incident_updates").fetchall()
        pending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        dropped = conn.execute("SELECT count(*) FROM outbox WHERE state = 'dropped'").fetchone()
    conn.close()
    return {
        "incidents": incidents,
        "updates": updates,
        "pending": pending[0],
        "dropped": dropped[0],
    }


async def set_scenario(session: aiohttp.ClientSession, target: str, name: str) -> None:
    async with session.post(f"{target}/_sim/scenario", json={"scenario": name}) as r:
        r.raise_for_status()


async def soak(kills: int, seed: int, workdir: Path, max_gap: float) -> dict[str, Any]:
    rng = random.Random(seed)
    sim_runner, sim_port = await start_sim("127.0.0.1", 0, scenario="healthy")
    target = f"http://127.0.0.1:{sim_port}"
    receiver = Receiver(rng, fail_rate=0.1)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    hook_runner = web.AppRunner(app, access_log=None)
    await hook_runner.setup()
    site = web.TCPSite(hook_runner, "127.0.0.1", 0)
    await site.start()
    hook_port = hook_runner.addresses[0][1]
    config = workdir / "checks.yaml"
    config.write_text(config_text(target, f"http://127.0.0.1:{hook_port}/hook"))
    db = workdir / "soak.db"
    prober = Prober(config, db, workdir / "prober.log")
    began = time.monotonic()
    scenario = "healthy"
    flips = 0
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(kills):
                await prober.start()
                # Alive from 0.2 s (mid start-up) to max_gap s (rounds, updates, quiet
                # periods); the target flips at a random moment of some lives.
                life = rng.uniform(0.2, max_gap)
                flip_at = rng.uniform(0.0, life) if rng.random() < 0.5 else None
                if flip_at is not None:
                    await asyncio.sleep(flip_at)
                    scenario = "outage" if scenario == "healthy" else "healthy"
                    await set_scenario(session, target, scenario)
                    flips += 1
                    await asyncio.sleep(life - flip_at)
                else:
                    await asyncio.sleep(life)
                await prober.stop(signal.SIGKILL)
                if rng.random() < 0.15:  # down across a whole quiet period sometimes
                    await asyncio.sleep(rng.uniform(0.0, 5.0))
                print(
                    f"kill {n + 1}/{kills}: after {life:.1f}s, target {scenario}",
                    file=sys.stderr,
                    flush=True,
                )
            # Settle: healthy target, prober up until everything resolved and delivered.
            await set_scenario(session, target, "healthy")
            await prober.start()
            deadline = time.monotonic() + 120
            state: dict[str, Any] = {"incidents": [], "pending": 1}
            while time.monotonic() < deadline:  # bounded
                await asyncio.sleep(2.0)
                try:
                    state = await asyncio.to_thread(read_db, db)
                except sqlite3.OperationalError:  # killed mid start-up: no schema yet
                    continue
                if all(i[1] == "resolved" for i in state["incidents"]) and not state["pending"]:
                    break
            code = await prober.stop(signal.SIGTERM)
    finally:
        if prober.proc is not None and prober.proc.returncode is None:
            prober.proc.kill()
        await hook_runner.cleanup()
        await sim_runner.cleanup()
    final = read_db(db)
    return summarize(final, receiver, kills, flips, code, time.monotonic() - began)


def summarize(
    final: dict[str, Any],
    receiver: Receiver,
    kills: int,
    flips: int,
    sigterm_code: int,
    seconds: float,
) -> dict[str, Any]:
    incident_ids = {i[0] for i in final["incidents"]}
    update_ids = {u[0] for u in final["updates"]}
    announced_incidents = {r[2] for r in receiver.received}
    announced_updates = {r[3] for r in receiver.received}
    overlaps = 0
    opened = sorted(final["incidents"], key=lambda i: i[2])
    for prev, nxt in itertools.pairwise(opened):
        if prev[3] is None or nxt[2] < prev[3]:
            overlaps += 1
    per_id = Counter(r[0] for r in receiver.received)
    return {
        "kills": kills,
        "target_flips": flips,
        "seconds": round(seconds, 1),
        "incidents": len(incident_ids),
        "updates": len(update_ids),
        "webhook_deliveries": len(receiver.received),
        "webhook_503s_from_receiver": receiver.failed,
        "incidents_lost": len(announced_incidents - incident_ids),
        "incidents_duplicated": overlaps,
        "incidents_stuck": sum(1 for i in final["incidents"] if i[1] != "resolved"),
        "updates_lost": len(announced_updates - update_ids),
        "webhooks_lost": len(update_ids - announced_updates) + final["pending"] + final["dropped"],
        "webhooks_duplicated": sum(n - 1 for n in per_id.values() if n > 1),
        "sigterm_exit_code": sigterm_code,
    }


MUST_BE_ZERO = (
    "incidents_lost",
    "incidents_duplicated",
    "incidents_stuck",
    "updates_lost",
    "webhooks_lost",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument(
        "--max-gap",
        type=float,
        default=4.0,
        help="longest life of a process between kills, seconds",
    )
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prober-soak-") as tmp:
        result = asyncio.run(soak(args.kills, args.seed, Path(tmp), args.max_gap))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if any(result[k] for k in MUST_BE_ZERO) else 0


if __name__ == "__main__":
    raise SystemExit(main())
