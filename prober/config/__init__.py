"""checks.yaml: `parse_config(text, source, env)` is pure; `load_config(path)` reads the file.

`check_files(paths)` backs `prober check-config`; `json_schema()` backs `prober schema`.
Every setting is declared once (declared.py, declared_sections.py, declared_top.py); the
reader's bounds and choices, the JSON Schema and the key tables of docs/CONFIGURATION.md
follow from it (`python -m prober.config.docgen` writes the generated files).
"""

from __future__ import annotations

from prober.config.loader import check_files, example_text, load_config, parse_config
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
from prober.config.schema import json_schema

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
    "check_files",
    "example_text",
    "json_schema",
    "load_config",
    "parse_config",
]
