"""checks.yaml: `parse_config(text, source)` is pure; `load_config(path)` reads the file."""

from __future__ import annotations

from prober.config.model import (
    Check,
    Component,
    Config,
    Expectations,
    IncidentPolicy,
    JsonExpectation,
    Maintenance,
    Page,
    StatusPolicy,
    StatusRange,
    TLSOptions,
    Webhook,
    WeeklyRecurrence,
)

__all__ = [
    "Check",
    "Component",
    "Config",
    "Expectations",
    "IncidentPolicy",
    "JsonExpectation",
    "Maintenance",
    "Page",
    "StatusPolicy",
    "StatusRange",
    "TLSOptions",
    "Webhook",
    "WeeklyRecurrence",
]
