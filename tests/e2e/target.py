"""A scriptable loopback HTTP target for real-process tests.

Every request answers 200 unless told otherwise: `fail` is the probability of a 500
(seeded draws), `delay` seconds of latency, `hang` makes requests wait (until released or
cancelled: a timeout for the prober), `stop()` closes the port (connections refused) and
`start()` opens the same port again. It also records POSTed JSON (a webhook receiver).
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from aiohttp import web


class Target:
    def __init__(self, seed: int = 0) -> None:
        self.port = 0
        self.fail = 0.0
        self.delay = 0.0
        self.hang = False
        self.received: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            self.received.append(json.loads(await request.read()))
            return web.Response(status=204)
        if self.hang:
            await self._released.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail and self._rng.random() < self.fail:
            return web.json_response({"error": "internal"}, status=500)
        return web.json_response({"status": "ok"})

    def release(self) -> None:
        """Stop hanging: waiting requests answer now, new ones at once."""
        self.hang = False
        self._released.set()
        self._released = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            self.release()
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
