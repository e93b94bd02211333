"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fastgc"): no automatic full garbage
collections in `prober run`; the plain alternative is CPython's default thresholds
(`python -m bench.gc_pause` runs both side by side).

At 10,000 checks each full (oldest-generation) collection held the event loop for 70 to
270 ms, every few seconds, and found no cyclic garbage at all (measured with gc.callbacks):
the objects of each round live about one interval, long enough to reach the oldest
generation, and die by reference counting. Young collections stay automatic (they catch the
short-lived cycles, such as exception tracebacks); the service runs a full one on a timer
(`GC_FULL_INTERVAL`, 10 minutes, in prober/service/upkeep.py) and `gc.freeze()`s the objects of
start-up and of each reload so full collections never walk them again.
"""

from __future__ import annotations

import gc

# An oldest-generation threshold no process reaches: full collections only when called.
NEVER = 1_000_000_000


def quiet_gc() -> None:
    """Process-wide: no automatic full (oldest-generation) garbage collections."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
