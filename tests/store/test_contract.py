"""Contract tests: the same functions run against MemoryStore, SqliteStore and PostgresStore."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prober.domain.codec import StateDelta
from prober.domain.effects import NetworkHealthChanged
from prober.domain.incident import AffectedComponent, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.errors import StoreError
from prober.store.base import ProbeAggregate, StatusChange, Store
from prober.store.memory import MemoryStore
from prober.store.sqlite import SqliteStore

from .factories import (
    MAJOR,
    OP,
    PARTIAL,
    changed,
    engine_row,
    incident,
    opened,
    resolved,
    st,
    update,
    updated,
)

DEG = ComponentStatus.DEGRADED_PERFORMANCE


async def test_fresh_store_is_empty(store: Store) -> None:
    assert await engine_row(store) is None
    assert await store.incidents() == []
    assert await store.incident("nope") is None
    assert await store.status_changes(0.0) == []
    assert await store.due_deliveries(1e12) == []
    assert await store.probe_aggregates("c", 0.0) == []


async def test_engine_and_component_rows_round_trip(store: Store) -> None:
    api = {"health": {"status": "major_outage", "streak": 3}, "v": [1, 2.5, None]}
    await store.apply([], StateDelta({"seq": 1}, {"api": api, "db": {"n": 1}}), now=10.0)
    saved = await store.load_state()
    assert saved is not None
    assert saved.engine == {"seq": 1}
    assert saved.components == {"api": api, "db": {"n": 1}}
    assert saved.open_incidents == []


async def test_a_delta_replaces_only_the_rows_it_names(store: Store) -> None:
    await store.apply([], StateDelta({"seq": 1}, {"api": {"n": 1}, "db": {"n": 1}}))
    await store.apply([], StateDelta({"seq": 2}, {"db": {"n": 2}}))
    saved = await store.load_state()
    assert saved is not None
    assert saved.engine == {"seq": 2}
    assert saved.components == {"api": {"n": 1}, "db": {"n": 2}}


async def test_a_complete_delta_deletes_the_rows_it_does_not_name(store: Store) -> None:
    await store.apply([], StateDelta({"seq": 1}, {"api": {"n": 1}, "gone": {"n": 1}}))
    await store.apply([], StateDelta({"seq": 2}, {"api": {"n": 2}}, complete=True))
    saved = await store.load_state()
    assert saved is not None
    assert saved.components == {"api": {"n": 2}}


async def test_no_delta_leaves_the_state_rows_as_they_are(store: Store) -> None:
    await store.apply([], StateDelta({"seq": 1}, {"api": {"n": 1}}))
    await store.apply([opened("inc1")], None)
    saved = await store.load_state()
    assert saved is not None
    assert (saved.engine, saved.components) == ({"seq": 1}, {"api": {"n": 1}})


async def test_saved_state_lists_the_open_incidents_with_their_updates(store: Store) -> None:
    op = opened("inc1", 1000.0)
    closed = opened("inc2", 900.0)
    await store.apply([op, closed, resolved(closed.incident, 2, 950.0)], st(seq=2))
    saved = await store.load_state()
    assert saved is not None
    assert saved.open_incidents == [op.incident]


async def test_saved_state_is_a_snapshot(store: Store) -> None:
    engine: dict[str, object] = {"n": 1}
    row: dict[str, object] = {"m": 1}
    await store.apply([], StateDelta(engine, {"api": row}))
    engine["n"] = 2
    row["m"] = 2
    saved = await store.load_state()
    assert saved is not None
    assert (saved.engine, saved.components) == ({"n": 1}, {"api": {"m": 1}})


async def test_incident_lifecycle_round_trips(store: Store) -> None:
    op = opened("inc1", 1000.0)
    await store.apply([op], st(s=1), now=1000.0)
    got = await store.incident("inc1")
    assert got == op.incident

    mon = updated(op.incident, 2, 1100.0, IncidentStatus.MONITORING)
    mon = replace(
        mon,
        incident=replace(
            mon.incident, impact_override=True, group="core", components=(("api", OP), ("db", DEG))
        ),
    )
    res = resolved(mon.incident, 3, 1700.0)
    await store.apply([mon, res], st(s=2), now=1700.0)

    got = await store.incident("inc1")
    assert got is not None
    assert got.status is IncidentStatus.RESOLVED
    assert got.monitoring_at == 1100.0 and got.resolved_at == 1700.0
    assert got.duration == 1700.0 - 970.0
    assert got.impact_override is True and got.group == "core"
    assert got.components == (("api", OP), ("db", OP))
    assert [u.id for u in got.updates] == ["inc1-u1", "inc1-u2", "inc1-u3"]
    assert [u.status for u in got.updates] == [
        IncidentStatus.INVESTIGATING,
        IncidentStatus.MONITORING,
        IncidentStatus.RESOLVED,
    ]
    assert got.updates[0].affected_components == (
        AffectedComponent("api", "Platform API", OP, MAJOR),
    )
    assert got == res.incident


async def test_reapplying_effects_never_duplicates(store: Store) -> None:
    op = opened("inc1")
    up = updated(op.incident, 2, 1060.0, IncidentStatus.IDENTIFIED)
    effects = [op, up, changed("api", OP, MAJOR, 1000.0), NetworkHealthChanged(False, 999.0)]
    hooks = [("slack", "inc1-u1", b"a"), ("slack", "inc1-u2", b"b")]
    for _ in range(3):
        await store.apply(effects, st(s=1), hooks, now=1060.0)
    got = await store.incident("inc1")
    assert got is not None
    assert [u.id for u in got.updates] == ["inc1-u1", "inc1-u2"]
    assert [(c.component, c.status) for c in await store.status_changes(0.0)] == [
        ("api", OP),
        ("api", MAJOR),
    ]
    assert [d.event_key for d in await store.due_deliveries(2000.0)] == ["inc1-u1", "inc1-u2"]


async def test_update_upsert_keeps_position_and_takes_new_content(store: Store) -> None:
    op = opened("inc1", 1000.0)
    u2 = update("inc1", 2, 1000.0, body="second, same second")
    u3 = update("inc1", 3, 1000.0, body="third, same second")
    inc = replace(op.incident, updates=(*op.incident.updates, u2, u3))
    await store.apply([replace(op, incident=inc)], None)
    edited = replace(u2, body="second, edited")
    await store.apply([updated(inc, 2, 1000.0, IncidentStatus.INVESTIGATING)], None)
    from prober.domain.effects import IncidentUpdated

    await store.apply([IncidentUpdated(replace(inc, updates=()), edited)], None)
    got = await store.incident("inc1")
    assert got is not None
    assert [u.id for u in got.updates] == ["inc1-u1", "inc1-u2", "inc1-u3"]
    assert got.updates[1].body == "second, edited"


async def test_incidents_open_first_then_most_recent(store: Store) -> None:
    old_res = resolved(opened("a", 100.0).incident, 2, 200.0)
    new_res = resolved(opened("b", 300.0).incident, 2, 400.0)
    open_old = opened("c", 50.0)
    open_new = opened("d", 500.0)
    await store.apply([old_res, new_res, open_old, open_new], None)
    assert [i.id for i in await store.incidents()] == ["d", "c", "b", "a"]
    assert [i.id for i in await store.incidents(limit=3)] == ["d", "c", "b"]
    assert [i.id for i in await store.incidents(limit=0)] == []
    # since: open ones always, closed ones updated at or after since
    assert [i.id for i in await store.incidents(since=300.0)] == ["d", "c", "b"]
    assert [i.id for i in await store.incidents(since=1000.0)] == ["d", "c"]
    listed = await store.incidents()
    assert all(len(i.updates) >= 1 for i in listed)


async def test_incidents_started_in_a_span_whatever_came_after(store: Store) -> None:
    """One month of history: incidents that started in [since, until), earliest first,
    however many started later (newer ones must not push them out of a limit)."""
    # the factories start an incident 30 s before it is opened
    before = resolved(opened("a", 100.0).incident, 2, 200.0)  # started 70
    first = resolved(opened("b", 330.0).incident, 2, 350.0)  # started 300
    still_open = opened("c", 430.0)  # started 400
    later = [opened(f"z{n}", 630.0 + n) for n in range(5)]  # started 600 and after
    await store.apply([before, first, still_open, *later], None)
    got = await store.incidents_started(300.0, 600.0, limit=3)
    assert [i.id for i in got] == ["b", "c"]
    assert all(i.updates for i in got)
    assert [i.id for i in await store.incidents_started(300.0, 600.0, limit=1)] == ["b"]
    assert await store.incidents_started(0.0, 70.0) == []
    assert [i.id for i in await store.incidents_started(0.0, 71.0)] == ["a"]


async def test_status_changes_give_state_at_since_then_later_changes(store: Store) -> None:
    await store.apply(
        [
            changed("api", OP, DEG, 100.0),
            changed("api", DEG, MAJOR, 200.0),
            changed("db", OP, PARTIAL, 150.0),
            changed("api", MAJOR, OP, 400.0),
            changed("cdn", OP, DEG, 300.0),  # no change before since: status was `old`
        ],
        None,
    )
    assert await store.status_changes(250.0) == [
        StatusChange("api", 250.0, MAJOR),
        StatusChange("cdn", 250.0, OP),
        StatusChange("db", 250.0, PARTIAL),
        StatusChange("cdn", 300.0, DEG),
        StatusChange("api", 400.0, OP),
    ]
    # a change exactly at `since` is the state at since
    assert (await store.status_changes(200.0))[0] == StatusChange("api", 200.0, MAJOR)
    assert await store.status_changes(500.0) == [
        StatusChange("api", 500.0, OP),
        StatusChange("cdn", 500.0, DEG),
        StatusChange("db", 500.0, PARTIAL),
    ]


def agg(
    check: str, minute: int, total: int, failures: int, lsum: float, lmax: float
) -> ProbeAggregate:
    return ProbeAggregate(check, "api", minute, total, failures, lsum, lmax)


async def test_probe_aggregates_upsert_adds_counts(store: Store) -> None:
    await store.add_probe_aggregates(
        [agg("c1", 60, 10, 1, 1.0, 0.3), agg("c2", 60, 5, 0, 0.5, 0.1)]
    )
    await store.add_probe_aggregates(
        [agg("c1", 60, 20, 2, 2.0, 0.2), agg("c1", 120, 3, 3, 0.3, 0.1)]
    )
    # the same key twice in one batch adds up too
    await store.add_probe_aggregates(
        [agg("c1", 180, 1, 0, 0.1, 0.1), agg("c1", 180, 1, 1, 0.5, 0.5)]
    )
    rows = await store.probe_aggregates("c1", 0.0)
    assert rows == [
        agg("c1", 60, 30, 3, 3.0, 0.3),
        agg("c1", 120, 3, 3, 0.3, 0.1),
        agg("c1", 180, 2, 1, 0.6, 0.5),
    ]
    assert [r.minute for r in await store.probe_aggregates("c1", 120.0)] == [120, 180]
    assert await store.probe_aggregates("c2", 0.0) == [agg("c2", 60, 5, 0, 0.5, 0.1)]


async def test_probe_days_sum_per_component_and_utc_day(store: Store) -> None:
    day = 86400
    await store.add_probe_aggregates(
        [
            agg("c1", 10 * day + 60, 10, 1, 1.0, 0.1),
            agg("c2", 10 * day + 120, 5, 5, 1.0, 0.1),  # same component, same day
            agg("c1", 11 * day - 60, 1, 0, 0.1, 0.1),  # last minute of day 10
            agg("c1", 11 * day, 7, 2, 0.1, 0.1),  # first minute of day 11
            ProbeAggregate("w1", "web", 11 * day + 60, 4, 0, 0.1, 0.1),
            agg("c1", 9 * day, 99, 99, 0.1, 0.1),  # before `since`
        ]
    )
    rows = sorted(await store.probe_days(10 * day))
    assert rows == [
        ("api", 10 * day, 16, 6),
        ("api", 11 * day, 7, 2),
        ("web", 11 * day, 4, 0),
    ]


async def test_prune_drops_old_aggregates_and_old_resolved_incidents(store: Store) -> None:
    day = 86400.0
    now = 100 * day
    old_res = resolved(opened("old", 1 * day).incident, 2, 2 * day)
    old_open = opened("still-open", 1 * day)
    new_res = resolved(opened("new", 95 * day).incident, 2, 95 * day + 60)
    await store.apply(
        [
            old_res,
            old_open,
            new_res,
            changed("api", OP, MAJOR, 1 * day),
            changed("api", MAJOR, OP, 2 * day),
            changed("api", OP, DEG, 99 * day),
        ],
        None,
    )
    await store.add_probe_aggregates([agg("c1", int(5 * day), 1, 0, 0.1, 0.1)])
    await store.add_probe_aggregates([agg("c1", int(99 * day), 1, 0, 0.1, 0.1)])
    before = await store.status_changes(90 * day)

    await store.prune(now, 90 * day)

    assert {i.id for i in await store.incidents()} == {"still-open", "new"}
    assert await store.incident("old") is None
    kept = await store.incident("still-open")
    assert kept is not None and len(kept.updates) == 1
    assert [a.minute for a in await store.probe_aggregates("c1", 0.0)] == [int(99 * day)]
    # the status at the start of the uptime window survives the prune
    assert await store.status_changes(90 * day) == before
    assert before == [StatusChange("api", 90 * day, OP), StatusChange("api", 99 * day, DEG)]
    # a later incident re-using an update id of the pruned one is not blocked
    await store.apply([opened("old", now)], None)
    again = await store.incident("old")
    assert again is not None and len(again.updates) == 1


async def test_outbox_due_done_failed_dropped(store: Store) -> None:
    hooks = [("generic", "k1", b"one"), ("generic", "k2", b"two"), ("slack", "k1", b"slack-one")]
    await store.apply([], None, hooks, now=100.0)
    due = await store.due_deliveries(100.0)
    assert [(d.webhook, d.event_key, d.payload, d.attempts) for d in due] == [
        ("generic", "k1", b"one", 0),
        ("generic", "k2", b"two", 0),
        ("slack", "k1", b"slack-one", 0),
    ]
    assert await store.due_deliveries(99.0) == []
    assert len(await store.due_deliveries(100.0, limit=2)) == 2
    d1, d2, d3 = due
    await store.delivery_done(d1.id)
    await store.delivery_failed(d2.id, 160.0)
    await store.delivery_failed(d3.id, None)
    assert await store.due_deliveries(150.0) == []
    again = await store.due_deliveries(160.0)
    assert [(d.id, d.attempts, d.next_attempt_at) for d in again] == [(d2.id, 1, 160.0)]
    # a restart re-applying the same effect enqueues nothing, delivered or dropped
    await store.apply([], None, hooks, now=200.0)
    assert [d.id for d in await store.due_deliveries(1000.0)] == [d2.id]
    # done/failed on finished rows change nothing
    await store.delivery_failed(d1.id, 170.0)
    await store.delivery_done(d3.id)
    assert [d.id for d in await store.due_deliveries(1000.0)] == [d2.id]
    await store.delivery_done(d2.id)
    assert await store.due_deliveries(1000.0) == []


async def test_prune_keeps_pending_deliveries(store: Store) -> None:
    await store.apply([], None, [("w", "done", b"x"), ("w", "pending", b"y")], now=10.0)
    done = (await store.due_deliveries(10.0))[0]
    await store.delivery_done(done.id)
    await store.prune(now=10_000.0, retention=100.0)
    assert [d.event_key for d in await store.due_deliveries(20_000.0)] == ["pending"]


async def test_apply_is_all_or_nothing(store: Store) -> None:
    await store.apply([opened("inc1")], st(step=1), [("w", "k1", b"x")], now=1.0)
    orphan = update("ghost", 1, 5.0)  # its incident is not in the store nor in this apply
    from prober.domain.effects import IncidentUpdated

    bad = IncidentUpdated(replace(incident("inc1"), updates=()), orphan)
    with pytest.raises(StoreError):
        await store.apply(
            [opened("inc2"), changed("api", OP, MAJOR, 5.0), bad],
            st(step=2),
            [("w", "k2", b"y")],
            now=5.0,
        )
    assert await engine_row(store) == {"step": 1}
    assert [i.id for i in await store.incidents()] == ["inc1"]
    assert await store.status_changes(0.0) == []
    assert [d.event_key for d in await store.due_deliveries(10.0)] == ["k1"]
    # and the store still works
    await store.apply([opened("inc2")], st(step=3))
    assert await engine_row(store) == {"step": 3}


async def test_unserialisable_state_writes_nothing(store: Store) -> None:
    await store.apply([], st(step=1))
    with pytest.raises(TypeError):
        await store.apply([opened("inc1")], StateDelta({"n": 2}, {"api": {"bad": object()}}))
    assert await engine_row(store) == {"step": 1}
    assert await store.incidents() == []


@pytest.mark.parametrize("backend", [MemoryStore, lambda: SqliteStore(":memory:")])
async def test_calls_before_open_raise_store_error(backend: type[Store]) -> None:
    s = backend()
    with pytest.raises(StoreError):
        await s.load_state()
    await s.open()
    await s.close()
    with pytest.raises(StoreError):
        await s.apply([], None)


async def test_human_update_fields_round_trip(store: Store) -> None:
    op = opened("inc1")
    human = IncidentUpdate(
        id="inc1-h1",
        incident_id="inc1",
        status=IncidentStatus.IDENTIFIED,
        body="We have deployed a fix — ünïcode & <html>",
        created_at=1200.0,
        automatic=False,
    )
    from prober.domain.effects import IncidentUpdated

    inc = replace(op.incident, status=IncidentStatus.IDENTIFIED, impact=Impact.MAJOR)
    await store.apply([op, IncidentUpdated(inc, human)], None)
    got = await store.incident("inc1")
    assert got is not None
    assert got.impact is Impact.MAJOR
    assert got.updates[-1] == human
