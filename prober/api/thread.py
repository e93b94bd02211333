"""Serving the HTTP app from its own thread and event loop.

Reads (the Statuspage API, the page, health) are served from immutable snapshots, so they
need nothing from the probing loop: on their own loop they no longer queue behind bursts of
probe rounds. Everything that touches mutable state — /metrics, reload, incident writes — is
handed to the probing loop and awaited from here (`LoopBackend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from prober.api.app import make_app
from prober.api.backend import ApiBackend
from prober.api.origin import Network
from prober.domain.incident import Incident
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import Impact, IncidentStatus

T = TypeVar("T")


class LoopBackend:
    """An ApiBackend for another thread: reads go straight through, the rest runs on the
    backend's own loop."""

    def __init__(self, backend: ApiBackend, loop: asyncio.AbstractEventLoop) -> None:
        self._backend = backend
        self._loop = loop

    async def _there(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def snapshot(self) -> StatusSnapshot:
        return self._backend.snapshot()

    def ready(self) -> tuple[bool, str]:
        return self._backend.ready()

    def write_token(self) -> str | None:
        return self._backend.write_token()

    async def metrics(self) -> tuple[bytes, str]:
        return await self._there(self._backend.metrics())

    async def reload(self) -> tuple[bool, list[str]]:
        return await self._there(self._backend.reload())

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        return await self._there(self._backend.write_incident(incident_id, status, body, impact))


class ServerThread:
    """`start()` binds and serves in a daemon thread (OSError if the port is taken);
    `stop()` closes the server and joins the thread."""

    def __init__(self, backend: ApiBackend, host: str, port: int,
                 trusted_proxies: tuple[Network, ...] = ()) -> None:
        self._backend = backend
        self._trusted = trusted_proxies
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.address: tuple[str, int] = (host, port)

    def start(self, timeout: float = 30.0) -> tuple[str, int]:
        main = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, args=(main,), name="prober-http",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"the HTTP server did not start within {timeout:g}s")
        if self._error is not None:
            raise self._error
        return self.address

    def _run(self, main: asyncio.AbstractEventLoop) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._serve(main))
            except BaseException as exc:  # reported to start(); the thread just ends
                self._error = exc
                # Clean up before start() returns: a stop() racing with this cleanup would
                # stop the loop under it ("Event loop stopped before Future completed").
                if self._runner is not None:
                    with contextlib.suppress(Exception):
                        loop.run_until_complete(self._runner.cleanup())
                    self._runner = None
                self._ready.set()
            else:
                loop.run_forever()
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
        finally:
            loop.close()

    async def _serve(self, main: asyncio.AbstractEventLoop) -> None:
        app = make_app(LoopBackend(self._backend, main), self._trusted)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port, reuse_address=True).start()
        if self._runner.addresses:
            host, port = self._runner.addresses[0][:2]
            self.address = (str(host), int(port))
        self._ready.set()

    async def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed as the thread ended
                self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 30.0)
