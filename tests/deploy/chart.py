"""Render helm/prober with the real Helm v4 engine (helm-python-sdk, libhelm in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from .promql import CHART

helm.disable_logging()

SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))


def scenario_values(path: Path) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text()) or {}
    assert isinstance(values, dict)
    return values


def render(
    values: dict[str, Any] | None = None,
    *,
    name: str = "prober",
    namespace: str = "monitoring",
    chart: Path | str = CHART,
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would print it."""
    with helm.Chart.load(chart) as loaded:
        loaded.validate_schema(values or {})
        return loaded.render(values=values or {}, name=name, namespace=namespace, is_install=True)


def objects(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object rendered (NOTES.txt excluded)."""
    out: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append(doc)
    return out


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


RUNBOOK_TOKEN = "__RUNBOOK_BASE_URL__"


def chart_rule_groups(
    rules_text: str, *, runbook_base_url: str, job: str, namespace: str, service_monitor: bool
) -> list[dict[str, Any]]:
    """The rule file's groups as the chart must render them: the only two substitutions.

    runbook_url: the token becomes the base URL (dropped when there is none). ProberAbsent:
    scoped to the release's job and namespace, and left out without the ServiceMonitor.
    """
    doc = yaml.safe_load(rules_text)
    for group in doc["groups"]:
        kept = []
        for rule in group["rules"]:
            annotations = rule.get("annotations", {})
            if "runbook_url" in annotations:
                if runbook_base_url:
                    annotations["runbook_url"] = annotations["runbook_url"].replace(
                        RUNBOOK_TOKEN, runbook_base_url
                    )
                else:
                    del annotations["runbook_url"]
            if rule.get("alert") == "ProberAbsent":
                if not service_monitor:
                    continue
                rule["expr"] = f'absent(prober_build_info{{job="{job}", namespace="{namespace}"}})'
            kept.append(rule)
        group["rules"] = kept
    groups: list[dict[str, Any]] = doc["groups"]
    return groups
