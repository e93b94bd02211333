from __future__ import annotations

from prober.domain.status import ComponentStatus as S
from prober.probes.result import ProbeResult, Reason
from prober.store.base import StatusChange
from prober.uptime import Aggregator, DailyProbes, daily_uptime

DAY = 86400.0
T0 = 1_780_000_000.0 - (1_780_000_000.0 % DAY)  # a UTC midnight


def result(at: float, ok: bool, duration: float = 0.1, check: str = "c1") -> ProbeResult:
    return ProbeResult(check, "comp", at, Reason.OK if ok else Reason.HTTP_5XX, duration, 200)


def test_aggregator_folds_results_per_check_and_minute() -> None:
    agg = Aggregator()
    for i in range(10):
        agg.add(result(T0 + i, ok=i % 5 != 0, duration=0.1 * (i + 1)))
    agg.add(result(T0 + 61, ok=True, duration=0.2))
    agg.add(result(T0 + 1, ok=False, check="c2"))
    rows = {(r.check_id, r.minute): r for r in agg.drain()}
    first = rows[("c1", int(T0))]
    assert (first.total, first.failures) == (10, 2)
    assert abs(first.latency_sum - 5.5) < 1e-9 and abs(first.latency_max - 1.0) < 1e-9
    assert rows[("c1", int(T0) + 60)].total == 1
    assert rows[("c2", int(T0))].failures == 1
    assert agg.drain() == []


def test_daily_uptime_splits_time_by_status_and_day() -> None:
    now = T0 + 2 * DAY + 6 * 3600  # 06:00 on the third day
    changes = [
        StatusChange("api", T0, S.OPERATIONAL),
        StatusChange("api", T0 + DAY - 3600, S.MAJOR_OUTAGE),  # 23:00 day 1
        StatusChange("api", T0 + DAY + 3600, S.OPERATIONAL),  # 01:00 day 2
    ]
    uptime = daily_uptime(changes, ["api", "other"], now, days=3)
    d1, d2, d3 = uptime["api"]
    assert d1.seconds == {"operational": DAY - 3600, "major_outage": 3600}
    assert d2.seconds == {"major_outage": 3600, "operational": DAY - 3600}
    assert d3.seconds == {"operational": 6 * 3600}
    assert d1.downtime == 3600
    # Uptime comes from probes: no probes, no uptime, whatever the statuses say.
    assert all(d.uptime is None for d in uptime["api"] + uptime["other"])


def test_daily_uptime_from_probe_counts() -> None:
    now = T0 + 2 * DAY + 6 * 3600
    daily = DailyProbes()
    daily.seed([("api", int(T0), 100, 0), ("api", int(T0 + DAY), 50, 0)])
    for i in range(10):
        daily.add("api", T0 + DAY + i, ok=i != 0)  # one failure on day 2
    assert daily.add("api", T0 + 2 * DAY, ok=True) is True  # first probe of the day
    assert daily.add("api", T0 + 2 * DAY + 1, ok=True) is False
    # Never a status change: a component with only good probes has 100%, not "no data".
    uptime = daily_uptime([], ["api", "idle"], now, days=3, probes=daily.copy())
    d1, d2, d3 = uptime["api"]
    assert (d1.probes, d1.failures, d1.uptime) == (100, 0, 1.0)
    assert (d2.probes, d2.failures) == (60, 1)
    assert d2.uptime == 59 / 60
    assert d3.uptime == 1.0
    assert all(d.uptime is None for d in uptime["idle"])  # nothing probed: no data
    daily.prune(T0 + DAY)
    assert ("api", int(T0)) not in daily.copy() and ("api", int(T0 + DAY)) in daily.copy()


def test_daily_uptime_ignores_time_before_the_window() -> None:
    now = T0 + 10 * DAY
    changes = [StatusChange("api", T0, S.PARTIAL_OUTAGE)]
    days = daily_uptime(changes, ["api"], now, days=2)["api"]
    assert days[0].seconds == {"partial_outage": DAY}
    assert days[1].seconds == {}  # `now` is midnight: nothing of the last day has passed


def test_daily_uptime_counts_nothing_before_the_component_was_first_seen() -> None:
    now = T0 + 2 * DAY + 3600
    born = T0 + 2 * DAY + 1800  # prober started 30 minutes ago
    # A store reports the status at the window start as a change dated `since`.
    changes = [StatusChange("api", T0, S.OPERATIONAL)]
    days = daily_uptime(changes, ["api"], now, days=3, created={"api": born})["api"]
    assert days[0].uptime is None and days[1].uptime is None
    assert days[2].seconds == {"operational": 1800.0}
