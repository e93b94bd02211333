"""Real-traffic signals in the domain: a second health per component, judged apart.

A component with a `traffic:` signal has two healths of the same kind (state.py): one fed by
its probes, one by the rounds of its virtual check `traffic:<component>` (the 5xx share of
its real traffic, from Prometheus). They never share a window: many traffic samples must not
dilute a failing probe, nor a traffic round's streak block the probes' fast path to
`major_outage`. The component shows the WORSE of the two (`mode: worst`); with
`mode: traffic_only` the probes never reach the engine, so the probe health stays
operational and the traffic health alone decides.

Traffic rounds never enter the network guard (network.py): they do not come from prober's
own network, so they are no evidence that it works.

No data (Prometheus unreachable or erroring, too few requests) is an input too
(`Engine.traffic_no_data`): the traffic health is then *held* as it was, neither recovered
nor escalated, the way every status is held while prober's own network is lost; judging
resumes with the next round of data.

A traffic sample fails when its reason is `traffic_5xx`, whatever the component's
`status.failure_reasons` (those list probe failures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prober.domain.observation import ProbeResult, Reason
from prober.domain.policy import Config, StatusPolicy
from prober.domain.state import OP, SEVERITY, ComponentHealth, Sample, worse
from prober.domain.status import ComponentStatus

PREFIX = "traffic:"


def check_id(component: str) -> str:
    """The id of a component's virtual traffic check."""
    return f"{PREFIX}{component}"


def samples(results: Sequence[ProbeResult]) -> list[Sample]:
    return [Sample(r.at, r.reason is Reason.TRAFFIC_5XX, None, r.reason.value) for r in results]


def status(probe: ComponentHealth, traffic: ComponentHealth | None) -> ComponentStatus:
    return probe.status if traffic is None else worse(probe.status, traffic.status)


def driver(probe: ComponentHealth, traffic: ComponentHealth | None) -> ComponentHealth:
    """The health whose status is shown (the probes' on a tie)."""
    if traffic is not None and SEVERITY[traffic.status] > SEVERITY[probe.status]:
        return traffic
    return probe


def bad_healths(probe: ComponentHealth, traffic: ComponentHealth | None) -> list[ComponentHealth]:
    out = [h for h in (probe, traffic) if h is not None and h.status is not OP]
    return out or [driver(probe, traffic)]


def episode_start(probe: ComponentHealth, traffic: ComponentHealth | None) -> float | None:
    starts = [h.episode_start for h in bad_healths(probe, traffic) if h.episode_start is not None]
    return min(starts, default=None)


def reasons(probe: ComponentHealth, traffic: ComponentHealth | None, now: float) -> dict[str, int]:
    """The failure reasons of the signal(s) that moved the status: the incident's words."""
    out: dict[str, int] = {}
    for h in bad_healths(probe, traffic):
        for k, v in h.window.reasons(now).items():
            out[k] = out.get(k, 0) + v
    return out


def recovered_at(probe: ComponentHealth, traffic: ComponentHealth | None) -> float | None:
    values = [h.recovered_at for h in (probe, traffic) if h is not None and h.recovered_at]
    return max(values, default=None)


class Signals:
    """The traffic healths of the components with a signal, which have no data (held) and
    which are `traffic_only`; the engine owns one."""

    def __init__(self) -> None:
        self.health: dict[str, ComponentHealth] = {}
        self.held: set[str] = set()  # components whose signal has no data: verdict held
        self.only: frozenset[str] = frozenset()  # traffic.mode traffic_only
        self.checks: dict[str, str] = {}  # virtual check id -> component

    def configure(self, config: Config, rates: Mapping[str, float]) -> None:
        comps = [c for c in config.components if c.traffic is not None]
        ids = {c.id for c in comps}
        self.only = frozenset(
            c.id for c in comps if c.traffic is not None and c.traffic.mode == "traffic_only"
        )
        for cid in [c for c in self.health if c not in ids]:
            del self.health[cid]
        self.held &= ids
        for comp in comps:
            health = self.health.get(comp.id)
            if health is None:
                self.health[comp.id] = ComponentHealth(comp.policy, rate=rates[comp.id])
            else:
                health.reconfigure(comp.policy)
                health.set_rate(rates[comp.id])
        self.checks = {check_id(c): c for c in ids}

    def record(self, component: str, results: Sequence[ProbeResult]) -> None:
        """A round with data: judging resumes."""
        self.held.discard(component)
        self.health[component].record_round(samples(results), check_id(component))

    def no_data(self, component: str) -> None:
        if component in self.health:
            self.held.add(component)

    def evaluate(self, component: str, now: float) -> bool:
        """Evaluate the component's traffic health unless held; True when time alone
        cannot change it (none, held or settled)."""
        health = self.health.get(component)
        if health is None or component in self.held:
            return True
        health.evaluate(now)
        return health.settled()

    def to_state(self, component: str) -> dict[str, Any]:
        health = self.health.get(component)
        if health is None:
            return {}
        return {"traffic": health.to_state(), "traffic_held": component in self.held}

    def load(self, component: str, policy: StatusPolicy, data: Mapping[str, Any]) -> None:
        health = self.health.get(component)
        if health is None or "traffic" not in data:
            return
        self.health[component] = ComponentHealth.from_state(policy, data["traffic"], health.rate)
        if data.get("traffic_held"):
            self.held.add(component)
