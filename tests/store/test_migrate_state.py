"""An old database (schema 0004: the whole domain state as one document) upgrades to the
state rows without losing its open incident; `data/pre0005.db` was written by the store
before migration 0005 (see data/make_pre0005.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from prober.domain.codec import join_state
from prober.domain.engine import Engine
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.probes.result import Reason
from prober.store import codec
from prober.store.salvage import salvage
from prober.store.sqlite import SqliteStore
from tests.domain.sim import T0, TWO_COMPONENTS, Sim, failing, make_config

FIXTURE = Path(__file__).parent / "data" / "pre0005.db"
SAVED_AT = 1779829235.0  # the fixture's last save (its `sim.now`)


def old_db(tmp_path: Path) -> Path:
    db = tmp_path / "prober.db"
    shutil.copy(FIXTURE, db)
    return db


def old_state(db: Path) -> tuple[dict[str, object], str]:
    with sqlite3.connect(db) as conn:
        text = conn.execute("SELECT state FROM domain_state").fetchone()[0]
        (iid,) = conn.execute("SELECT id FROM incidents WHERE status != 'resolved'").fetchone()
    return codec.load_state(text), iid


async def test_the_fixture_is_an_old_database(tmp_path: Path) -> None:
    with sqlite3.connect(old_db(tmp_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"domain_state", "network_health"} <= tables


async def test_an_old_database_upgrades_keeping_its_open_incident(tmp_path: Path) -> None:
    db = old_db(tmp_path)
    before, iid = old_state(db)
    cfg = make_config(TWO_COMPONENTS, interval=5.0, requests_per_round=5)
    keeper = StoreKeeper(SqliteStore(str(db)), Metrics())
    state = await keeper.open()
    assert state is not None and not keeper.unreadable_state
    engine = Engine(cfg, state)
    assert [i.id for i in engine.open_incidents()] == [iid]
    # the engine is the one the old code saved: the same as an engine given the old
    # document directly (the current engine's format; later fields start at their defaults)
    kept = codec.load_state(codec.dump_state(Engine(cfg, before).to_state()))
    assert codec.load_state(codec.dump_state(engine.to_state())) == kept
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "domain_state" not in tables and "network_health" not in tables

    # The first save writes the rows and replaces the old document.
    await keeper.apply([], engine.state_delta(), (), SAVED_AT + 1)
    await keeper.close()
    with sqlite3.connect(db) as conn:
        engine_row = codec.load_state(conn.execute("SELECT state FROM engine_state").fetchone()[0])
        components = {r[0] for r in conn.execute("SELECT component FROM component_state")}
    assert "components" not in engine_row
    assert engine_row["incidents"]["records"][0] == {
        "incident_id": iid,
        **{k: v for k, v in before["incidents"]["records"][0].items() if k != "incident"},  # type: ignore[index]
    }
    assert components == {"api", "web"}

    # Restarted from the rows: the same engine, which goes on as the old one would have.
    store = SqliteStore(str(db))
    await store.open()
    saved = await store.load_state()
    await store.close()
    assert saved is not None
    again = Engine(cfg, join_state(saved.engine, saved.components, saved.open_incidents))
    assert codec.load_state(codec.dump_state(again.to_state())) == kept
    old = Sim(cfg, start=SAVED_AT, engine=Engine(cfg, before))
    new = Sim(cfg, start=SAVED_AT, engine=again)
    weather = failing(Reason.HTTP_5XX, T0, SAVED_AT + 60, checks=["api-check"])
    a, b = old.run(900, weather), new.run(900, weather)
    assert a == b and any(e.__class__.__name__ == "IncidentResolved" for e in a)


def test_salvage_reads_an_old_database_it_cannot_migrate(tmp_path: Path) -> None:
    db = old_db(tmp_path)
    before, iid = old_state(db)
    state, still_open = salvage(str(db))
    assert state == before
    assert [i.id for i in still_open] == [iid]


async def test_salvage_reads_the_rows(tmp_path: Path) -> None:
    db = old_db(tmp_path)
    before, iid = old_state(db)
    cfg = make_config(TWO_COMPONENTS, interval=5.0, requests_per_round=5)
    store = SqliteStore(str(db))
    await store.open()
    await store.apply([], Engine(cfg, before).state_delta(), (), SAVED_AT + 1)
    await store.close()
    state, still_open = salvage(str(db))
    assert state is not None
    kept = codec.load_state(codec.dump_state(Engine(cfg, before).to_state()))
    assert codec.load_state(codec.dump_state(state)) == kept
    assert [i.id for i in still_open] == [iid]
