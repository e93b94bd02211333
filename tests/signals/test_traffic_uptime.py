"""Uptime follows what decides the status: a traffic_only component's probes have no say,
its traffic samples do; with mode worst both count (docs/CONFIGURATION.md). And the
service tells the engine when a signal has no data."""

from __future__ import annotations

from pathlib import Path

from prober.config.loader import load_config
from prober.probes.result import ProbeResult, Reason
from prober.service import Settings, build_service
from prober.signals.traffic import Reading, round_for

CONFIG = """
page: {name: T}
components:
  - id: api
    name: Platform API
    traffic:
      prometheus: http://127.0.0.1:9
      ratio: sum(rate(e[5m])) / sum(rate(r[5m]))
      requests: sum(rate(r[5m]))
      interval: 10s
      mode: MODE
checks:
  - {id: api-h, component: api, url: "http://127.0.0.1:9/h"}
"""


async def counted(tmp_path: Path, mode: str) -> tuple[int, int]:
    """(probes, failures) counted for uptime today after one probe round (1 ok probe) and
    one traffic round (10 requests, 30% failing)."""
    path = tmp_path / "checks.yaml"
    path.write_text(CONFIG.replace("MODE", mode))
    service = build_service(Settings(config_path=str(path), db_path="memory"), load_config(path))
    now = service.clock.now().timestamp()
    check = service.config.checks[0]
    await service.intake.on_round(
        check, [ProbeResult("api-h", "api", now, Reason.OK, 0.01, 200)], 0.0
    )
    await service.intake.on_traffic("api", round_for("api", Reading("ok", 0.3, 1.0), now, 10.0))
    day = int(now) // 86400 * 86400
    return service.daily.copy().get(("api", day), (0, 0))


async def test_traffic_only_uptime_counts_traffic_samples_not_probes(tmp_path: Path) -> None:
    assert await counted(tmp_path, "traffic_only") == (10, 3)


async def test_worst_uptime_counts_probes_and_traffic_samples(tmp_path: Path) -> None:
    assert await counted(tmp_path, "worst") == (11, 3)


async def test_a_reading_without_data_holds_the_traffic_verdict(tmp_path: Path) -> None:
    """The service tells the engine: an error or no_data reading holds, data releases."""
    path = tmp_path / "checks.yaml"
    path.write_text(CONFIG.replace("MODE", "worst"))
    service = build_service(Settings(config_path=str(path), db_path="memory"), load_config(path))
    await service.intake.on_reading("api", Reading("error", detail="ClientConnectorError"))
    assert service.engine.traffic_held("api")
    now = service.clock.now().timestamp()
    reading = Reading("ok", 0.0, 5.0)
    await service.intake.on_reading("api", reading)
    await service.intake.on_traffic("api", round_for("api", reading, now, 10.0))
    assert not service.engine.traffic_held("api")
