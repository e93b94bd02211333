"""The service shell around the domain: see core.py for the flow, build.py for wiring."""

from prober.fastgc import quiet_gc
from prober.service.build import build_service
from prober.service.core import Service
from prober.service.upkeep import GC_FULL_INTERVAL, RETENTION
from prober.settings import Settings

__all__ = ["GC_FULL_INTERVAL", "RETENTION", "Service", "Settings", "build_service", "quiet_gc"]
