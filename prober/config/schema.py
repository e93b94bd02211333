"""json_schema(): a JSON Schema (draft 2020-12) of checks.yaml for editors and CI.

Generated from the one declaration of each setting (prober/config/declared.py and
declared_sections.py): the same keys, bounds, choices, defaults and meanings the reader
and docs/CONFIGURATION.md use. The validator stays stricter (cross-field rules,
references, YAML 1.1 booleans, duration bounds) than a schema can express.
`python -m prober.config.docgen` writes it to docs/checks.schema.json.
"""

from __future__ import annotations

from prober.config import declared, declared_top
from prober.config.declare import Schema, object_schema

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
SIZE_PATTERN = r"^[0-9]+ *(B|KB|KiB|MB|MiB|GB|GiB)?$"
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


def json_schema() -> Schema:
    """The JSON Schema of checks.yaml (draft 2020-12)."""
    top = object_schema(declared_top.TOP)
    maintenance = top["properties"]["maintenances"]["items"]
    maintenance["oneOf"] = [{"required": ["start", "end"]}, {"required": ["weekly"]}]
    policy = object_schema(declared.STATUS)
    policy["description"] = "How failure ratios become statuses."
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "prober checks.yaml",
        **top,
        "$defs": {
            "duration": {
                "type": "string",
                "pattern": DURATION_PATTERN,
                "description": "A duration with units: 500ms, 15s, 5m, 1h, 1m30s.",
            },
            "size": {
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {"type": "string", "pattern": SIZE_PATTERN},
                ]
            },
            "url": {"type": "string", "pattern": r"^https?://"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "propertyNames": {"pattern": HEADER_NAME_PATTERN},
            },
            "status_policy": policy,
        },
    }
