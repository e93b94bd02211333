"""Writes tests/store/data/pre0005.db with the store as it was before migration 0005
(schema 0004: the whole domain state saved as one document in `domain_state`).

Run from a checkout of that version (commit 0157e96), not from this one:

    PYTHONPATH=/path/to/old/checkout python tests/store/data/make_pre0005.py OUT.db

The saved engine has an open incident on `api` (5xx since T0) and `web` operational: the
scenario `tests/store/test_migrate_state.py` replays with the current code.
"""

from __future__ import annotations

import asyncio
import sys

from prober.domain.effects import IncidentOpened
from prober.probes.result import Reason
from prober.store.sqlite import SqliteStore
from tests.domain.sim import T0, TWO_COMPONENTS, Sim, failing, make_config


async def main(path: str) -> None:
    sim = Sim(make_config(TWO_COMPONENTS, interval=5.0, requests_per_round=5))
    sim.run(
        300,
        failing(Reason.HTTP_5XX, T0, checks=["api-check"]),
        stop=lambda out: any(isinstance(e, IncidentOpened) for e in out),
    )
    sim.run(30, failing(Reason.HTTP_5XX, T0, checks=["api-check"]))
    store = SqliteStore(path, allow_new_db=True)
    await store.open()
    await store.apply(sim.effects, sim.engine.to_state(), (), sim.now)  # type: ignore[arg-type]
    await store.close()
    print(sim.now, [i.id for i in sim.engine.open_incidents()])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
