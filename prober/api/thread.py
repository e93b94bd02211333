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

from prober.api.app import Surface, make_app
from prober.api.backend import ApiBackend
from prober.api.origin import Network
from prober.domain.commands import Command, Result
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

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        return await self._there(self._backend.metrics(openmetrics))

    async def reload(self) -> tuple[bool, list[str]]:
        return await self._there(self._backend.reload())

    async def command(self, command: Command) -> Result:
        return await self._there(self._backend.command(command))

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        return await self._there(self._backend.incident_history(since, until))

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        return await self._there(self._backend.write_incident(incident_id, status, body, impact))


class AdminListenError(OSError):
    """The admin listener (`admin=`) could not be bound; the public one was."""


class ServerThread:
    """`start()` binds and serves in a daemon thread (OSError if a port is taken);
    `stop()` closes the servers and joins the thread.

    With `admin` set, the public surface is served on (host, port) and the admin one
    (/metrics, /-/reload, writes) on `admin`; without it, both on (host, port).

    The thread's whole life is one coroutine, `_life()`: set up and bind, report to
    `start()`, wait for the stop event, clean up. `stop()` only sets that event (from any
    thread, at any point: before the server is up, after a failed start, twice) and joins;
    it never stops the loop under a running clean-up.
    """

    def __init__(
        self,
        backend: ApiBackend,
        host: str,
        port: int,
        admin: tuple[str, int] | None = None,
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self._backend = backend
        self._trusted = trusted_proxies
        self._host, self._port = host, port
        self._admin = admin
        self._runners: list[web.AppRunner] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self.address: tuple[str, int] = (host, port)
        self.admin_address: tuple[str, int] | None = admin

    def start(self, timeout: float = 30.0) -> tuple[str, int]:
        main = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._run, args=(main,), name="prober-http", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"the HTTP server did not start within {timeout:g}s")
        if self._error is not None:
            raise self._error
        return self.address

    def _run(self, main: asyncio.AbstractEventLoop) -> None:
        asyncio.run(self._life(main))

    async def _life(self, main: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            if self._stop_requested:
                self._stop_event.set()
        try:
            await self._serve(main)
        except BaseException as exc:  # reported to start(); the thread just ends
            self._error = exc
        self._ready.set()
        try:
            if self._error is None:
                await self._stop_event.wait()
        finally:
            for runner in self._runners:
                await runner.cleanup()

    async def _serve(self, main: asyncio.AbstractEventLoop) -> None:
        backend = LoopBackend(self._backend, main)
        if self._admin is None:
            self.address = await self._site(
                make_app(backend, trusted_proxies=self._trusted), self._host, self._port
            )
        else:
            public = make_app(backend, Surface.PUBLIC, self._trusted)
            self.address = await self._site(public, self._host, self._port)
            admin = make_app(backend, Surface.ADMIN, self._trusted)
            try:
                self.admin_address = await self._site(admin, *self._admin)
            except OSError as exc:
                raise AdminListenError(exc.errno, exc.strerror or str(exc)) from exc

    async def _site(self, app: web.Application, host: str, port: int) -> tuple[str, int]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._runners.append(runner)
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_address=True).start()
        if runner.addresses:
            bound_host, bound_port = runner.addresses[0][:2]
            return str(bound_host), int(bound_port)
        return host, port

    def _request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self._loop is None or self._stop_event is None:
                return  # _life() sees the flag when it starts
            # RuntimeError: the loop has already closed, the thread is ending on its own.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_event.set)

    async def stop(self) -> None:
        self._request_stop()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30.0)
