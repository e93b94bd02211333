"""What the CLI hands the service: its settings (the GC tuning is prober/fastgc.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prober.config import Config
from prober.metrics import MetricsOptions


@dataclass(frozen=True)
class Settings:
    config_path: str
    db_path: str = "prober.db"
    api_token: str | None = None
    grace: float = 10.0
    watch_interval: float = 2.0
    tick_interval: float = 1.0
    state_save_interval: float = 60.0  # window counters; effects save state at once
    uptime_interval: float = 10.0  # at most this often after status changes
    # Ratios, latencies and last results refresh this often; status changes and incident
    # updates show at once (every effect rebuilds the snapshot).
    snapshot_interval: float = 5.0
    # Applied to every config loaded from the file (the demo points checks at its target).
    transform: Callable[[Config], Config] | None = None
    allow_new_db: bool = False  # start although the database or its WAL vanished
    integrity_interval: float = 3600.0  # full PRAGMA integrity_check this often
    # While a check's finding is reported on a store kept in use (PostgreSQL), check again
    # this often: only a check that passes clears it (StoreKeeper.check_integrity).
    integrity_recheck_interval: float = 60.0
    # Opt-in per-check metric families (--metrics-detail, --metrics-blackbox).
    metrics: MetricsOptions = field(default_factory=MetricsOptions)
