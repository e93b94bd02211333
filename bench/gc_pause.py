"""Ledger line "fastgc" (docs/PERFORMANCE.md): full garbage collections, default thresholds
next to `prober.fastgc.quiet_gc`, side by side.

    python -m bench.gc_pause [--objects 600000] [--rounds 20000] [--repeats 2]

Each mode runs in its own child process (alternating, `--repeats` times each) on the same
workload, shaped like `prober run` at scale: a long-lived heap of `--objects` small
containers (config, engine state, metric series), then `--rounds` rounds each allocating a
few hundred objects that live for a while (a ring of recent rounds, so they reach the
oldest generation) and then die by reference counting, with no cycles. gc.callbacks time
every collection of the oldest generation. Reported per mode: how many full collections
ran, the longest one (a stall of the event loop; CPU time of this process, which a busy
machine does not inflate), their total, and the CPU time of the
rounds. The quiet mode's own full collection (the service's timer, every 10 minutes) is
timed once at the end and shown apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import deque
from typing import Any

CHILD = "bench.gc_pause"


def workload(objects: int, rounds: int, quiet: bool) -> dict[str, Any]:
    import gc

    from prober.fastgc import quiet_gc

    if quiet:
        quiet_gc()
    pauses: list[float] = []
    began = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began[0] = time.process_time()
        else:
            pauses.append(time.process_time() - began[0])

    heap = [{"id": i, "values": [i, i + 1], "labels": (str(i),)} for i in range(objects // 3)]
    ring: deque[list[dict[str, Any]]] = deque(maxlen=1000)
    gc.callbacks.append(callback)
    start = time.process_time()
    for r in range(rounds):
        ring.append([{"round": r, "results": [r, r * 2], "n": k} for k in range(100)])
    spent = time.process_time() - start
    gc.callbacks.remove(callback)
    full_before_end = list(pauses)
    t = time.process_time()
    gc.collect()
    timer_full = time.process_time() - t
    del heap
    return {
        "full_collections": len(full_before_end),
        "max_pause_ms": max(full_before_end, default=0.0) * 1000,
        "total_pause_ms": sum(full_before_end) * 1000,
        "rounds_cpu_ms": spent * 1000,
        "one_timed_full_ms": timer_full * 1000,
    }


def child(mode: str, objects: int, rounds: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            CHILD,
            "--child",
            mode,
            "--objects",
            str(objects),
            "--rounds",
            str(rounds),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--objects", type=int, default=600_000)
    ap.add_argument("--rounds", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--child", choices=("default", "quiet"))
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(workload(args.objects, args.rounds, args.child == "quiet")))
        return 0
    runs: dict[str, list[dict[str, Any]]] = {"default": [], "quiet": []}
    for _ in range(args.repeats):
        for mode in runs:
            runs[mode].append(child(mode, args.objects, args.rounds))
    print(
        f"GC pauses, {args.objects:,} long-lived objects, {args.rounds:,} rounds "
        f"(median of {args.repeats}, each mode in its own process, alternating)"
    )
    keys = (
        "full_collections",
        "max_pause_ms",
        "total_pause_ms",
        "rounds_cpu_ms",
        "one_timed_full_ms",
    )
    print(f"{'':28}{'default gc':>14}{'quiet_gc':>14}")
    for key in keys:
        cells = [statistics.median(r[key] for r in runs[m]) for m in runs]
        print(f"{key:28}" + "".join(f"{c:>14,.1f}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
