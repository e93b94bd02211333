"""Persistence behind one Store protocol: `memory` for tests, `sqlite` as the default."""

from __future__ import annotations

from prober.store.base import Delivery, ProbeAggregate, SavedState, StatusChange, Store

__all__ = ["Delivery", "ProbeAggregate", "SavedState", "StatusChange", "Store"]
