"""How traffic rounds meet the engine (fake time): never through the network guard, held
while the signal has no data, judged apart from the probes (the worse of the two shows)."""

from __future__ import annotations

from typing import Any

from prober.config.loader import parse_config
from prober.confirm import CONFIRM_PROBES
from prober.domain.effects import IncidentOpened, IncidentResolved
from prober.domain.engine import Engine
from prober.domain.status import ComponentStatus
from prober.probes.result import ProbeResult, Reason
from prober.signals.traffic import Reading, engine_config, round_for

T0 = 1_780_000_000.0
OP = ComponentStatus.OPERATIONAL
SIGNAL = """    traffic:
      prometheus: http://127.0.0.1:9
      ratio: sum(rate(e[5m])) / sum(rate(r[5m]))
      requests: sum(rate(r[5m]))
      interval: 30s
"""


def config(signal: bool = True, mode: str = "", canary: bool = False) -> Any:
    text = "page: {name: T}\n"
    if canary:
        text += 'network: {canaries: ["http://127.0.0.1:9/canary"]}\n'
    text += "components:\n  - id: api\n    name: Platform API\n"
    if signal:
        text += SIGNAL + (f"      mode: {mode}\n" if mode else "")
    text += """  - id: web
    name: Web
  - id: db
    name: DB
checks:
  - {id: api-h, component: api, url: "http://127.0.0.1:9/h"}
  - {id: web-h, component: web, url: "http://127.0.0.1:9/"}
  - {id: db-h, component: db, url: "http://127.0.0.1:9/d"}
"""
    return engine_config(parse_config(text))


def probe(check: str, reason: Reason, at: float, n: int = 1) -> list[ProbeResult]:
    code = 200 if reason is Reason.OK else (503 if reason is Reason.HTTP_5XX else None)
    return [ProbeResult(check, check.split("-")[0], at, reason, 0.01, code)] * n


def canary(reason: Reason, at: float) -> list[ProbeResult]:
    return [ProbeResult("-network-canary-0", "-network", at, reason, 0.01, None)]


def traffic(ratio: float, at: float, rate: float = 5.0) -> list[ProbeResult]:
    return round_for("api", Reading("ok", ratio, rate), at, 30.0)


def test_prober_losing_its_network_with_a_traffic_signal_opens_nothing() -> None:
    """Prometheus (in-cluster) still answers while prober's own network is gone: the traffic
    rounds are no answer to the network guard, so the canaries prove the loss."""
    engine = Engine(config(canary=True))
    engine.tick(T0)
    checks = ("api-h", "web-h", "db-h")
    for i in range(5):
        at = T0 + 30 * i
        for c in checks:
            engine.observe(probe(c, Reason.OK, at), at)
        engine.observe(canary(Reason.OK, at), at)
        engine.observe(traffic(0.0, at), at)
        engine.tick(at)
    start = T0 + 200
    for i in range(20):
        at = start + 30 * i
        for c in checks:
            engine.observe(probe(c, Reason.CONNECT, at), at)
        engine.observe(canary(Reason.CONNECT, at), at)
        engine.observe(traffic(0.0, at), at)
        for s in range(30):
            engine.tick(at + s)
    assert not engine.network_healthy
    assert engine.network_state == "lost"
    assert [engine.status_of(c) for c in ("api", "web", "db")] == [OP, OP, OP]
    assert engine.open_incidents() == []


def _events(effects: list[Any], out: list[str]) -> None:
    out += [type(e).__name__ for e in effects if isinstance(e, IncidentOpened | IncidentResolved)]


def test_no_data_holds_an_open_traffic_incident_until_data_returns() -> None:
    engine = Engine(config(mode="traffic_only"))
    events: list[str] = []
    engine.tick(T0)
    for s in range(600):  # ten minutes of 40% 5xx
        at = T0 + s
        if s % 30 == 0:
            _events(engine.observe(traffic(0.4, at, 10.0), at), events)
        _events(engine.tick(at), events)
    assert engine.status_of("api") is ComponentStatus.PARTIAL_OUTAGE
    assert events == ["IncidentOpened"]
    for s in range(600, 600 + 7200):  # two hours without data (Prometheus unreachable)
        at = T0 + s
        if s % 30 == 0:
            _events(engine.traffic_no_data("api", at), events)
        _events(engine.tick(at), events)
    assert engine.traffic_held("api")
    assert engine.status_of("api") is ComponentStatus.PARTIAL_OUTAGE
    assert len(engine.open_incidents()) == 1 and events == ["IncidentOpened"]
    restored = Engine(engine.config, engine.to_state())  # the hold survives a restart
    assert restored.traffic_held("api")
    for s in range(7800, 7800 + 3600):  # healthy traffic again: recovers, resolves
        at = T0 + s
        if s % 30 == 0:
            _events(engine.observe(traffic(0.0, at, 10.0), at), events)
        _events(engine.tick(at), events)
    assert not engine.traffic_held("api")
    assert engine.status_of("api") is OP
    assert events == ["IncidentOpened", "IncidentResolved"]


