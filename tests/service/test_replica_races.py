"""Races at a step-down (issue 14, role.py): a write of one term never commits in another."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from prober.domain.effects import Effect, IncidentUpdated
from prober.domain.status import IncidentStatus
from prober.errors import StoreError
from tests.service.test_replicas import (
    LOCATIONS,
    Cluster,
    cluster,
    open_incident,
    terminate,
)
from tests.service.test_service_inprocess import config_text

__all__ = ["cluster"]  # the fixture


async def test_a_write_under_way_at_a_step_down_never_commits_in_the_next_term(
    cluster: Cluster,
) -> None:
    c = cluster
    iid = await open_incident(c)
    old = c.leader()
    role = old.service.role
    assert role is not None and old.leadership.term == 1
    real = old.store.apply
    reached, gate = asyncio.Event(), asyncio.Event()

    async def held(effects: Sequence[Effect], *args: Any, **kwargs: Any) -> None:
        if any(isinstance(e, IncidentUpdated) and e.update.body == "stale" for e in effects):
            reached.set()  # waiting for a pool connection, say, while the database is slow
            await gate.wait()
        await real(effects, *args, **kwargs)

    old.store.apply = held  # type: ignore[method-assign]
    write = asyncio.create_task(old.service.write_incident(iid, None, "stale", None))
    await asyncio.wait_for(reached.wait(), 5)
    await terminate(c.url, await old.leadership.backend_pid())  # its lock session is gone
    step = asyncio.create_task(role.contend())  # renew fails: it steps down
    await asyncio.wait({step}, timeout=1.0)
    again = None
    if step.done():  # the step-down did not wait for the write: it can lead again at once
        again = asyncio.create_task(role.contend())
        for _ in range(500):  # bounded: elected (term 2) before the write goes on
            if old.leadership.term == 2:
                break
            await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(StoreError):  # FencedError: made in term 1, refused
        await write
    await step
    if again is not None:
        await again
    if not old.leading:
        await role.contend()
    assert old.leading and old.leadership.term == 2
    (incident,) = await old.store.incidents(limit=10)
    assert incident.id == iid
    assert all(u.body != "stale" for u in incident.updates)


SIGNAL = """    traffic:
      prometheus: http://127.0.0.1:9
      ratio: sum(rate(e[5m])) / sum(rate(r[5m]))
      requests: sum(rate(r[5m]))
      interval: 30s
"""


async def test_a_follower_does_not_start_traffic_signals_on_a_reload(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    await c.run(2)
    leader, follower = c.leader().service, c.follower().service
    path = tmp_path / "checks.yaml"
    text = path.read_text()
    marker = "    name: Dashboard\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + SIGNAL))
    assert (await leader.reload())[0] and (await follower.reload())[0]
    assert set(leader.intake.traffic._tasks) == {"web"}  # the leader reads the signal
    assert follower.intake.traffic._tasks == {}  # a follower queries nothing


async def test_an_agents_leader_starts_its_traffic_signals_on_election_and_stops_on_loss(
    pg_url: str, tmp_path: Path
) -> None:
    text = config_text() + LOCATIONS
    marker = "    name: Dashboard\n"
    assert marker in text
    (tmp_path / "checks.yaml").write_text(text.replace(marker, marker + SIGNAL))
    c = Cluster(pg_url, tmp_path, write=False)
    await c.a.service.start()
    await c.b.service.start()
    try:
        await c.run(2)
        old, new = c.leader(), c.follower()
        assert old.service.config.distributed.locations  # fed by agents, no probing
        assert set(old.service.intake.traffic._tasks) == {"web"}  # without any reload
        assert new.service.intake.traffic._tasks == {}
        await terminate(c.url, await old.leadership.backend_pid())
        await c.until(lambda: new.leading and not old.leading)
        assert old.service.intake.traffic._tasks == {}  # stopped on losing the leadership
        assert set(new.service.intake.traffic._tasks) == {"web"}  # started on election
    finally:
        await c.a.service.stop()
        await c.b.service.stop()


async def test_a_follower_whose_database_stops_answering_stays_a_follower_and_tries_again(
    pg_url: str, tmp_path: Path
) -> None:
    c = Cluster(pg_url, tmp_path, timeout=0.5)
    await c.a.service.start()
    await c.b.service.start()
    try:
        await c.run(2)
        old, new = c.leader(), c.follower()
        role = new.service.role
        assert role is not None
        async with await psycopg.AsyncConnection.connect(pg_url) as blocker:
            # The database stops answering the election: the term row is locked (as a
            # stalled network stalls it), and the leader's lock session is gone.
            await blocker.execute("LOCK TABLE prober_leader IN ACCESS EXCLUSIVE MODE")
            await terminate(c.url, await old.leadership.backend_pid())
            async with asyncio.timeout(2.5):  # its timeout and slack; for ever without
                await role.contend()
            assert not new.leading and new.leadership.term is None
            assert new.service.live.follower  # nothing written, nothing sent
            assert new.service.published().ready[1].startswith("ready; role=follower")
        # It tries again every second: the next election (term 2: the abandoned try
        # wrote none) goes to one replica, and the other notices and follows.
        await c.until(lambda: any(r.leadership.term == 2 for r in (c.a, c.b)))
        await c.until(lambda: [r.leading for r in (c.a, c.b)].count(True) == 1)
        assert c.leader().metric("prober_leader_term") == 2
    finally:
        await c.a.service.stop()
        await c.b.service.stop()


async def test_a_write_during_a_take_over_applies_to_the_saved_state_not_the_followers_copy(
    cluster: Cluster,
) -> None:
    """A person's write that reaches a replica while it takes over waits for the engine
    rebuilt from what the last leader saved: applied to the follower's copy (up to a
    refresh old), it would write over the last leader's final writes with the new term."""
    c = cluster
    iid = await open_incident(c)
    old, new = c.leader(), c.follower()
    await c.until(lambda: bool(new.service.published().snapshot.incidents))  # its copy
    role = new.service.role
    assert role is not None
    # The old leader's last write (no virtual time passes: the follower's copy is older).
    await old.service.write_incident(iid, IncidentStatus.RESOLVED, "fixed", None)
    await terminate(c.url, await old.leadership.backend_pid())
    real = new.store.load_state
    reached, gate = asyncio.Event(), asyncio.Event()

    async def held() -> Any:
        reached.set()  # the take-over reads the saved state (a slow database, say)
        await gate.wait()
        return await real()

    new.store.load_state = held  # type: ignore[method-assign]
    take_over = asyncio.create_task(role.contend())
    await asyncio.wait_for(reached.wait(), 5)
    write = asyncio.create_task(new.service.write_incident(iid, None, "late", None))
    await asyncio.sleep(0.2)  # the write, if it does not wait, is done by now
    gate.set()
    await take_over
    assert new.leading
    with contextlib.suppress(ValueError, KeyError, StoreError):  # resolved: refused
        await write
    (incident,) = await new.store.incidents(limit=10)
    assert incident.id == iid
    assert incident.status is IncidentStatus.RESOLVED  # not reopened by a stale copy
    assert [u.body for u in incident.updates][-1] == "fixed"


