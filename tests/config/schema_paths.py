"""Canonical key paths of the JSON Schema, as docs/CONFIGURATION.md names them.

Check settings are documented once as `checks[].KEY` (defaults accepts the same keys) and
the status policy once as `status.KEY` (used under defaults.status and components[].status).
"""

from __future__ import annotations

from typing import Any

from prober.config import keys


def schema_paths(schema: dict[str, Any]) -> dict[str, Any]:
    """Every documented key path, mapped to its schema node."""
    defs = schema["$defs"]
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name == "status_policy":
                walk(defs[name], "status")
            else:
                walk(defs[name], prefix)
            return
        if node.get("type") == "array" and "items" in node:
            walk(node["items"], f"{prefix}[]")
            return
        for key, sub in node.get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            if prefix == "defaults" and key in keys.CHECK_SETTINGS:
                continue
            out[path] = sub
            walk(sub, path)

    walk(schema, "")
    return out
