"""The HTTP app on its own thread: reads served there from the one published value,
writes and /metrics run on the caller's loop as marshalled commands, a taken port fails
start() with OSError. The thread rule (prober/api/thread.py) is enforced here."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from pathlib import Path

import aiohttp
import pytest

from prober.api.backend import ApiBackend, ApiCommand, Published, dispatch
from prober.api.thread import ServerThread
from prober.domain.status import IncidentStatus

from .fake import INCIDENT_ID, TOKEN, FakeBackend
from .service import TOKEN as SERVICE_TOKEN
from .service import healthy_target, running_service


class Link:
    """A ServiceLink over any ApiBackend, its commands run on the loop that made it."""

    def __init__(self, backend: ApiBackend) -> None:
        self.backend = backend
        self.loop = asyncio.get_running_loop()

    def published(self) -> Published:
        b = self.backend
        return Published(b.snapshot(), b.ready(), b.write_token())

    def submit(self, command: ApiCommand) -> concurrent.futures.Future[object]:
        return asyncio.run_coroutine_threadsafe(dispatch(self.backend, command), self.loop)


class RecordingBackend(FakeBackend):
    """Remembers which thread ran its coroutines."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    async def metrics(self, openmetrics: bool = False) -> tuple[bytes, str]:
        self.threads.append(threading.current_thread().name)
        return await super().metrics(openmetrics)

    async def write_incident(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        return await super().write_incident(*args, **kwargs)


async def test_reads_on_the_thread_writes_and_metrics_on_the_callers_loop() -> None:
    backend = RecordingBackend()
    server = ServerThread(Link(backend), "127.0.0.1", 0)
    host, port = server.start()
    base = f"http://{host}:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/api/v2/summary.json") as r:
                assert r.status == 200
                assert (await r.json())["page"]["name"]
            async with s.get(base + "/metrics") as r:
                assert r.status == 200
            async with s.post(
                f"{base}/api/prober/v1/incidents/{INCIDENT_ID}/updates",
                json={"status": IncidentStatus.IDENTIFIED.value, "body": "Found it."},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as r:
                assert r.status == 201, await r.text()
    finally:
        await server.stop()
    assert backend.threads == [threading.current_thread().name] * 2


async def test_a_taken_port_fails_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerThread(Link(FakeBackend()), "127.0.0.1", port)
        with pytest.raises(OSError):
            server.start()
        await server.stop()
    await asyncio.sleep(0)


async def test_stop_is_idempotent_and_safe_before_and_after_start() -> None:
    server = ServerThread(Link(FakeBackend()), "127.0.0.1", 0)
    await server.stop()  # never started: nothing to join
    server = ServerThread(Link(FakeBackend()), "127.0.0.1", 0)
    server.start()
    await asyncio.gather(server.stop(), server.stop())
    await server.stop()
    with socket.socket() as probe:  # the port is released
        assert probe.connect_ex(server.address) != 0


async def test_public_and_admin_surfaces_on_two_listeners() -> None:
    backend = RecordingBackend()
    server = ServerThread(Link(backend), "127.0.0.1", 0, admin=("127.0.0.1", 0))
    host, port = server.start()
    assert server.admin_address is not None and server.admin_address[1] not in (0, port)
    public, admin = f"http://{host}:{port}", "http://{}:{}".format(*server.admin_address)
    write = f"/api/prober/v1/incidents/{INCIDENT_ID}/updates"
    body = {"status": IncidentStatus.IDENTIFIED.value, "body": "Found it."}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession() as s:
            for path in ("/", "/api/v2/summary.json", "/-/healthy", "/-/ready"):
                async with s.get(public + path) as r:
                    assert r.status == 200, path
            for path in ("/metrics",):
                async with s.get(public + path) as r:
                    assert r.status == 404, path
            async with s.post(public + "/-/reload") as r:
                assert r.status in (404, 405)
            async with s.post(public + write, json=body, headers=auth) as r:
                assert r.status in (404, 405)
            for path in ("/", "/api/v2/summary.json"):
                async with s.get(admin + path) as r:
                    assert r.status == 404, path
            async with s.get(admin + "/metrics") as r:
                assert r.status == 200
            async with s.get(admin + "/-/healthy") as r:
                assert r.status == 200
            async with s.post(admin + write, json=body, headers=auth) as r:
                assert r.status == 201, await r.text()
    finally:
        await server.stop()
    assert backend.threads == [threading.current_thread().name] * 2


async def test_a_taken_admin_port_fails_start_and_frees_the_public_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerThread(Link(FakeBackend()), "127.0.0.1", 0, admin=("127.0.0.1", port))
        with pytest.raises(OSError):
            server.start()
        await server.stop()
    public_port = server.address[1]
    assert public_port != 0  # the public site was bound first; its port is free again
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", public_port))


def test_admin_listen_flag() -> None:
    from prober.cli import UsageError, build_parser

    parse = build_parser().parse_args
    assert parse(["run"]).admin_listen == ("127.0.0.1", 8090)
    assert parse(["run", "--admin-listen", "0.0.0.0:9191"]).admin_listen == ("0.0.0.0", 9191)
    assert parse(["run", "--admin-listen", "public"]).admin_listen is None
    with pytest.raises(UsageError, match="admin-listen"):
        parse(["run", "--admin-listen", "nowhere"])


# ---- the thread rule: one published value, everything else a marshalled command ----------


class StrictLink:
    """A ServiceLink double that lets the HTTP thread use `published()` and `submit()` and
    records (and refuses) anything else it reaches for."""

    ALLOWED = frozenset({"published", "submit"})

    def __init__(self, backend: ApiBackend) -> None:
        object.__setattr__(self, "_inner", Link(backend))
        object.__setattr__(self, "touched", [])

    def __getattribute__(self, name: str) -> object:
        if name in StrictLink.ALLOWED:
            return getattr(object.__getattribute__(self, "_inner"), name)
        if name == "touched":
            return object.__getattribute__(self, name)
        object.__getattribute__(self, "touched").append(name)
        raise AttributeError(f"the HTTP thread may not use link.{name}")


async def test_the_http_thread_uses_only_published_and_submit() -> None:
    backend = FakeBackend()
    link = StrictLink(backend)
    server = ServerThread(link, "127.0.0.1", 0)  # type: ignore[arg-type]
    host, port = server.start()
    base = f"http://{host}:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    write = f"/api/prober/v1/incidents/{INCIDENT_ID}/updates"
    try:
        async with aiohttp.ClientSession() as s:
            for path in ("/", "/api/v2/summary.json", "/history", "/-/ready", "/metrics"):
                async with s.get(base + path) as r:
                    assert r.status == 200, path
            async with s.post(base + "/-/reload") as r:
                assert r.status == 200
            body = {"status": IncidentStatus.IDENTIFIED.value, "body": "Found it."}
            async with s.post(base + write, json=body, headers=auth) as r:
                assert r.status == 201, await r.text()
    finally:
        await server.stop()
    assert link.touched == []
    assert backend.reloads == 1 and len(backend.writes) == 1  # both ran, as commands


def test_the_thread_module_reaches_the_service_only_through_the_two_doors() -> None:
    """Source check of prober/api/thread.py: every use of the link is `published` or
    `submit`, and nothing of the service (or its loop) is imported."""
    import ast

    import prober.api.thread as module

    tree = ast.parse(Path(module.__file__).read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_link"
    }
    assert used == {"published", "submit"}
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not {m for m in imported if m.startswith(("prober.service", "prober.keeper"))}


async def test_the_real_service_behind_the_thread(tmp_path: Path) -> None:
    """The Service is the link: reads from its published value, a person's command, a
    reload and /metrics run on its loop."""
    async with healthy_target() as target, running_service(tmp_path, target) as service:
        server = ServerThread(service, "127.0.0.1", 0)
        host, port = server.start()
        base = f"http://{host}:{port}"
        auth = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        opened = {"name": "Payments delayed", "body": "Looking.", "components": {}}
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(base + "/-/ready") as r:
                    assert r.status == 200, await r.text()
                async with s.post(
                    base + "/api/prober/v1/incidents", json=opened, headers=auth
                ) as r:
                    assert r.status == 201, await r.text()
                    iid = (await r.json())["incident"]["id"]
                assert service.published().snapshot.incidents[0].id == iid
                async with s.get(base + "/api/v2/incidents/unresolved.json") as r:
                    assert [i["id"] for i in (await r.json())["incidents"]] == [iid]
                async with s.get(base + "/metrics") as r:
                    assert "prober_incidents_open 1" in await r.text()
                async with s.post(base + "/-/reload") as r:
                    assert r.status == 200
        finally:
            await server.stop()
