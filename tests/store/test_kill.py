"""kill -9 a process writing to the store at several points: the file stays consistent."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from prober.store.sqlite import SqliteStore

CHILD = Path(__file__).with_name("kill_child.py")
ROOT = Path(__file__).resolve().parents[2]


def run_until(db: str, steps: int, offset: float, deadline: float) -> tuple[int, int]:
    """Start the child, wait until it printed `steps` more committed steps, then SIGKILL it
    `offset` seconds later (a fraction of one step, so the kill lands at varied points inside
    a transaction, not only just after a commit). Returns (step it resumed from, last step
    it reported committed before the kill)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    buf, lines = b"", []
    try:
        while len(lines) < steps + 1:
            left = deadline - time.monotonic()
            assert left > 0, f"child too slow: {lines[-3:]!r}"
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"child exited: {proc.stderr.read() if proc.stderr else b''!r}"
                buf += chunk
                *done, buf = buf.split(b"\n")
                lines.extend(d.decode() for d in done)
        time.sleep(offset)  # sub-millisecond: picks the kill point, waits for no logic
        reported = int(lines[-1])
        ready, _, _ = select.select([proc.stdout], [], [], 0)
        if ready:  # steps the child reported during the offset were committed too
            tail = (buf + os.read(proc.stdout.fileno(), 65536)).split(b"\n")[:-1]
            reported = int(tail[-1]) if tail else reported
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
    assert proc.returncode == -signal.SIGKILL
    return int(lines[0].split()[1]), reported


async def check_consistent(db: str) -> int:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    store = SqliteStore(db)
    await store.open()
    try:
        saved = await store.load_state()
        assert saved is not None
        state = saved.engine
        step = int(state["step"])
        # the component rows were written in the same transactions as the engine row
        assert saved.components["api"] == {"step": step}
        assert saved.components[f"c{step % 7}"] == {"step": step}
        incidents = await store.incidents(limit=10_000)
        assert len(incidents) == state["incidents"]
        assert sum(len(i.updates) for i in incidents) == state["updates"] == step
        for inc in incidents:
            k = int(inc.name.split("k=")[1])
            assert len(inc.updates) == k, inc.name
            assert [u.id for u in inc.updates] == [f"{inc.id}-u{j}" for j in range(1, k + 1)]
            assert inc.updated_at == inc.updates[-1].created_at
            assert (inc.resolved_at is not None) == (k == 4)
        assert len(await store.due_deliveries(1e12, limit=10_000)) == step
        changes = await store.status_changes(0.0)
        assert len(changes) == step + 1  # the baseline at 0 plus one change per step
        return step
    finally:
        await store.close()


async def test_kill_9_leaves_a_consistent_database(tmp_path: Path) -> None:
    db = str(tmp_path / "prober.db")
    deadline = time.monotonic() + 60
    last_saved = 0
    rounds = [(1, 0.0), (7, 0.0003), (23, 0.0006), (3, 0.0009), (40, 0.0012), (11, 0.0015)]
    rounds += [(5, 0.0002), (9, 0.0005), (2, 0.0008), (13, 0.0011)]
    for round_, (steps, offset) in enumerate(rounds):
        resumed, reported = run_until(db, steps, offset, deadline)
        assert resumed == last_saved, f"round {round_}: resumed from {resumed}"
        saved = await check_consistent(db)
        # every step reported committed survived; at most the one in flight also did
        assert reported <= saved <= reported + 1, (round_, reported, saved)
        last_saved = saved
    assert last_saved >= sum(steps for steps, _ in rounds)
