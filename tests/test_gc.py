"""`prober run` turns off automatic full collections (measured: long loop stalls, no garbage
found) and keeps the young generations automatic. Checked in a child process, so the test
process's collector is left as it is."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import gc, json
before = gc.get_threshold()
from prober.fastgc import quiet_gc
quiet_gc()
print(json.dumps([before, gc.get_threshold()]))
"""


def test_quiet_gc_keeps_young_collections_and_drops_automatic_full_ones() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = json.loads(out.stdout)
    assert after[:2] == before[:2]
    assert after[2] >= 1_000_000
