"""CPU cost of the quorum on the leader: observations and decisions at scale.

    python -m bench.quorum [--checks 10000] [--seconds 60] [--poll 0.25]

Three locations report every check (10 s interval, on its stable phase) in simulated
time; decide() runs every `--poll` simulated seconds. Prints CPU microseconds per
observation (including building its ProbeResult) and per decision, and milliseconds of
CPU per poll: what the leader spends per second is obs/s x the first + polls/s x the last.
"""

from __future__ import annotations

import argparse
import heapq
import json
import time

from prober.domain.quorum import CheckSpec, Quorum, QuorumPolicy, phase
from prober.probes.result import ProbeResult, Reason

LOCATIONS = ("eu", "us", "ap")


def measure(checks: int, seconds: float, poll: float) -> dict[str, float]:
    spec = CheckSpec(10.0, 5.0, frozenset({"http_5xx"}))
    q = Quorum({f"c{i}": spec for i in range(checks)}, QuorumPolicy(), LOCATIONS)
    t0 = 1.78e9
    due = [(t0 + phase(f"c{i}", 10.0), f"c{i}") for i in range(checks)]
    heapq.heapify(due)
    now, observations, decisions, polls = t0, 0, 0, 0
    observe_cpu = decide_cpu = 0.0
    while now < t0 + seconds:
        now += poll
        c0 = time.process_time()
        while due[0][0] <= now:
            at, check = heapq.heappop(due)
            for loc in LOCATIONS:
                q.observe(loc, check, [ProbeResult(check, "x", at, Reason.OK, 0.01)])
                observations += 1
            heapq.heappush(due, (at + 10.0, check))
        c1 = time.process_time()
        decisions += len(q.decide(now).decisions)
        polls += 1
        observe_cpu += c1 - c0
        decide_cpu += time.process_time() - c1
    return {
        "checks": checks,
        "locations": len(LOCATIONS),
        "observations": observations,
        "decisions": decisions,
        "us_per_observation": observe_cpu / observations * 1e6,
        "us_per_decision": decide_cpu / max(decisions, 1) * 1e6,
        "ms_per_poll": decide_cpu / polls * 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--checks", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--poll", type=float, default=0.25)
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.checks, args.seconds, args.poll), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
