"""The chart's two modes: single (the default) renders exactly as before the distributed
mode existed; distributed renders the replicas, agents per location and their monitoring.

Both modes also go through every per-scenario check of test_chart.py (ci/*-values.yaml,
ci/distributed-values.yaml among them): kubernetes-validate --strict, the CRD schemas,
lint, restricted pod security, check-config, the ServiceMonitors' relabelings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from .chart import SCENARIOS, by_kind, chart_rule_groups, objects, render, scenario_values
from .golden import golden_path, rendered_text
from .promql import CHART, RULES

DISTRIBUTED = scenario_values(CHART / "ci" / "distributed-values.yaml")
DIST_RULES = RULES.parent / "prober-distributed.rules.yaml"
SINGLE = [p for p in SCENARIOS if "distributed" not in p.name]
MINIMAL: dict[str, Any] = {
    "mode": "distributed",
    "database": {"existingSecret": "prober-db"},
    "locations": [{"name": "eu", "replicas": 1}],
}


@pytest.mark.parametrize("scenario", SINGLE, ids=[p.name for p in SINGLE])
def test_single_mode_renders_as_before(scenario: Path) -> None:
    values = scenario_values(scenario)
    assert rendered_text(values) == golden_path(scenario).read_text(), (
        "the single mode's render changed; if deliberate: python -m tests.deploy.golden"
    )
    assert rendered_text({**values, "mode": "single"}) == rendered_text(values)


def test_single_mode_is_the_default() -> None:
    assert yaml.safe_load((CHART / "values.yaml").read_text())["mode"] == "single"
    kinds = sorted(o["kind"] for o in objects(render({})))
    assert "StatefulSet" not in kinds and kinds.count("Deployment") == 1


def _objs(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return objects(render(values or DISTRIBUTED))


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def test_distributed_run_deployment() -> None:
    objs = _objs()
    (dep,) = by_kind(objs, "Deployment")
    spec = dep["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "run"
    assert "--db=$(PROBER_DB)" in args and "--config=/etc/prober/config/checks.yaml" in args
    assert "--listen=0.0.0.0:8080" in args and "--admin-listen=0.0.0.0:8090" in args
    assert _env(container)["PROBER_DB"]["valueFrom"] == {
        "secretKeyRef": {"name": "prober-db", "key": "url"}
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}
    # no SQLite volume, no claim
    assert "data" not in {v["name"] for v in pod["volumes"]}
    assert "/var/lib/prober" not in {m["mountPath"] for m in container["volumeMounts"]}
    assert not by_kind(objs, "PersistentVolumeClaim")
    spread = pod["topologySpreadConstraints"]
    selector = spec["selector"]["matchLabels"]
    host = next(c for c in spread if c["topologyKey"] == "kubernetes.io/hostname")
    assert host["whenUnsatisfiable"] == "DoNotSchedule"
    assert host["labelSelector"]["matchLabels"] == selector
    from prober.cli import build_parser

    parsed = build_parser().parse_args(args)
    assert parsed.db == "$(PROBER_DB)"
    assert parsed.listen == ("0.0.0.0", 8080) and parsed.admin_listen == ("0.0.0.0", 8090)


def test_distributed_pdb_and_service_select_the_run_pods_only() -> None:
    objs = _objs()
    (dep,) = by_kind(objs, "Deployment")
    run_labels = dep["spec"]["template"]["metadata"]["labels"]
    (pdb,) = by_kind(objs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1 and "maxUnavailable" not in pdb["spec"]
    service = next(s for s in by_kind(objs, "Service") if s["metadata"]["name"] == "prober")
    assert service["spec"]["publishNotReadyAddresses"] is False, "route to ready replicas"
    agent_pods = [s["spec"]["template"]["metadata"]["labels"] for s in by_kind(objs, "StatefulSet")]
    assert len(agent_pods) == 3
    policy = next(p for p in by_kind(objs, "NetworkPolicy") if p["metadata"]["name"] == "prober")
    for selector in (
        pdb["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"],
        dep["spec"]["selector"]["matchLabels"],
        policy["spec"]["podSelector"]["matchLabels"],
    ):
        assert selector.items() <= run_labels.items()
        for labels in agent_pods:
            assert not selector.items() <= labels.items(), "selects an agent"


def test_one_statefulset_and_headless_service_per_location() -> None:
    objs = _objs()
    sets = {s["metadata"]["labels"]["prober/location"]: s for s in by_kind(objs, "StatefulSet")}
    assert set(sets) == {"eu-west", "us-east", "ap-south"}
    services = {s["metadata"]["name"]: s for s in by_kind(objs, "Service")}
    for location, replicas in (("eu-west", 2), ("us-east", 1), ("ap-south", 1)):
        sts = sets[location]
        spec = sts["spec"]
        assert spec["replicas"] == replicas
        headless = services[spec["serviceName"]]
        assert headless["spec"]["clusterIP"] == "None"
        assert (
            headless["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
        )
        assert spec["selector"]["matchLabels"] == headless["spec"]["selector"]
        (container,) = spec["template"]["spec"]["containers"]
        assert container["args"][:5] == [
            "agent",
            f"--location={location}",
            "--db=$(PROBER_DB)",
            f"--shard=$(POD_INDEX)/{replicas}",
            "--config=/etc/prober/config/checks.yaml",
        ]
        assert "--admin-listen=0.0.0.0:8090" in container["args"]
        env = _env(container)
        assert env["POD_INDEX"]["valueFrom"] == {
            "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
        }
        assert env["PROBER_DB"]["valueFrom"]["secretKeyRef"] == {"name": "prober-db", "key": "url"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "admin"}
        assert [p["containerPort"] for p in container["ports"]] == [8090]
        assert len(sts["metadata"]["name"]) <= 52, "room for the controller-revision-hash"
    pods = {loc: s["spec"]["template"]["spec"] for loc, s in sets.items()}
    assert pods["eu-west"]["nodeSelector"] == {"topology.kubernetes.io/region": "eu-west-1"}
    assert "nodeAffinity" in pods["us-east"]["affinity"]
    assert pods["us-east"]["tolerations"][0]["value"] == "probes"
    assert pods["ap-south"]["topologySpreadConstraints"][0]["topologyKey"] == (
        "topology.kubernetes.io/zone"
    )
    assert pods["ap-south"]["containers"][0]["resources"]["requests"]["cpu"] == "500m"
    assert pods["eu-west"]["containers"][0]["resources"]["requests"]["cpu"] == "100m"


def test_no_secret_value_is_rendered() -> None:
    text = json.dumps(_objs())
    assert "postgresql://" not in text


def test_agents_servicemonitor_follows_the_run_one() -> None:
    objs = _objs()
    monitors = {m["metadata"]["name"]: m for m in by_kind(objs, "ServiceMonitor")}
    run, agents = monitors["prober"], monitors["prober-agents"]
    assert run["metadata"]["labels"]["release"] == agents["metadata"]["labels"]["release"]
    (run_ep,), (agent_ep,) = run["spec"]["endpoints"], agents["spec"]["endpoints"]
    for key in ("port", "path", "interval", "scrapeTimeout", "honorLabels"):
        assert run_ep[key] == agent_ep[key], key
    assert agent_ep["relabelings"][0]["targetLabel"] == "location"
    services = by_kind(objs, "Service")
    selected = [
        s
        for s in services
        if agents["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert len(selected) == 3 and all(s["spec"]["clusterIP"] == "None" for s in selected)
    assert [
        s["metadata"]["name"]
        for s in services
        if run["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ] == ["prober"]
    # the relabeling reads the Service label the agents' Services carry
    meta = agent_ep["relabelings"][0]["sourceLabels"][0]
    assert meta == "__meta_kubernetes_service_label_prober_location"
    assert all("prober/location" in s["metadata"]["labels"] for s in selected)


def test_distributed_prometheusrule_adds_the_agent_and_leader_alerts(tmp_path: Path) -> None:
    (rule,) = by_kind(_objs(), "PrometheusRule")
    base = DISTRIBUTED["prometheusRule"]["runbookBaseUrl"]
    kw: dict[str, Any] = {
        "runbook_base_url": base,
        "job": "prober",
        "namespace": "monitoring",
        "service_monitor": True,
    }
    expected = chart_rule_groups(RULES.read_text(), **kw) + chart_rule_groups(
        DIST_RULES.read_text(), **kw
    )
    assert rule["spec"]["groups"] == expected
    single = by_kind(objects(render({"prometheusRule": {"enabled": True}})), "PrometheusRule")[0]
    names = {r["alert"] for g in single["spec"]["groups"] for r in g["rules"]}
    assert not names & {"ProberNoLeader", "ProberAgentDown", "ProberLocationNetworkLost"}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    out = subprocess.run(
        ["promtool", "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "distributed", "locations": [{"name": "eu", "replicas": 1}]}, "existingSecret"),
        ({**MINIMAL, "locations": []}, "at least one entry under locations"),
        ({**MINIMAL, "persistence": {"enabled": True}}, "persistence.enabled"),
        (
            {
                **MINIMAL,
                "locations": [{"name": "eu", "replicas": 1}, {"name": "eu", "replicas": 2}],
            },
            "listed twice",
        ),
        ({"locations": [{"name": "eu", "replicas": 1}]}, "set mode: distributed"),
    ],
)
def test_distributed_mistakes_fail_with_a_clear_message(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        {"mode": "multi"},
        {**MINIMAL, "distributed": {"replicas": 1}},
        {**MINIMAL, "locations": [{"name": "EU", "replicas": 1}]},
        {**MINIMAL, "locations": [{"name": "a-very-long-location-name", "replicas": 1}]},
        {**MINIMAL, "locations": [{"name": "eu"}]},
        {**MINIMAL, "locations": [{"name": "eu", "replicas": 1, "nodeselector": {}}]},
        {**MINIMAL, "database": {"existingSecret": "x", "url": "postgresql://u:p@h/d"}},
        {**MINIMAL, "database": {"existingSecret": "postgresql://u:p@db:5432/prober"}},
    ],
)
def test_schema_rejects_bad_distributed_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(values)


def test_minimal_distributed_values_render() -> None:
    kinds = sorted(o["kind"] for o in objects(render(MINIMAL)))
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Pod",
        "PodDisruptionBudget",
        "Service",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]


LINT_AT = """
import sys, yaml, helm_python as helm
values = yaml.safe_load(open(sys.argv[1]))
helm.lint(sys.argv[2], values, strict=True, kube_version=sys.argv[3])
"""


@pytest.mark.parametrize(("kube_version", "refused"), [("v1.27.9", True), ("v1.28.0", False)])
def test_distributed_mode_refuses_kubernetes_before_1_28(kube_version: str, refused: bool) -> None:
    """Only `helm lint` takes a cluster version here (render always says 1.36); in lint mode
    Helm logs a template's `fail` message to stderr instead of raising, so read it there."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            LINT_AT,
            str(CHART / "ci" / "distributed-values.yaml"),
            str(CHART),
            kube_version,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    message = f"mode: distributed needs Kubernetes 1.28 or later (this cluster: {kube_version})"
    assert (message in out.stderr) is refused, out.stderr
