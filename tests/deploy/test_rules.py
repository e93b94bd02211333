"""The alert rule file passes promtool's checks and its unit tests."""

from __future__ import annotations

import subprocess

from .promql import RULE_TESTS, RULES, load_rules


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules() -> None:
    out = _promtool("check", "rules", str(RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(load_rules())} rules found" in out.stdout


def test_promtool_unit_tests() -> None:
    out = _promtool("test", "rules", str(RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    import yaml

    doc = yaml.safe_load(RULE_TESTS.read_text())
    fired: set[str] = set()
    quiet: set[str] = set()
    for group in doc["tests"]:
        for case in group["alert_rule_test"]:
            (fired if case["exp_alerts"] else quiet).add(case["alertname"])
    alerts = {r["alert"] for r in load_rules()}
    assert alerts - fired == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested quiet"


# The distributed mode's rules (grafana/alerts/prober-distributed.rules.yaml): the same checks.
DIST_RULES = RULES.parent / "prober-distributed.rules.yaml"
DIST_RULE_TESTS = RULE_TESTS.parent / "prober-distributed.rules.test.yaml"
# Metrics of the distributed mode that pg14/dist14 add to prober (and docs/METRICS.md) in
# the same issue; `up` is Prometheus' own. Anything else must be documented already.
DISTRIBUTED_METRICS = {"prober_leader", "up"}


def _dist_rules() -> list[dict[str, object]]:
    import yaml

    doc = yaml.safe_load(DIST_RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_distributed_rules_pass_promtool() -> None:
    out = _promtool("check", "rules", str(DIST_RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    out = _promtool("test", "rules", str(DIST_RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr


def test_distributed_alerts_are_tested_documented_and_use_known_metrics() -> None:
    import yaml

    from .promql import ROOT, metric_names, series_names

    doc = yaml.safe_load(DIST_RULE_TESTS.read_text())
    fired = {c["alertname"] for g in doc["tests"] for c in g["alert_rule_test"] if c["exp_alerts"]}
    quiet = {
        c["alertname"] for g in doc["tests"] for c in g["alert_rule_test"] if not c["exp_alerts"]
    }
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    allowed = series_names() | DISTRIBUTED_METRICS
    for rule in _dist_rules():
        alert = str(rule["alert"])
        assert alert in fired and alert in quiet, alert
        assert rule["annotations"]["runbook_url"] == f"__RUNBOOK_BASE_URL__#{alert.lower()}"  # type: ignore[index]
        assert f"\n#### {alert}\n" in deploy, f"{alert}: runbook section in docs/DEPLOY.md"
        names = metric_names(str(rule["expr"]))
        assert names and not names - allowed, f"{alert}: unknown {sorted(names - allowed)}"
