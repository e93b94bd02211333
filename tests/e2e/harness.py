"""Real processes for end-to-end tests: a prober subprocess and the simulated SaaS target.

Every server binds port 0 on 127.0.0.1; the prober process reports its bound addresses in
its `listening` (public) and `admin_listening` (/metrics, /-/reload, writes) log lines;
`request` and `get_json` pick the listener by path. Waits are bounded polls of real
endpoints, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]

# Every prober process a test starts; tests/e2e/conftest.py kills the ones still running
# when the test ends, so a failing test never leaves a process behind.
STARTED: list[asyncio.subprocess.Process] = []


class ProberProcess:
    def __init__(
        self, config: Path, db: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.config = config
        self.db = db
        self.env = env or {}
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.admin_url = ""
        self.lines: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
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
            "3",
            *self.args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env=env,
        )
        STARTED.append(self.proc)
        self._reader = asyncio.create_task(self._read())
        deadline = time.monotonic() + timeout
        while not (self.url and self.admin_url):
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"prober did not start: {self.lines[-20:]}")
            await asyncio.sleep(0.05)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": "raw", "text": raw.decode(errors="replace")}
            self.lines.append(line)
            if line.get("event") == "listening":
                self.url = str(line["url"]).rstrip("/")
            elif line.get("event") == "admin_listening":
                self.admin_url = str(line["url"]).rstrip("/")

    def base(self, path: str, method: str = "GET") -> str:
        """The listener serving `path`: admin for /metrics, /-/reload and every write."""
        admin = path in ("/metrics", "/-/reload") or method.upper() not in ("GET", "HEAD")
        return self.admin_url if admin else self.url

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    async def get_json(self, path: str) -> Any:
        async with aiohttp.ClientSession() as s, s.get(self.base(path) + path) as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.json()

    async def request(self, method: str, path: str, **kw: Any) -> tuple[int, str]:
        url = self.base(path, method) + path
        async with aiohttp.ClientSession() as s, s.request(method, url, **kw) as r:
            return r.status, await r.text()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        return code

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)


async def until(
    fn: Callable[[], Awaitable[Any]],
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> Any:
    """Poll `fn` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")


def write_config(
    path: Path,
    target: str,
    components: tuple[str, ...] = ("platform-api", "billing"),
    interval: str = "1s",
    extra: str = "",
) -> Path:
    lines = ["page:", "  name: E2E", "components:"]
    for c in components:
        lines += [f"  - id: {c}", f"    name: {c.upper()} service"]
    lines += ["checks:"]
    for c in components:
        lines += [
            f"  - id: {c}-health",
            f"    component: {c}",
            f"    url: {target}/{c}/health",
            f"    interval: {interval}",
            "    timeout: 500ms",
            "    requests_per_round: 5",
        ]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


PROMETHEUS_LISTENING = re.compile(r'msg="Listening on" address=(\S+)')


def _read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


async def prometheus_url(log: Path, proc: subprocess.Popen[bytes], limit: float = 60.0) -> str:
    """The URL of a Prometheus started with `--web.listen-address=127.0.0.1:0` and
    `--log.level=info`: the address its `Listening on` log line reports."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        text = _read(log)
        found = PROMETHEUS_LISTENING.search(text)
        if found:
            return f"http://{found.group(1)}"
        if proc.poll() is not None:
            raise AssertionError(f"prometheus exited {proc.returncode}:\n{text[-3000:]}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"prometheus reported no address within {limit}s")
