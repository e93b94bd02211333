"""`python -m prober.demo.sim` as a real process: binds, serves, stops cleanly on signals."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_standalone_serves_and_stops_on_signal(sig: signal.Signals) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-m",
        "prober.demo.sim",
        "--scenario",
        "outage",
        "--listen",
        "127.0.0.1:0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        url = f"http://127.0.0.1:{match.group(1)}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/billing/health") as resp:
                assert resp.status == 500
            async with session.get(f"{url}/") as resp:
                assert (await resp.json())["scenario"] == "outage"
        proc.send_signal(sig)
        rc = await asyncio.wait_for(proc.wait(), timeout=15)
        assert rc == 0
        assert proc.stderr is not None
        assert await proc.stderr.read() == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.slow
async def test_standalone_rejects_bad_arguments() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prober.demo.sim",
        "--listen",
        "nonsense",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert proc.returncode == 2
    assert b"expected HOST:PORT" in err
