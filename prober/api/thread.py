"""Serving the HTTP app from its own thread and event loop.

THE RULE: the HTTP thread touches the service through a `ServiceLink` only
(prober/api/backend.py), and of it uses exactly two things:

- `link.published()`: one immutable `Published` value (snapshot, readiness, write token),
  swapped whole by the service loop. Every read (the Statuspage API, the page, health,
  readiness) is served from it, so reads never queue behind bursts of probe rounds.
- `link.submit(command)`: everything else (incident writes, commands, reload, history,
  /metrics) as a marshalled command run on the service loop; the handler awaits it.

Nothing else of the service is reached from here: `LoopBackend` turns those two doors
into the ApiBackend the handlers see. tests/api/test_thread.py enforces the rule (a link
double that raises on any other attribute, and a check of this module's source).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

from aiohttp import web

from prober.api.app import Surface, make_app
from prober.api.backend import (
    ApiCommand,
    ReadHistory,
    Reload,
    RenderMetrics,
    RunCommand,
    ServiceLink,
    WriteIncident,
)
from prober.api.origin import Network
from prober.domain.commands import Command, Result
from prober.domain.incident import Incident
from prober.domain.snapshot import StatusSnapshot
from prober.domain.status import Impact, IncidentStatus


class LoopBackend:
    """The ApiBackend the handlers on the HTTP thread see: reads from the link's one
    published value, everything else submitted to the service loop and awaited."""

    def __init__(self, link: ServiceLink) -> None:
        self._link = link

    async def _there(self, command: ApiCommand) -> Any:
        return await asyncio.wrap_future(self._link.submit(command))

    def snapshot(self) -> StatusSnapshot:
        return self._link.published().snapshot

    def ready(self) -> tuple[bool, str]:
        return self._link.published().ready

    def write_token(self) -> str | None:
        return self._link.published().write_token

    def locations(self) -> Sequence[Mapping[str, Any]]:
        return self._link.published().locations

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        return cast(tuple[bytes, str], await self._there(RenderMetrics(openmetrics)))

    async def reload(self) -> tuple[bool, list[str]]:
        return cast(tuple[bool, list[str]], await self._there(Reload()))

    async def command(self, command: Command) -> Result:
        return cast(Result, await self._there(RunCommand(command)))

    async def incident_history(self, since: float, until: float) -> list[Incident]:
        return cast(list[Incident], await self._there(ReadHistory(since, until)))

    async def write_incident(
        self, incident_id: str, status: IncidentStatus | None, body: str, impact: Impact | None
    ) -> Incident:
        write = WriteIncident(incident_id, status, body, impact)
        return cast(Incident, await self._there(write))


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
        link: ServiceLink,
        host: str,
        port: int,
        admin: tuple[str, int] | None = None,
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self._link = link
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
        self._thread = threading.Thread(target=self._run, name="prober-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"the HTTP server did not start within {timeout:g}s")
        if self._error is not None:
            raise self._error
        return self.address

    def _run(self) -> None:
        asyncio.run(self._life())

    async def _life(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            if self._stop_requested:
                self._stop_event.set()
        try:
            await self._serve()
        except BaseException as exc:  # reported to start() once cleaned up; the thread ends
            await self._cleanup()
            self._error = exc.with_traceback(None)  # no frames of this loop leave the thread
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []

    async def _serve(self) -> None:
        backend = LoopBackend(self._link)
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
