"""The validated configuration: frozen dataclasses built by `parse_config`.

The types themselves are plain values the domain consumes, so they live in
prober/domain/policy.py (the dependency points inward: the domain never imports config);
they are re-exported here for the config reader and everything outside the domain.
"""

from __future__ import annotations

from prober.domain.policy import (
    CANARY_COMPONENT,
    DEFAULT_FAILURE_REASONS,
    Check,
    Component,
    Config,
    Distributed,
    EgressPolicy,
    Expectations,
    IncidentPolicy,
    IncidentTemplate,
    IPNetwork,
    JsonExpectation,
    Maintenance,
    Network,
    Page,
    StatusPolicy,
    StatusRange,
    TLSOptions,
    TrafficSignal,
    Webhook,
    WeeklyRecurrence,
)

__all__ = [
    "CANARY_COMPONENT",
    "DEFAULT_FAILURE_REASONS",
    "Check",
    "Component",
    "Config",
    "Distributed",
    "EgressPolicy",
    "Expectations",
    "IPNetwork",
    "IncidentPolicy",
    "IncidentTemplate",
    "JsonExpectation",
    "Maintenance",
    "Network",
    "Page",
    "StatusPolicy",
    "StatusRange",
    "TLSOptions",
    "TrafficSignal",
    "Webhook",
    "WeeklyRecurrence",
]
