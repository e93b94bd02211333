"""Ledger lines "fastcache" and "fastjson" (docs/PERFORMANCE.md): what one GET of
/api/v2/summary.json costs the server, plain next to optimised, in one run.

    python -m bench.api_cache [--requests 2000] [--repeats 3]

The snapshot is the status page tests' "during an incident" one (twelve components, open,
resolved and old incidents, maintenance windows: tests/api/fake.py). Per request:

- fastcache, plain: build the Statuspage summary, encode it, hash it for the ETag and gzip it
  (`render_json(summary(snap))`), as a server without the cache would on every GET;
- fastcache, optimised: `RenderCache.get` for the snapshot's version (prober/api/fastcache.py):
  one build per snapshot version, then a dict lookup;
- fastjson, plain: the summary encoded by the standard library (`json.dumps(...).encode()`);
- fastjson, optimised: `prober.api.fastjson.dumps` (orjson, with the HTML-safe escapes).

Figures are CPU microseconds per request (time.process_time), median over repeats,
variants interleaved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prober.api.bodies import render_json
from prober.api.fastcache import RenderCache
from prober.api.fastjson import dumps
from prober.api.statuspage import summary
from tests.api.fake import during_snapshot


def per_request_us(fn: Callable[[], Any], n: int) -> float:
    began = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - began) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    snap = during_snapshot()
    body = summary(snap)
    cache = RenderCache()
    variants: dict[str, Callable[[], Any]] = {
        "fastcache plain (render per GET)": lambda: render_json(summary(snap)),
        "fastcache optimised (RenderCache)": lambda: cache.get(
            snap.version, "summary", lambda: render_json(summary(snap))
        ),
        "fastjson plain (json.dumps)": lambda: json.dumps(body).encode(),
        "fastjson optimised (orjson)": lambda: dumps(body),
    }
    runs: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            runs[name].append(per_request_us(fn, args.requests))
    print(
        f"summary.json, {len(dumps(body)):,} bytes; CPU us per request, "
        f"median of {args.repeats} x {args.requests:,}"
    )
    med = {name: statistics.median(v) for name, v in runs.items()}
    for name, us in med.items():
        print(f"  {name:36}{us:>10,.1f}")
    names = list(med)
    print(f"  fastcache: plain / optimised {med[names[0]] / med[names[1]]:,.0f}x")
    print(f"  fastjson:  plain / optimised {med[names[2]] / med[names[3]]:,.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