@pytest.mark.parametrize("saved_before", [True, False], ids=["state-saved", "nothing-saved"])
async def test_a_deposed_leader_does_not_keep_showing_an_incident_it_never_wrote(
    cluster: Cluster, saved_before: bool
) -> None:
    """A leader whose store fails shows what it decided (the keeper announces a batch whose
    write failed); deposed, that batch is dropped (never written, the new leader carries on
    from the saved state), and its page, now a follower's, is the database's again: no
    incident left open on it that no replica has."""
    c = cluster
    await c.run(2)
    old, new = c.leader(), c.follower()
    if saved_before:  # an engine row saved (else the database has none: a fresh engine)
        await old.service.upkeep.save_state()
        assert await old.service.keeper.flush()
    assert (await old.store.load_state() is not None) is saved_before

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreError("database 'x': connection lost")

    old.store.apply = failing  # type: ignore[method-assign]
    c.script.failing = {"api-check"}
    await c.until(lambda: bool(old.service.published().snapshot.incidents), seconds=120)
    c.script.failing = set()
    await terminate(c.url, await old.leadership.backend_pid())
    await c.until(lambda: new.leading and not old.leading)
    assert await new.store.incidents(limit=10) == []  # never written
    await c.run(3)  # the deposed leader follows the database
    assert old.service.published().snapshot.incidents == ()
    assert new.service.published().snapshot.incidents == ()


async def test_a_take_over_cancelled_part_way_leaves_nothing_running(cluster: Cluster) -> None:
    """Shutdown (the scheduler cancels the contend job) in the middle of a take-over: the
    writer task and whatever else was started stop; the replica is a follower again."""
    c = cluster
    await c.run(2)
    old, new = c.leader(), c.follower()
    role = new.service.role
    assert role is not None
    real = new.service._seed_incidents
    reached, gate = asyncio.Event(), asyncio.Event()

    async def held() -> None:
        reached.set()  # after the engine and the writer task, before leading
        await gate.wait()
        await real()

    new.service._seed_incidents = held  # type: ignore[method-assign]
    await terminate(c.url, await old.leadership.backend_pid())
    take_over = asyncio.create_task(role.contend())
    try:
        await asyncio.wait_for(reached.wait(), 5)
        assert role._writer is not None and not role._writer.done()
        writer = role._writer
        take_over.cancel()
        with pytest.raises(asyncio.CancelledError):
            await take_over
        assert writer.done() and role._writer is None  # cancelled, not left running
        assert new.service.live.follower and not new.leading
    finally:
        gate.set()
        if not take_over.done():  # bounded: the test failed above
            take_over.cancel()
            await asyncio.gather(take_over, return_exceptions=True)


async def test_a_leader_that_cannot_save_at_shutdown_says_so(cluster: Cluster) -> None:
    from structlog.testing import capture_logs

    c = cluster
    await c.run(2)
    leader = c.leader()

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreError("database 'x': connection lost")

    leader.store.apply = failing  # type: ignore[method-assign]
    c.script.failing = {"api-check"}
    await c.until(lambda: leader.service.keeper.pending_effects > 0, seconds=120)
    with capture_logs() as logs:
        await leader.service.stop()
    (unsaved,) = [e for e in logs if e["event"] == "store_unsaved_at_exit"]
    assert unsaved["pending_effects"] > 0
