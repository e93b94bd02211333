"""Real `prober run` processes: every acknowledged write is on disk, whatever happens next
(SIGTERM with writes in flight, a full disk, a read-only volume); one writer per file."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from prober.demo.sim import start_sim
from tests.e2e.harness import REPO, ProberProcess, until, write_config

TOKEN = "t0ken-for-durability"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = """
incidents:
  quiet_period: 1h
  min_update_spacing: 1s
status:
  window: 30s
  min_samples: 5
  recovery_time: 2s
"""


@pytest.fixture
async def target() -> AsyncIterator[str]:
    runner, port = await start_sim("127.0.0.1", 0, scenario="outage")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def prober(
    tmp_path: Path, target: str, db: Path | None = None, args: tuple[str, ...] = ()
) -> ProberProcess:
    config = write_config(tmp_path / "checks.yaml", target, extra=FAST)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    return ProberProcess(
        config, db or tmp_path / "prober.db", args=("--api-token-file", str(token), *args)
    )


async def open_incident(p: ProberProcess) -> str:
    async def found() -> list[dict[str, Any]]:
        data = await p.get_json("/api/v2/incidents/unresolved.json")
        return list(data["incidents"])

    return str((await until(found, what="an incident"))[0]["id"])


def human_bodies(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT body FROM incident_updates WHERE automatic = 0")}


async def post(session: aiohttp.ClientSession, url: str, body: str) -> int:
    try:
        async with session.post(url, json={"body": body}, headers=AUTH) as r:
            await r.read()
            return r.status
    except (aiohttp.ClientError, OSError):
        return 0  # no answer: not acknowledged


async def test_sigterm_with_writes_in_flight_loses_no_acknowledged_update(
    tmp_path: Path, target: str
) -> None:
    p = prober(tmp_path, target)
    await p.start()
    iid = await open_incident(p)
    path = f"/api/prober/v1/incidents/{iid}/updates"
    url = p.base(path, "POST") + path
    outcomes: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:

        async def writer(n: int) -> None:
            for i in range(400):  # bounded; stops at the first refusal
                body = f"update {n}-{i}"
                outcomes[body] = await post(session, url, body)
                if outcomes[body] != 201:
                    return

        writers = [asyncio.create_task(writer(n)) for n in range(4)]
        await until(lambda: asyncio.sleep(0, len(outcomes) > 40), what="writes under way")
        assert p.proc is not None
        p.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*writers)
        code = await p.stop()
    assert code == 0
    acked = {b for b, s in outcomes.items() if s == 201}
    refused = {s for s in outcomes.values() if s != 201}
    assert acked and refused <= {0, 503}, outcomes
    assert acked <= human_bodies(tmp_path / "prober.db"), "an acknowledged update was lost"


async def test_full_disk_refuses_writes_with_503_then_recovers_without_a_write(
    tmp_path: Path, target: str, tmpfs: Callable[[Path, str], Path]
) -> None:
    mnt = tmpfs(tmp_path / "small", "2m")
    p = prober(tmp_path, target, db=mnt / "prober.db")
    await p.start()
    try:
        iid = await open_incident(p)
        url = f"/api/prober/v1/incidents/{iid}/updates"
        filler = mnt / "filler"
        fill(filler)
        status, body = 0, ""
        for i in range(200):  # bounded: enough writes to need a new page
            status, body = await p.request("POST", url, json={"body": f"x{i}" * 2000}, headers=AUTH)
            if status != 201:
                break
        assert status == 503, body
        assert "full" in body
        acked_before = human_bodies(mnt / "prober.db")
        filler.unlink()
        # The store retries by itself: ready again with no write sent.
        await until(lambda: _ready(p), timeout=30, what="recovery without a write")
        status, body = await p.request("POST", url, json={"body": "after"}, headers=AUTH)
        assert status == 201, body
    finally:
        assert await p.stop() == 0
    assert acked_before | {"after"} <= human_bodies(mnt / "prober.db")


def fill(path: Path) -> None:
    """Fill the volume to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        chunk = b"\0" * 65536
        for _ in range(100_000):  # bounded; ends at ENOSPC long before
            try:
                os.write(fd, chunk)
            except OSError:
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)


