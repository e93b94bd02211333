"""What comes in: probe rounds, real-traffic rounds and readings, fed to the engine."""

from __future__ import annotations

from collections.abc import Sequence

from prober.clock import Clock
from prober.config import Check, Config
from prober.config.model import CANARY_COMPONENT
from prober.confirm import in_confirmation
from prober.domain.network import LOST
from prober.domain.status import ComponentStatus
from prober.logs import Throttle, get_logger
from prober.metrics import Metrics
from prober.probes.result import ProbeResult
from prober.service.live import Live
from prober.service.pipeline import EffectPipeline
from prober.signals.traffic import Reading, TrafficSignals, traffic_only
from prober.uptime import Aggregator, DailyProbes

log = get_logger("prober.service")


class Intake:
    def __init__(self, live: Live, pipeline: EffectPipeline, clock: Clock) -> None:
        self.live = live
        self.pipeline = pipeline
        self.exporter: Metrics = pipeline.exporter
        self.clock = clock
        self.aggregator = Aggregator()
        self.daily = DailyProbes()  # uptime: probes per component and day
        self.throttle = Throttle(60.0)
        self.traffic = TrafficSignals(clock, self.on_traffic, self.on_reading)

    async def on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        stamped = self.take(check, results, lag)
        if stamped is not None:
            now = self.live.time.now()
            await self.pipeline.step(lambda engine, t: engine.observe(stamped, t), now)

    def take(
        self, check: Check, results: list[ProbeResult], lag: float
    ) -> list[ProbeResult] | None:
        """A round's metrics, uptime, logs and view; the results for the engine, in domain
        time (None: not the engine's to see). In-process rounds and the agents' merged
        rounds (agents.py) both come this way."""
        if check.component == CANARY_COMPONENT:  # evidence for the network guard only
            return self.live.in_domain_time(results)[1]
        self.exporter.record_round(check, results, lag)
        if check.component not in self.live.traffic_only:  # traffic_only: no say
            self.count_uptime(check.component, results)
        if results:
            self._log_transition(check, results[-1])
        self.pipeline.view.record(check, results)
        _, stamped = self.live.in_domain_time(results)
        self.pipeline.dirty = True
        if check.component in self.live.traffic_only:
            return None  # its status comes from real traffic only (traffic.mode: traffic_only)
        return stamped

    def count_uptime(self, component: str, results: Sequence[ProbeResult]) -> None:
        """Uptime follows what decides the status: probes, traffic samples (one per request)
        or both (mode worst); outside maintenance, while prober's own network is fine."""
        if not self.counts_for_uptime(component) or in_confirmation():
            return  # (a confirmation round is evidence, not a sample of time: confirm.py)
        for r in results:
            self.aggregator.add(r)
            if self.daily.add(r.component, r.at, r.ok):
                self.pipeline.uptime_due = True

    def counts_for_uptime(self, component: str) -> bool:
        # Only a network loss that canaries proved (`lost`) is prober's own; `unverified`
        # (everything unreachable, no canary) is shown as the outage it may be, and counted.
        engine = self.live.engine
        if engine.network_state == LOST:
            return False
        try:
            return engine.status_of(component) is not ComponentStatus.UNDER_MAINTENANCE
        except KeyError:  # removed by a reload while its round was in flight
            return False

    # ---- real-traffic signals -> domain ----------------------------------------------
    def configure_traffic(self, config: Config) -> None:
        self.live.traffic_only = traffic_only(config)
        self.exporter.set_traffic_components(c.id for c in config.components if c.traffic)
        self.traffic.configure(config.components)

    async def on_traffic(self, component: str, results: list[ProbeResult]) -> None:
        self.pipeline.dirty = True
        self.count_uptime(component, results)
        now, results = self.live.in_domain_time(results)
        await self.pipeline.step(lambda engine, t: engine.observe(results, t), now)

    async def on_reading(self, component: str, reading: Reading) -> None:
        """Every reading is a metric; no data and errors add no sample, but the engine holds
        the component's traffic verdict as it was until data returns (a log line too)."""
        self.exporter.traffic_reading(component, reading.outcome, reading.ratio, reading.rate)
        if reading.outcome == "ok":
            return
        if self.throttle.allow(f"traffic:{component}", self.clock.monotonic()) is not None:
            log.warning(
                "traffic_signal_no_data",
                component=component,
                outcome=reading.outcome,
                detail=reading.detail,
            )
        now = self.live.time.now()
        await self.pipeline.step(lambda engine, t: engine.traffic_no_data(component, t), now)

    def _log_transition(self, check: Check, last: ProbeResult) -> None:
        """Log a check going bad or good again, throttled per check (flapping)."""
        prev = self.pipeline.view.last(check.id)
        if (prev is None and last.ok) or (prev is not None and prev.ok == last.ok):
            return
        held = self.throttle.allow(check.id, self.clock.monotonic())
        if held is None:
            return
        if last.ok:
            log.info("probe_recovered", check=check.id, component=check.component, suppressed=held)
            return
        log.warning(
            "probe_failed",
            check=check.id,
            component=check.component,
            reason=last.reason.value,
            status_code=last.status_code,
            detail=last.detail,
            suppressed=held,
        )
