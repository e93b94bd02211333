"""The service's start-up and reload paths, in process on a virtual clock: whatever the
engine computes at start (a quiet period that ended while prober was down) is saved,
announced and sent like any other effect; removing a component during an incident posts
no false "operational again" or "resolved"."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from prober.clock import VirtualClock
from prober.config.model import Config, IncidentPolicy, StatusPolicy, Webhook
from prober.domain.effects import IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.status import IncidentStatus
from prober.probes.result import Reason
from prober.service import Service, Settings
from prober.store.sqlite import SqliteStore
from prober.webhooks import deliveries_for
from tests.domain.sim import T0, TWO_COMPONENTS, Sim, failing, make_config

QUIET = 60.0
POLICY = StatusPolicy(window=60.0, min_samples=5, recovery_time=5.0)


def config(webhooks: bool = True) -> Config:
    base = make_config(TWO_COMPONENTS, interval=5.0, requests_per_round=5, policy=POLICY,
                       incidents=IncidentPolicy(quiet_period=QUIET, min_update_spacing=1.0))
    # Checks point at a closed loopback port; the virtual clock never lets them run anyway.
    hooks = (Webhook(id="hook", url="http://127.0.0.1:9/"),) if webhooks else ()
    return dataclasses.replace(base, webhooks=hooks)


async def saved_in_monitoring(db: Path, cfg: Config) -> tuple[Sim, str]:
    """An incident driven to `monitoring` and saved as the service would have saved it."""
    sim = Sim(cfg)
    sim.run(300, failing(Reason.HTTP_5XX, T0, T0 + 40, checks=["api-check"]),
            stop=lambda out: any(isinstance(e, IncidentUpdated) and
                                 e.incident.status is IncidentStatus.MONITORING for e in out))
    assert sim.engine.open_incidents()[0].status is IncidentStatus.MONITORING
    iid = sim.engine.open_incidents()[0].id
    store = SqliteStore(str(db))
    await store.open()
    rows = deliveries_for(sim.effects, cfg.webhooks, lambda i: {"id": i.id}, {})
    await store.apply(sim.effects, sim.engine.to_state(), rows, sim.now)
    await store.close()
    return sim, iid


def clock_at(t: float) -> VirtualClock:
    return VirtualClock(datetime.fromtimestamp(t, UTC))


async def test_a_quiet_period_that_ended_while_down_is_resolved_saved_and_sent_at_start(
    tmp_path: Path,
) -> None:
    cfg = config()
    sim, iid = await saved_in_monitoring(tmp_path / "p.db", cfg)
    service = Service(Settings(config_path=str(tmp_path / "none.yaml"),
                               db_path=str(tmp_path / "p.db")), cfg,
                      clock=clock_at(sim.now + QUIET + 600))
    await service.start()
    try:
        assert service.snapshot().incidents[0].status is IncidentStatus.RESOLVED
        store = service.keeper.store
        saved = await store.incident(iid)
        assert saved is not None and saved.status is IncidentStatus.RESOLVED
        due = await store.due_deliveries(sim.now + 10**6)
        assert any(b'"resolved"' in d.payload or d.event_key.endswith(saved.updates[-1].id)
                   for d in due), "the resolution is queued for the webhook"
        assert not service.engine.open_incidents()
    finally:
        await service.stop()


async def test_removing_a_component_during_an_incident_posts_no_false_recovery(
    tmp_path: Path,
) -> None:
    cfg = config(webhooks=False)
    sim = Sim(cfg)
    sim.run(30, failing(Reason.HTTP_5XX, T0, checks=["api-check"]),
            stop=lambda out: any(isinstance(e, IncidentOpened) for e in out))
    (opened,) = sim.engine.open_incidents()
    without_api = dataclasses.replace(
        cfg, components=tuple(c for c in cfg.components if c.id != "api"),
        checks=tuple(c for c in cfg.checks if c.component != "api"))
    effects = sim.engine.reconfigure(without_api, sim.now + 1)
    sim.config = without_api
    sim.next_due = {c.id: sim.now for c in without_api.checks}
    effects += sim.run(QUIET * 3)
    assert not [e for e in effects if isinstance(e, IncidentUpdated | IncidentResolved)]
    assert [i.id for i in sim.engine.open_incidents()] == [opened.id], (
        "left for a human: the removed component's status is unknown, not operational")
