"""Probes: one module per protocol behind one ProbeFn signature."""

from __future__ import annotations

from prober.probes.result import PHASES, ProbeResult, Reason

__all__ = ["PHASES", "ProbeResult", "Reason"]
