"""Machine-readable output of the CLI (`--output json`), for CI: one JSON document on
stdout, stable keys, the same exit codes as the text output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from prober.config.loader import check_files, load_config
from prober.config.model import Config
from prober.errors import ConfigError, ConfigIssue
from prober.probes.once import explain
from prober.probes.result import ProbeResult


def _issue(issue: ConfigIssue) -> dict[str, Any]:
    return {
        "file": issue.file,
        "line": issue.line,
        "column": issue.column,
        "path": issue.path,
        "message": issue.message,
    }


def _counts(config: Config) -> dict[str, int]:
    return {
        "components": len(config.components),
        "checks": len(config.checks),
        "maintenances": len(config.maintenances),
        "webhooks": len(config.webhooks),
        "incident_templates": len(config.incident_templates),
    }


def check_config(paths: Sequence[str], output: str) -> tuple[int, str]:
    """(exit code, text): 0 when every file is valid, 1 otherwise."""
    if output != "json":
        return check_files(paths)
    files: list[dict[str, Any]] = []
    code = 0
    for path in paths:
        try:
            config = load_config(path)
        except ConfigError as exc:
            code = 1
            files.append({"file": path, "ok": False, "errors": [_issue(i) for i in exc.issues]})
        else:
            files.append({"file": path, "ok": True, "errors": [], **_counts(config)})
    return code, json.dumps({"ok": code == 0, "files": files}, indent=2)


def config_errors_json(path: str, exc: ConfigError) -> str:
    """`prober once --output json` on an invalid file: the errors, no results."""
    return json.dumps(
        {"ok": False, "file": path, "errors": [_issue(i) for i in exc.issues], "results": []},
        indent=2,
    )


def result_json(r: ProbeResult) -> dict[str, Any]:
    return {
        "check": r.check_id,
        "component": r.component,
        "ok": r.ok,
        "reason": r.reason.value,
        "status_code": r.status_code,
        "duration_seconds": round(r.duration, 6),
        "detail": explain(r) if not r.ok else "",
    }


def once_json(results: Sequence[ProbeResult]) -> str:
    failed = sum(1 for r in results if not r.ok)
    return json.dumps(
        {
            "ok": failed == 0,
            "checks": len(results),
            "failed": failed,
            "results": [result_json(r) for r in results],
        },
        indent=2,
    )