def _run(
    engine: Engine,
    api_probe: Reason,
    ratio: float | None,
    rounds: int,
    start: float = T0,
    confirm: bool = False,
) -> None:
    """`rounds` rounds 30 s apart; with `confirm`, the first api round is followed by the
    runner's confirmation rounds (1 s apart), as after an outcome change."""
    for i in range(rounds):
        at = start + 30 * i
        for c in ("web-h", "db-h"):
            engine.observe(probe(c, Reason.OK, at), at)
        engine.observe(probe("api-h", api_probe, at), at)
        if confirm and i == 0:
            for k in range(1, CONFIRM_PROBES + 1):
                engine.observe(probe("api-h", api_probe, at + k), at + k)
        if ratio is not None:
            engine.observe(traffic(ratio, at, 50.0), at)
        else:
            engine.traffic_no_data("api", at)
        for s in range(0, 30, 5):
            engine.tick(at + s)


def test_failing_probes_are_not_diluted_by_healthy_traffic() -> None:
    engine = Engine(config())
    engine.tick(T0)
    _run(engine, Reason.OK, 0.0, 4)
    _run(engine, Reason.HTTP_5XX, 0.0, 20, T0 + 120)
    assert engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    (incident,) = engine.open_incidents()
    assert "real traffic" not in incident.name


def test_thirty_percent_traffic_5xx_with_healthy_probes_is_a_partial_outage() -> None:
    engine = Engine(config())
    engine.tick(T0)
    _run(engine, Reason.OK, 0.0, 4)
    _run(engine, Reason.OK, 0.3, 40, T0 + 120)
    assert engine.status_of("api") is ComponentStatus.PARTIAL_OUTAGE
    (incident,) = engine.open_incidents()
    assert incident.name == "Elevated 500 rates on real traffic to Platform API"


def _first_major(engine: Engine, signal: bool) -> float:
    engine.tick(T0)
    _run(engine, Reason.OK, 0.0 if signal else None, 4)
    start = T0 + 120
    for i in range(60):
        at = start + 15 * i
        for c in ("web-h", "db-h"):
            engine.observe(probe(c, Reason.OK, at), at)
        engine.observe(probe("api-h", Reason.HTTP_5XX, at), at)
        if signal:  # the ingress sees too few requests: no data
            engine.traffic_no_data("api", at)
        for s in range(15):
            if i == 0 and 1 <= s <= CONFIRM_PROBES:  # the runner's confirmation rounds
                engine.observe(probe("api-h", Reason.HTTP_5XX, at + s), at + s)
            engine.tick(at + s)
            if engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE:
                return at + s - start
    raise AssertionError("never major_outage")


def test_total_outage_with_traffic_below_min_rate_is_major_as_fast_as_without_signal() -> None:
    without = _first_major(Engine(config(signal=False)), signal=False)
    with_signal = _first_major(Engine(config()), signal=True)
    assert with_signal == without
    assert without <= 30  # two intervals, as without a signal


def test_traffic_5xx_counts_whatever_failure_reasons_lists() -> None:
    """`status.failure_reasons` classifies probes: a list without traffic_5xx does not turn
    the component's traffic signal off."""
    text = (
        """
page: {name: T}
components:
  - id: api
    name: Platform API
    status: {failure_reasons: [connect, timeout, http_5xx]}
"""
        + SIGNAL
        + """      mode: traffic_only
checks:
  - {id: api-h, component: api, url: "http://127.0.0.1:9/h"}
"""
    )
    engine = Engine(engine_config(parse_config(text)))
    engine.tick(T0)
    for i in range(40):
        at = T0 + 30 * i
        engine.observe(traffic(0.0 if i < 4 else 0.3, at, 50.0), at)
        engine.tick(at)
    assert engine.status_of("api") is ComponentStatus.PARTIAL_OUTAGE


def test_switching_to_traffic_only_drops_the_probes_say() -> None:
    """A probe outage shown in mode worst no longer counts once the reload makes the
    component traffic_only: it shows what its traffic says."""
    engine = Engine(config())
    engine.tick(T0)
    _run(engine, Reason.OK, 0.0, 4)
    _run(engine, Reason.HTTP_5XX, 0.0, 10, T0 + 120, confirm=True)
    assert engine.status_of("api") is ComponentStatus.MAJOR_OUTAGE
    now = T0 + 420
    engine.reconfigure(config(mode="traffic_only"), now)
    engine.observe(probe("api-h", Reason.HTTP_5XX, now), now)  # ignored
    for s in range(0, 900, 30):
        engine.observe(traffic(0.0, now + s, 50.0), now + s)
        engine.tick(now + s)
    assert engine.status_of("api") is OP
    assert engine.open_incidents() == []


def test_a_traffic_signal_interval_does_not_lengthen_the_network_hold() -> None:
    """The guard waits for the slowest probed check; a traffic signal's virtual check
    (here every 10 minutes) never enters the guard, so it must not set the hold."""
    import dataclasses

    from prober.config.model import TrafficSignal
    from prober.domain.engine import hold_limit
    from tests.domain.sim import make_config

    plain = make_config(interval=5.0)
    with_signal = dataclasses.replace(
        plain,
        components=tuple(
            dataclasses.replace(c, traffic=TrafficSignal("http://127.0.0.1:9/", "r", "q", 600.0))
            for c in plain.components
        ),
    )
    assert hold_limit(engine_config(with_signal)) == hold_limit(plain)
