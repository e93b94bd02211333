"""The one place that builds the service's collaborators (called by the CLI)."""

from __future__ import annotations

import os
import socket

from prober import __version__
from prober.clock import Clock, SystemClock
from prober.config import Config
from prober.distributed.feed import Feed
from prober.keeper import StoreKeeper
from prober.metrics import Metrics
from prober.probes.http import HttpProber
from prober.service.core import Service
from prober.settings import Settings
from prober.store.factory import make_store
from prober.store.lease import Leadership, SoleLeader
from prober.store.postgres_conn import is_postgres_url
from prober.webhooks import WebhookSender


def holder_name() -> str:
    """This replica's identity in the leader row: the pod name (HOSTNAME) and the pid."""
    return f"{os.environ.get('HOSTNAME') or socket.gethostname()}:{os.getpid()}"


def build_service(settings: Settings, config: Config, clock: Clock | None = None) -> Service:
    """A Service with the production collaborators: the store named by `db_path`, the HTTP
    prober, the Prometheus exporter and the webhook sender, all on `clock`. On PostgreSQL
    (several replicas, docs/LEADERSHIP.md) also the leadership, the store fenced by it, no
    memory fallback, and the feed of the agents' rounds."""
    clock = clock or SystemClock()
    exporter = Metrics(version=__version__, options=settings.metrics)
    store = make_store(settings.db_path, allow_new_db=settings.allow_new_db)
    leadership: Leadership = SoleLeader()
    feed: Feed | None = None
    replicated = settings.db_path is not None and is_postgres_url(settings.db_path)
    if replicated:
        assert settings.db_path is not None
        from prober.store.postgres import PostgresStore
        from prober.store.postgres_lease import PgLeadership
        from prober.store.postgres_rounds import PostgresRoundLog

        assert isinstance(store, PostgresStore)
        leadership = PgLeadership(settings.db_path, holder_name())
        store.fence(leadership)
        feed = Feed(PostgresRoundLog(settings.db_path), config)
    keeper = StoreKeeper(store, exporter, clock=clock, fallback=not replicated)
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
        leadership=leadership,
        feed=feed,
    )