def mount(args: list[str]) -> None:
    subprocess.run(["mount", *args], check=True, timeout=30)


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, timeout=30)


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path, str], Path]]:
    """Mount a tmpfs of a given size at a new folder (root only); unmounted at teardown."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def make(path: Path, size: str) -> Path:
        path.mkdir()
        mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
        mounted.append(path)
        return path

    yield make
    for path in reversed(mounted):
        umount(path)


async def _ready(p: ProberProcess) -> bool:
    status, _ = await p.request("GET", "/-/ready")
    return status == 200


async def test_a_second_process_on_the_same_file_is_refused_naming_the_holder(
    tmp_path: Path, target: str
) -> None:
    first = prober(tmp_path, target)
    await first.start()
    try:
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "prober",
            "run",
            "--config",
            str(first.config),
            "--listen",
            "127.0.0.1:0",
            "--db",
            str(first.db),
            "--log-format",
            "json",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode != 0
        assert "store_locked" in err.decode()
        assert first.proc is not None and f"pid {first.proc.pid}" in err.decode()
        assert await _ready(first)
    finally:
        assert await first.stop() == 0


async def _refused(p: ProberProcess, extra: tuple[str, ...] = ()) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prober",
        "run",
        "--config",
        str(p.config),
        "--listen",
        "127.0.0.1:0",
        "--db",
        str(p.db),
        "--log-format",
        "json",
        *extra,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err.decode()[-2000:]
    return err.decode()


@pytest.mark.parametrize("lost", ["wal", "database"])
async def test_a_database_or_wal_lost_after_kill_9_is_refused_unless_allowed(
    tmp_path: Path, target: str, lost: str
) -> None:
    p = prober(tmp_path, target)
    await p.start()
    await open_incident(p)
    await p.kill()
    wal = tmp_path / "prober.db-wal"
    assert wal.exists(), "kill -9 leaves the WAL"
    if lost == "wal":
        wal.unlink()
    else:
        for f in (tmp_path / "prober.db", wal, tmp_path / "prober.db-shm"):
            f.unlink(missing_ok=True)
    err = await _refused(p)
    assert "store_lost" in err and "--allow-new-db" in err
    again = prober(tmp_path, target, args=("--allow-new-db",))
    await again.start()
    assert await again.stop() == 0


async def test_corrupt_pages_make_prober_unready_and_the_file_is_never_written(
    tmp_path: Path, target: str
) -> None:
    p = prober(tmp_path, target)
    await p.start()
    iid = await open_incident(p)
    for i in range(60):  # enough pages to corrupt some in the middle
        status, _ = await p.request(
            "POST",
            f"/api/prober/v1/incidents/{iid}/updates",
            json={"body": f"{i}" + "x" * 3000},
            headers=AUTH,
        )
        assert status == 201
    assert await p.stop() == 0
    data = bytearray(p.db.read_bytes())
    for page in range(3, 7):
        data[page * 4096 + 8 : (page + 1) * 4096] = bytes(range(256)) * 15 + bytes(range(248))
    p.db.write_bytes(bytes(data))
    again = prober(tmp_path, target)
    await again.start()
    try:
        status, body = await again.request("GET", "/-/ready")
        assert status == 503 and "corrupt" in body
    finally:
        assert await again.stop() == 0
    assert p.db.read_bytes() == bytes(data)


async def test_a_receiver_that_fails_then_recovers_gets_each_event_once_in_order(
    tmp_path: Path, target: str
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    got: list[tuple[str, str]] = []
    tried: set[str] = set()
    failures = {"n": 0}

    async def hook(request: web.Request) -> web.Response:
        # Down until it has failed 3 times, unless a second event shows up first (which
        # only an out-of-order sender would send while the first is still being retried).
        body = await request.json()
        tried.add(request.headers["webhook-id"])
        if failures["n"] < 3 and len(tried) < 2:
            failures["n"] += 1
            return web.Response(status=503)
        got.append((request.headers["webhook-id"], body["event"]))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        config = write_config(
            tmp_path / "checks.yaml",
            target,
            extra=FAST.replace("quiet_period: 1h", "quiet_period: 2s")
            + (
                "webhooks:\n  - id: ops\n"
                f"    url: {server.make_url('/hook')}\n    secret: whsec_MDEyMzQ1Njc4OWFiY2RlZg==\n"
            ),
        )
        p = ProberProcess(config, tmp_path / "prober.db")
        await p.start()
        try:
            await open_incident(p)
            async with (
                aiohttp.ClientSession() as s,
                s.post(target + "/_sim/scenario", json={"scenario": "healthy"}) as r,
            ):
                assert r.status == 200

            async def resolved_delivered() -> bool:
                return any(event == "incident.resolved" for _, event in got)

            await until(resolved_delivered, timeout=90, what="the resolution delivered")
            history = (await p.get_json("/api/v2/incidents.json"))["incidents"][0]
        finally:
            assert await p.stop() == 0
    finally:
        await server.close()
    ids = [i for i, _ in got]
    assert len(ids) == len(set(ids)), f"an event delivered twice: {got}"
    assert failures["n"] == 3, "the receiver was down for the first event's first attempts"
    in_order = [f"ops:{history['id']}:{u['id']}" for u in reversed(history["incident_updates"])]
    assert ids == in_order, f"delivered {got}, written {in_order}"


async def test_restart_across_the_quiet_period_resolves_saves_and_sends_at_start(
    tmp_path: Path, target: str
) -> None:
    """Killed in `monitoring`, down longer than the quiet period: the restart resolves the
    incident at once, on disk and to the webhook, instead of leaving it stuck."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    events: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        events.append((await request.json())["event"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        config = write_config(
            tmp_path / "checks.yaml",
            target,
            extra=FAST.replace("quiet_period: 1h", "quiet_period: 4s")
            + (f"webhooks:\n  - id: ops\n    url: {server.make_url('/hook')}\n"),
        )
        first = ProberProcess(config, tmp_path / "prober.db")
        await first.start()
        iid = await open_incident(first)
        async with (
            aiohttp.ClientSession() as s,
            s.post(target + "/_sim/scenario", json={"scenario": "healthy"}) as r,
        ):
            assert r.status == 200

        async def monitoring() -> bool:
            data = await first.get_json(f"/api/prober/v1/incidents/{iid}.json")
            return bool(data["incident"]["status"] == "monitoring")

        await until(monitoring, timeout=60, what="monitoring")
        await first.kill()
        await asyncio.sleep(5)  # longer than the quiet period, while down
        second = ProberProcess(config, tmp_path / "prober.db")
        await second.start()
        try:
            data = await second.get_json("/api/v2/incidents/unresolved.json")
            assert data["incidents"] == [], "resolved at start, not stuck in monitoring"
            await until(
                lambda: asyncio.sleep(0, "incident.resolved" in events),
                timeout=30,
                what="the resolution sent",
            )
        finally:
            assert await second.stop() == 0
    finally:
        await server.close()
    with sqlite3.connect(tmp_path / "prober.db") as conn:
        (status,) = conn.execute("SELECT status FROM incidents WHERE id = ?", (iid,)).fetchone()
    assert status == "resolved"


async def test_a_read_only_volume_refuses_writes_with_503_and_acknowledges_nothing(
    tmp_path: Path, target: str, tmpfs: Callable[[Path, str], Path]
) -> None:
    mnt = tmpfs(tmp_path / "vol", "8m")
    first = prober(tmp_path, target, db=mnt / "prober.db")
    await first.start()
    iid = await open_incident(first)
    assert await first.stop() == 0
    mount(["-o", "remount,ro", str(mnt)])
    p = prober(tmp_path, target, db=mnt / "prober.db")
    await p.start()
    try:
        status, body = await p.request("GET", "/-/ready")
        assert status == 503 and "store" in body
        # What was open is still shown, read from the file without writing it.
        still = await p.get_json("/api/v2/incidents/unresolved.json")
        assert [i["id"] for i in still["incidents"]] == [iid]
        status, body = await p.request(
            "POST",
            f"/api/prober/v1/incidents/{iid}/updates",
            json={"body": "on a ro volume"},
            headers=AUTH,
        )
        assert status == 503 and "store_unavailable" in body, body
    finally:
        assert await p.stop() == 0
    mount(["-o", "remount,rw", str(mnt)])
    assert "on a ro volume" not in human_bodies(mnt / "prober.db")
