"""The one place that builds the service's collaborators (called by the CLI)."""

from __future__ import annotations

from prober import __version__
from prober.clock import Clock, SystemClock
from prober.config import Config
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.probes.http import HttpProber
from prober.service.core import Service
from prober.settings import Settings
from prober.store.factory import make_store
from prober.webhooks import WebhookSender


def build_service(settings: Settings, config: Config, clock: Clock | None = None) -> Service:
    """A Service with the production collaborators: the store named by `db_path`, the HTTP
    prober, the Prometheus exporter and the webhook sender, all on `clock`."""
    clock = clock or SystemClock()
    exporter = Metrics(version=__version__, options=settings.metrics)
    store = make_store(settings.db_path, allow_new_db=settings.allow_new_db)
    keeper = StoreKeeper(store, exporter, clock=clock)
    prober = HttpProber(clock)
    sender = WebhookSender(keeper.store, clock, exporter.webhook_delivery)
    return Service(
        settings,
        config,
        clock=clock,
        keeper=keeper,
        exporter=exporter,
        probe=prober.probe,
        sender=sender,
        close_probe=prober.close,
    )
