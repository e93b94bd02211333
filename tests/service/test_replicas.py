"""Several `prober run` replicas on one real PostgreSQL database (issue 14, role.py).

Two Service instances in one process share a throwaway cluster's database (tests/pg.py),
each with its own fenced PostgresStore and PgLeadership, on one virtual clock; only the
database I/O is real (each virtual second waits, bounded, for the writers to finish).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from prober import __version__
from prober.api.app import make_app
from prober.clock import VirtualClock
from prober.config.loader import load_config
from prober.distributed.codec import encode
from prober.distributed.feed import Feed
from prober.domain.status import ComponentStatus, IncidentStatus
from prober.errors import NotLeaderError, StoreError
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.probes.result import ProbeResult, Reason
from prober.service import Service, Settings, build_service
from prober.store.lease import FencedError
from prober.store.memory import MemoryStore
from prober.store.postgres import PostgresStore
from prober.store.postgres_lease import PgLeadership
from prober.store.postgres_rounds import PostgresRoundLog
from prober.store.rounds import RoundRow
from tests.service.test_service_inprocess import START, HeldSender, Script, config_text

LOCATIONS = "distributed: {locations: [eu, us, ap], quorum: 2}\n"


class Replica:
    def __init__(
        self,
        name: str,
        url: str,
        path: Path,
        clock: VirtualClock,
        script: Script,
        timeout: float = 5.0,
    ):
        config = load_config(path)
        self.store = PostgresStore(url)
        self.leadership = PgLeadership(
            url, name, clock=lambda: clock.now().timestamp(), timeout=timeout
        )
        self.store.fence(self.leadership)
        self.exporter = Metrics(version=__version__)
        keeper = StoreKeeper(self.store, self.exporter, clock=clock, fallback=False)
        feed = Feed(PostgresRoundLog(url), config) if config.distributed.locations else None
        self.service = Service(
            Settings(config_path=str(path), db_path=url, api_token="t"),
            config,
            clock=clock,
            keeper=keeper,
            exporter=self.exporter,
            probe=script.probe,
            sender=HeldSender(self.store, clock, self.exporter.webhook_delivery),
            leadership=self.leadership,
            feed=feed,
        )

    @property
    def leading(self) -> bool:
        role = self.service.role
        assert role is not None
        return role.leading

    def metric(self, name: str) -> float:
        for line in self.exporter.render().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(name)


class Cluster:
    def __init__(
        self,
        url: str,
        tmp_path: Path,
        extra: str = "",
        *,
        write: bool = True,
        timeout: float = 5.0,  # each replica's leadership calls (PgLeadership)
    ) -> None:
        self.url = url
        path = tmp_path / "checks.yaml"
        if write:  # else the test wrote it
            path.write_text(config_text() + extra)
        self.clock = VirtualClock(START)
        self.script = Script(self.clock)
        self.a = Replica("a", url, path, self.clock, self.script, timeout)
        self.b = Replica("b", url, path, self.clock, self.script, timeout)

    async def settle(self) -> None:
        """Real time for the database I/O the virtual second started (bounded)."""
        for _ in range(200):
            await asyncio.sleep(0.005)
            if all(r.service.keeper.idle for r in (self.a, self.b)):
                break
        await asyncio.sleep(0.01)

    async def run(self, seconds: int) -> None:
        for _ in range(seconds):
            await self.clock.advance(1.0)
            await self.settle()

    async def until(self, condition: Callable[[], bool], seconds: int = 20) -> None:
        """Run virtual seconds until `condition` (a follower's refresh waits a few times
        as long as the last one took, in real time: the number of seconds varies)."""
        for _ in range(seconds):
            if condition():
                return
            await self.run(1)
        assert condition()

    def leader(self) -> Replica:
        (one,) = [r for r in (self.a, self.b) if r.leading]
        return one

    def follower(self) -> Replica:
        (one,) = [r for r in (self.a, self.b) if not r.leading]
        return one


@pytest.fixture
async def cluster(pg_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(pg_url, tmp_path)
    await c.a.service.start()
    await c.b.service.start()
    try:
        yield c
    finally:
        await c.a.service.stop()
        await c.b.service.stop()


async def open_incident(c: Cluster) -> str:
    c.script.failing = {"api-check"}
    for _ in range(120):  # bounded: the policy opens it within a window
        await c.run(1)
        if c.leader().service.published().snapshot.incidents:
            break
    (incident,) = c.leader().service.published().snapshot.incidents
    return incident.id


async def terminate(url: str, pid: int | None) -> None:
    assert pid is not None
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # with a timeout it waits until the session is gone (and its locks released)
        await conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def test_exactly_one_replica_leads_and_says_so(cluster: Cluster) -> None:
    c = cluster
    await c.run(3)
    leader, follower = c.leader(), c.follower()
    assert leader.service.published().ready == (True, "ready; role=leader; term=1; leader=a")
    assert follower.service.published().ready == (True, "ready; role=follower; term=1; leader=a")
    assert leader.metric("prober_leader") == 1 and follower.metric("prober_leader") == 0
    assert leader.metric("prober_leader_term") == follower.metric("prober_leader_term") == 1
    assert follower.metric("prober_leader_last_election_timestamp_seconds") > 0
    with pytest.raises(NotLeaderError, match=r"not the leader \(leader: a\)"):
        await follower.service.write_incident("x", None, "from the follower", None)


async def test_the_follower_serves_the_leaders_incident(cluster: Cluster) -> None:
    c = cluster
    iid = await open_incident(c)
    follower = c.follower().service
    await c.until(lambda: bool(follower.published().snapshot.incidents))  # its refresh
    assert [i.id for i in follower.published().snapshot.incidents] == [iid]
    leader = c.leader().service

    def statuses(service: Service) -> dict[str, object]:
        return {x.id: x.status for x in service.published().snapshot.components}

    # the follower lags the leader by its refresh interval, then shows the same statuses
    await c.until(lambda: statuses(follower) == statuses(leader))
    assert statuses(follower)["api"] is not ComponentStatus.OPERATIONAL


async def test_a_lost_lock_session_moves_leadership_and_the_incident_goes_on(
    cluster: Cluster,
) -> None:
    c = cluster
    iid = await open_incident(c)
    old, new = c.leader(), c.follower()
    await old.service.write_incident(iid, IncidentStatus.IDENTIFIED, "looking", None)
    await terminate(c.url, await old.leadership.backend_pid())
    for _ in range(10):  # bounded: renew fails, the other contends every second
        await c.run(1)
        if new.leading and not old.leading:
            break
    assert new.leading and not old.leading
    assert new.metric("prober_leader_term") == 2
    await new.service.write_incident(iid, None, "still on it", None)
    await c.run(3)
    (incident,) = await new.store.incidents(limit=10)  # no duplicate incident
    assert incident.id == iid and incident.is_open
    bodies = [u.body for u in incident.updates]
    assert "looking" in bodies and "still on it" in bodies  # no lost update
    assert [i.id for i in old.service.published().snapshot.incidents] == [iid]


async def test_a_deposed_leaders_write_is_fenced_and_it_steps_down(cluster: Cluster) -> None:
    c = cluster
    iid = await open_incident(c)
    old, new = c.leader(), c.follower()
    await terminate(c.url, await old.leadership.backend_pid())
    await new.service.role.contend()  # type: ignore[union-attr]  # wins before old notices
    assert new.leading and old.leading  # old has not noticed yet
    with pytest.raises(FencedError):
        await old.service.write_incident(iid, None, "from the deposed leader", None)
    await c.settle()
    assert not old.leading  # the fenced write made it step down at once
    (incident,) = await new.store.incidents(limit=10)
    assert all(u.body != "from the deposed leader" for u in incident.updates)


async def test_a_take_over_that_fails_part_way_steps_down_again(cluster: Cluster) -> None:
    c = cluster
    await c.run(2)
    old, new = c.leader(), c.follower()
    real = new.store.load_state
    calls = 0

    async def failing_once() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("database 'x': connection lost")
        return await real()

    new.store.load_state = failing_once  # type: ignore[method-assign]
    await terminate(c.url, await old.leadership.backend_pid())
    await new.service.role.contend()  # type: ignore[union-attr]  # wins, cannot read
    assert not new.leading and new.leadership.term is None
    assert calls == 2  # the take-over that failed, then the follower's refresh
    assert new.service.live.follower  # never half a leader: nothing written, nothing sent
    for _ in range(10):  # bounded: old notices its loss, the lock is free, one takes over
        await c.run(1)
        if old.leadership.term != 1 and any(r.leading for r in (c.a, c.b)):
            break
    assert [r.leading for r in (c.a, c.b)].count(True) == 1
    assert c.leader().metric("prober_leader_term") == 3  # a (1), new's failed try (2), 3


async def test_a_follower_that_cannot_read_keeps_its_page_and_recovers(cluster: Cluster) -> None:
    c = cluster
    iid = await open_incident(c)
    follower = c.follower()
    await c.until(lambda: bool(follower.service.published().snapshot.incidents))
    real = follower.store.load_state
    broken = True

    async def load_state() -> Any:
        if broken:
            raise StoreError("database 'x': connection refused")
        return await real()

    follower.store.load_state = load_state  # type: ignore[method-assign]
    await c.until(lambda: not follower.service.published().ready[0])
    why = follower.service.published().ready[1]
    assert "connection refused" in why
    assert [i.id for i in follower.service.published().snapshot.incidents] == [iid]  # kept
    broken = False
    await c.until(lambda: follower.service.published().ready[0])
    assert follower.service.published().ready[1].startswith("ready; role=follower")


# ---- the agents' rounds through the feed --------------------------------------------------


def round_rows(location: str, check: str, at: float, ok: bool) -> list[RoundRow]:
    reason = Reason.OK if ok else Reason.HTTP_5XX
    results = [
        ProbeResult(check, check.split("-")[0], at + i * 0.01, reason, 0.01, 200 if ok else 500)
        for i in range(5)
    ]
    return [RoundRow(location, location + "-0", check, at, encode(results))]


async def test_rounds_are_fed_once_across_a_handover(pg_url: str, tmp_path: Path) -> None:
    c = Cluster(pg_url, tmp_path, LOCATIONS)
    await c.a.service.start()
    await c.b.service.start()
    log = PostgresRoundLog(pg_url)
    await log.open()
    try:
        await c.run(2)
        first = c.leader()
        for n in range(12):  # 12 rounds of api-check, 5 s apart, from three locations
            at = c.clock.now().timestamp()
            for loc in ("eu", "us", "ap"):
                await log.append_rounds(round_rows(loc, "api-check", at, ok=True))
            await c.run(5)
            if n in (3, 7):  # a -> b, then b -> a: each resumes the other's position
                await terminate(c.url, await c.leader().leadership.backend_pid())
        await c.run(3)
        assert c.leader() is first and first.metric("prober_leader_term") == 3
        saved = await c.leader().store.load_state()
        assert saved is not None
        feed = saved.engine["feed"]
        assert {loc["name"]: loc["state"] for loc in feed["locations"]} == {
            "eu": "ok",
            "us": "ok",
            "ap": "ok",
        }
        follower = c.follower()
        await c.until(lambda: bool(follower.service.locations()))
        assert [(x["name"], x["state"]) for x in follower.service.locations()] == [
            ("ap", "ok"),
            ("eu", "ok"),
            ("us", "ok"),
        ]  # the follower reads them from the leader's saved engine row
        assert c.script.requests == 0  # with locations the leader does not probe
        # each round counted once in the saved state (a deposed leader's feeding, fenced,
        # never was), by one leader or the other
        assert feed["fed"] == 12
        assert all(r.service.role.rounds_fed for r in (c.a, c.b))  # type: ignore[union-attr]
    finally:
        await log.close()
        await c.a.service.stop()
        await c.b.service.stop()


async def test_the_http_surface_of_a_follower(cluster: Cluster, aiohttp_client: Any) -> None:
    c = cluster
    iid = await open_incident(c)
    follower = c.follower().service
    await c.until(lambda: bool(follower.published().snapshot.incidents))  # its refresh
    client = await aiohttp_client(make_app(follower))
    ready = await client.get("/-/ready")
    assert ready.status == 200
    assert await ready.text() == "ready; role=follower; term=1; leader=a\n"
    page = await client.get("/api/v2/incidents/unresolved.json")
    assert [i["id"] for i in (await page.json())["incidents"]] == [iid]
    write = await client.post(
        f"/api/prober/v1/incidents/{iid}/updates",
        json={"body": "from a follower"},
        headers={"Authorization": "Bearer t"},
    )
    assert write.status == 503 and write.headers["Retry-After"]
    assert (await write.json())["error"]["code"] == "not_leader"
    assert "leader: a" in (await write.json())["error"]["message"]
    locations = await client.get("/api/prober/v1/locations.json")
    assert (await locations.json()) == {"locations": []}  # no agents configured


async def test_a_replica_that_cannot_open_the_database_does_not_start(tmp_path: Path) -> None:
    """No memory fallback on PostgreSQL: an unfenced replica must never lead."""
    path = tmp_path / "checks.yaml"
    path.write_text(config_text())
    url = f"postgresql://prober@/prober?host={tmp_path}/no-server&connect_timeout=1"
    service = build_service(Settings(config_path=str(path), db_path=url), load_config(path))
    assert service.keeper.fallback is False and service.role is not None
    with pytest.raises(StoreError, match="no-server"):
        await service.start()
    assert not isinstance(service.keeper.store, MemoryStore)
    await service.keeper.close()
    await service.sender.close()
