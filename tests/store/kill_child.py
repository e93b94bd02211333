"""Child process for the kill -9 test: applies incident effects to a file DB in a loop.

Usage: python kill_child.py DB_PATH. Resumes from the saved domain state, first re-applies
the last saved step (as a restarted prober would), then prints each committed step number.
Step n belongs to incident (n-1)//4; its k-th step (k = (n-1)%4 + 1) opens it (k=1),
updates it (k=2, 3) or resolves it (k=4), so incident i must hold exactly k updates, and
the name says how many: "inc-<i> k=<k>".
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace

from prober.domain.codec import StateDelta
from prober.domain.effects import (
    ComponentStateChanged,
    Effect,
    IncidentOpened,
    IncidentResolved,
    IncidentUpdated,
)
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import ComponentStatus, Impact, IncidentStatus
from prober.store.sqlite import SqliteStore

PAD = "p" * 2000  # make each transaction span several pages
STATUS = {
    1: IncidentStatus.INVESTIGATING,
    2: IncidentStatus.IDENTIFIED,
    3: IncidentStatus.MONITORING,
    4: IncidentStatus.RESOLVED,
}


def step_effects(n: int) -> tuple[list[Effect], StateDelta, list[tuple[str, str, bytes]]]:
    i, k = (n - 1) // 4, (n - 1) % 4 + 1
    iid = f"inc-{i}"
    ups = tuple(
        IncidentUpdate(f"{iid}-u{j}", iid, STATUS[j], f"{j} {PAD}", 10.0 * (4 * i + j))
        for j in range(1, k + 1)
    )
    at = 10.0 * n
    inc = Incident(
        id=iid,
        name=f"{iid} k={k}",
        status=STATUS[k],
        impact=Impact.CRITICAL,
        started_at=10.0 * (4 * i + 1),
        created_at=10.0 * (4 * i + 1),
        updated_at=at,
        resolved_at=at if k == 4 else None,
        components=(("api", ComponentStatus.MAJOR_OUTAGE),),
        updates=ups,
    )
    effect: Effect
    if k == 1:
        effect = IncidentOpened(inc)
    elif k == 4:
        effect = IncidentResolved(replace(inc, updates=ups[:-1]), ups[-1])
    else:
        effect = IncidentUpdated(replace(inc, updates=ups[:-1]), ups[-1])
    old, new = (
        (ComponentStatus.OPERATIONAL, ComponentStatus.MAJOR_OUTAGE)
        if n % 2
        else (ComponentStatus.MAJOR_OUTAGE, ComponentStatus.OPERATIONAL)
    )
    change = ComponentStateChanged("api", old, new, at, 1.0)
    engine = {"step": n, "incidents": i + 1, "updates": n, "pad": PAD}
    state = StateDelta(engine, {"api": {"step": n}, f"c{n % 7}": {"step": n}})
    return [effect, change], state, [("hook", ups[-1].id, PAD.encode())]


async def main(path: str) -> None:
    store = SqliteStore(path)
    await store.open()
    saved = await store.load_state()
    step = int(saved.engine["step"]) if saved else 0
    if step:
        effects, state, hooks = step_effects(step)
        await store.apply(effects, state, hooks, now=10.0 * step)
    print(f"resumed {step}", flush=True)
    while True:
        step += 1
        effects, state, hooks = step_effects(step)
        await store.apply(effects, state, hooks, now=10.0 * step)
        print(step, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
