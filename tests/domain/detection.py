"""Time from the first failing probe to the incident opening, in simulated time.

    python -m tests.domain.detection

prints a table for a total outage (HTTP 500s, and connection refused) and for 30% of
responses being 500s, at the default check settings (interval 15 s, 1 request per round),
at a 1 s interval, and at 5 s with 10 requests per round. Two components are configured,
so the network guard is active. Each figure is the median and maximum over seeds.
"""

from __future__ import annotations

import random
import statistics

from prober.probes.result import Reason

from .sim import TWO_COMPONENTS, Sim, make_config, opened

SCENARIOS = ("total 500", "total refused", "30% 500")
SETTINGS = ((15.0, 1), (1.0, 1), (1.0, 10), (5.0, 10))


def time_to_open(scenario: str, interval: float, per_round: int, seed: int = 1) -> float:
    """Seconds from the first failing probe to IncidentOpened (simulated clock)."""
    rng = random.Random(seed)
    sim = Sim(make_config(TWO_COMPONENTS, interval=interval, requests_per_round=per_round))
    sim.run(300.0, tick_every=1.0)  # a healthy, full window first: the harder case
    start = sim.now + rng.random() * interval
    first: list[float] = []

    def behave(check: str, at: float, i: int) -> Reason:
        if check != "api-check" or at < start:
            return Reason.OK
        if scenario == "total 500":
            reason = Reason.HTTP_5XX
        elif scenario == "total refused":
            reason = Reason.CONNECT
        else:
            reason = Reason.HTTP_5XX if rng.random() < 0.3 else Reason.OK
        if reason is not Reason.OK and not first:
            first.append(at)
        return reason

    out = sim.run(3600.0, behave, tick_every=1.0, stop=lambda o: bool(opened(o)))
    [inc] = opened(out)
    return inc.incident.created_at - first[0]


def table(seeds: int = 9) -> list[tuple[str, float, int, float, float]]:
    rows = []
    for scenario in SCENARIOS:
        for interval, per_round in SETTINGS:
            times = [time_to_open(scenario, interval, per_round, s) for s in range(seeds)]
            rows.append((scenario, interval, per_round, statistics.median(times), max(times)))
    return rows


def main() -> None:
    print(f"{'scenario':<14} {'interval':>8} {'req/round':>9} {'median s':>9} {'max s':>7}")
    for scenario, interval, per_round, median, worst in table():
        print(f"{scenario:<14} {interval:>8g} {per_round:>9} {median:>9.1f} {worst:>7.1f}")


if __name__ == "__main__":
    main()
