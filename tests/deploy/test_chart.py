"""The Helm chart, rendered by the real Helm v4 engine for every ci/*-values.yaml scenario.

Every object is validated against the Kubernetes schemas (kubernetes-validate --strict) or,
for ServiceMonitor and PrometheusRule, against strict schemas of the Prometheus Operator
CRD fields (tests/deploy/schemas/). The rendered checks.yaml passes `prober check-config`,
the rendered rules pass promtool, and dashboards and rules are byte-for-byte the files
under grafana/ (reached through symlinks in helm/prober/files/).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from .chart import SCENARIOS, by_kind, chart_rule_groups, objects, render, scenario_values
from .promql import CHART, ROOT, RULES, dashboard_files, load_rules, metric_names

DASHBOARDS = dashboard_files()
SCHEMAS = Path(__file__).resolve().parent / "schemas"
CRD_SCHEMAS = {
    "ServiceMonitor": SCHEMAS / "servicemonitor-monitoring-v1.json",
    "PrometheusRule": SCHEMAS / "prometheusrule-monitoring-v1.json",
    "HTTPRoute": SCHEMAS / "httproute-gateway-v1.json",
}
K8S_VERSION = "1.30.0"
ids = [p.name.removesuffix("-values.yaml") for p in SCENARIOS]


def test_every_scenario_is_there() -> None:
    assert set(ids) == {
        "default",
        "persistence",
        "existing-configmap",
        "monitoring",
        "exposure",
        "distributed",
    }


def test_lint_strict() -> None:
    for path in SCENARIOS:
        report = helm.lint(CHART, scenario_values(path), strict=True, kube_version="v1.30.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not report["errors"] and not problems, (path.name, report)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids)
def test_objects_are_valid_kubernetes(scenario: Path) -> None:
    objs = objects(render(scenario_values(scenario)))
    assert objs
    for obj in objs:
        kind = obj["kind"]
        if kind in CRD_SCHEMAS:
            schema = json.loads(CRD_SCHEMAS[kind].read_text())
            jsonschema.validate(obj, schema)
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        name = obj["metadata"]["name"]
        assert len(name) <= 63, name
        labels = obj["metadata"]["labels"]
        is_test = obj["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
        assert labels["app.kubernetes.io/name"] == ("prober-test" if is_test else "prober")
        assert labels["app.kubernetes.io/instance"] == "prober"


def test_kubernetes_validate_is_strict() -> None:
    objs = objects(render())
    deployment = by_kind(objs, "Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_crd_schemas_are_strict() -> None:
    objs = objects(render(scenario_values(CHART / "ci" / "monitoring-values.yaml")))
    monitor = by_kind(objs, "ServiceMonitor")[0]
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, json.loads(CRD_SCHEMAS["ServiceMonitor"].read_text()))
    rule = by_kind(objs, "PrometheusRule")[0]
    rule["spec"]["groups"][0]["rules"][0]["for"] = "1 minute"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, json.loads(CRD_SCHEMAS["PrometheusRule"].read_text()))


def _kinds(values: dict[str, Any]) -> list[str]:
    return sorted(o["kind"] for o in objects(render(values)))


def test_default_objects() -> None:
    assert _kinds({}) == ["ConfigMap", "Deployment", "Pod", "Service", "ServiceAccount"]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"persistence": {"enabled": True}}, "PersistentVolumeClaim"),
        ({"serviceMonitor": {"enabled": True}}, "ServiceMonitor"),
        ({"prometheusRule": {"enabled": True}}, "PrometheusRule"),
        ({"ingress": {"enabled": True}}, "Ingress"),
        ({"httpRoute": {"enabled": True}}, "HTTPRoute"),
        ({"networkPolicy": {"enabled": True}}, "NetworkPolicy"),
        ({"podDisruptionBudget": {"enabled": True}}, "PodDisruptionBudget"),
    ],
)
def test_each_resource_has_its_own_switch(values: dict[str, Any], kind: str) -> None:
    assert kind not in _kinds({})
    assert _kinds(values).count(kind) == 1
    assert _kinds(values) == sorted([*_kinds({}), kind])


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"deployment": {"enabled": False}}, "Deployment"),
        ({"service": {"enabled": False}}, "Service"),
        ({"serviceAccount": {"create": False}}, "ServiceAccount"),
        ({"existingConfigMap": "mine"}, "ConfigMap"),
        ({"tests": {"enabled": False}}, "Pod"),
    ],
)
def test_default_resources_can_be_switched_off(values: dict[str, Any], kind: str) -> None:
    assert kind not in _kinds(values)


def _deployment(values: dict[str, Any] | None = None) -> dict[str, Any]:
    return by_kind(objects(render(values or {})), "Deployment")[0]


def test_deployment_is_one_replica_recreate_and_restricted() -> None:
    dep = _deployment()
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsUser"] == 65532
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert {"/var/lib/prober", "/tmp", "/etc/prober/config"} <= set(mounts)
    assert "subPath" not in mounts["/etc/prober/config"], "subPath mounts never update"
    assert "--config=/etc/prober/config/checks.yaml" in container["args"]
    assert "--db=/var/lib/prober/prober.db" in container["args"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["data"]


def test_restricted_pod_security_in_every_scenario() -> None:
    for path in SCENARIOS:
        for obj in objects(render(scenario_values(path))):
            if obj["kind"] not in {"Deployment", "StatefulSet", "Pod"}:
                continue
            pod = obj["spec"]["template"]["spec"] if obj["kind"] != "Pod" else obj["spec"]
            assert pod["automountServiceAccountToken"] is False
            assert pod["securityContext"]["runAsNonRoot"] is True
            for c in pod["containers"]:
                assert c["securityContext"]["allowPrivilegeEscalation"] is False
                assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
                assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_persistence_uses_the_claim() -> None:
    objs = objects(render(scenario_values(CHART / "ci" / "persistence-values.yaml")))
    pvc = by_kind(objs, "PersistentVolumeClaim")[0]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert pvc["spec"]["storageClassName"] == "standard"
    pod = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    existing = _deployment({"persistence": {"enabled": True, "existingClaim": "mine"}})
    volumes = {v["name"]: v for v in existing["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "mine"


def test_checksum_follows_inline_config_only() -> None:
    def checksum(values: dict[str, Any]) -> str | None:
        annotations = _deployment(values)["spec"]["template"]["metadata"].get("annotations") or {}
        return annotations.get("checksum/config")

    base = checksum({})
    assert base and len(base) == 64
    assert checksum({}) == base
    assert checksum({"config": "page: {name: Other}\n"}) != base
    assert checksum({"existingConfigMap": "mine"}) is None


def test_existing_configmap_and_token_as_env() -> None:
    dep = _deployment(scenario_values(CHART / "ci" / "existing-configmap-values.yaml"))
    pod = dep["spec"]["template"]["spec"]
    config = next(v for v in pod["volumes"] if v["name"] == "config")["configMap"]
    assert config == {
        "name": "prober-checks",
        "items": [{"key": "checks.yaml", "path": "checks.yaml"}],
    }
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["PROBER_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "prober-api-token",
        "key": "token",
    }
    assert "PROBER_API_TOKEN_FILE" not in env


def test_token_file_and_check_secrets() -> None:
    dep = _deployment(scenario_values(CHART / "ci" / "persistence-values.yaml"))
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["PROBER_API_TOKEN_FILE"]["value"] == "/etc/prober/secrets/api-token"
    assert "PROBER_API_TOKEN" not in env
    secret = next(v for v in pod["volumes"] if v["name"] == "api-token")["secret"]
    assert secret["secretName"] == "prober-api-token"
    assert secret["items"] == [{"key": "token", "path": "api-token"}]
    assert container["envFrom"] == [{"secretRef": {"name": "prober-check-secrets"}}]


def test_no_token_means_no_token_env() -> None:
    container = _deployment()["spec"]["template"]["spec"]["containers"][0]
    names = {e["name"] for e in container.get("env") or []}
    assert not names & {"PROBER_API_TOKEN", "PROBER_API_TOKEN_FILE"}


def test_fullname_is_truncated_to_63() -> None:
    long = "a" * 53  # the longest release name Helm accepts
    for obj in objects(render(scenario_values(CHART / "ci" / "monitoring-values.yaml"), name=long)):
        assert len(obj["metadata"]["name"]) <= 63
        assert not obj["metadata"]["name"].endswith("-")
    names = {o["metadata"]["name"] for o in objects(render({"fullnameOverride": "status"}))}
    assert "status" in names


@pytest.mark.parametrize(
    "values",
    [
        {"persistance": {"enabled": True}},
        {"persistence": {"enabeld": True}},
        {"serviceMonitor": {"enabled": True, "intreval": "30s"}},
        {"deployment": {"strategy": {"type": "RollingUpdate"}}},
        {"config": {"page": {"name": "x"}}},
        {"logFormat": "yaml"},
        {"image": {"repositry": "x"}},
    ],
)
def test_schema_rejects_typos_and_wrong_types(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(values)


def _rendered_checks(values: dict[str, Any], tmp_path: Path) -> Path:
    configmaps = [
        o
        for o in by_kind(objects(render(values)), "ConfigMap")
        if "checks.yaml" in o.get("data", {})
    ]
    assert len(configmaps) == 1
    path = tmp_path / "checks.yaml"
    path.write_text(configmaps[0]["data"]["checks.yaml"])
    return path


@pytest.mark.parametrize(
    "scenario",
    [p for p in SCENARIOS if "existing" not in p.name],
    ids=[i for i in ids if "existing" not in i],
)
def test_rendered_checks_yaml_passes_check_config(scenario: Path, tmp_path: Path) -> None:
    path = _rendered_checks(scenario_values(scenario), tmp_path)
    env = {"PATH": "/usr/bin:/bin", "PLATFORM_API_TOKEN": "example-token"}
    out = subprocess.run(
        [sys.executable, "-m", "prober", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_config_rejects_a_broken_rendered_config(tmp_path: Path) -> None:
    path = _rendered_checks({"config": "components: []\nchecks: [{id: x}]\n"}, tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "prober", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr


def _monitoring() -> list[dict[str, Any]]:
    return objects(render(scenario_values(CHART / "ci" / "monitoring-values.yaml")))


def test_prometheusrule_is_the_rule_file(tmp_path: Path) -> None:
    values = scenario_values(CHART / "ci" / "monitoring-values.yaml")
    base = values["prometheusRule"]["runbookBaseUrl"]
    rule = by_kind(objects(render(values)), "PrometheusRule")[0]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    expected = chart_rule_groups(
        RULES.read_text(),
        runbook_base_url=base,
        job="prober",
        namespace="monitoring",
        service_monitor=True,
    )
    assert rule["spec"]["groups"] == expected
    assert "__RUNBOOK_BASE_URL__" not in json.dumps(rule)
    rendered = tmp_path / "rendered.rules.yaml"
    rendered.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    out = subprocess.run(
        ["promtool", "check", "rules", str(rendered)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dashboards_are_the_grafana_files() -> None:
    maps = [
        o
        for o in by_kind(_monitoring(), "ConfigMap")
        if "grafana_dashboard" in o["metadata"]["labels"]
    ]
    rendered = {key: text for m in maps for key, text in m["data"].items()}
    assert set(rendered) == {p.name for p in DASHBOARDS}
    for path in DASHBOARDS:
        assert rendered[path.name] == path.read_text().rstrip("\n"), path.name
        json.loads(rendered[path.name])
    for m in maps:
        assert m["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert m["metadata"]["annotations"]["grafana_folder"] == "prober"


def test_servicemonitor_scrapes_the_service() -> None:
    objs = _monitoring()
    monitor = by_kind(objs, "ServiceMonitor")[0]
    service = by_kind(objs, "Service")[0]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    admin = next(p for p in service["spec"]["ports"] if p["name"] == "admin")
    assert endpoint["port"] == admin["name"] == "admin", "scrapes the admin listener"
    assert endpoint["path"] == "/metrics"


def test_no_symlinks_in_the_chart() -> None:
    """Git sources such as Flux do not resolve symlinks: the chart holds plain files."""
    links = [p for p in CHART.rglob("*") if p.is_symlink()]
    assert links == []


def test_packaged_chart_carries_dashboards_and_rules(tmp_path: Path) -> None:
    archive = helm.package(CHART, destination=tmp_path)
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert Path(archive).name == f"prober-{meta['version']}.tgz", "a versioned artifact"
    import prober

    assert meta["appVersion"] == prober.__version__
    objs = objects(render(scenario_values(CHART / "ci" / "monitoring-values.yaml"), chart=archive))
    assert len(by_kind(objs, "PrometheusRule")) == 1
    maps = [o for o in by_kind(objs, "ConfigMap") if "grafana_dashboard" in o["metadata"]["labels"]]
    assert len(maps) == len(DASHBOARDS)
    with helm.Chart.load(archive) as loaded:
        names = {f["name"] for f in loaded.files}
    assert not any(n.startswith("ci/") for n in names), "ci/ is helmignored"
    assert "README.md" in names
    assert {"files/prober.rules.yaml", *(f"files/dashboards/{p.name}" for p in DASHBOARDS)} <= names


def test_exposure_scenario() -> None:
    objs = objects(render(scenario_values(CHART / "ci" / "exposure-values.yaml")))
    ingress = by_kind(objs, "Ingress")[0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["secretName"] == "status-example-com-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "prober", "port": {"name": "http"}}
    policy = by_kind(objs, "NetworkPolicy")[0]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    peers = policy["spec"]["ingress"][0]["from"]
    assert len(peers) == 3, "the two peers of the scenario and the helm test pod"
    test_pod = by_kind(objs, "Pod")[0]
    assert (
        peers[2]["podSelector"]["matchLabels"].items() <= test_pod["metadata"]["labels"].items()
    ), "helm test may reach prober"
    pdb = by_kind(objs, "PodDisruptionBudget")[0]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_helm_test_hook_curls_ready() -> None:
    pod = by_kind(objects(render()), "Pod")[0]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    args = pod["spec"]["containers"][0]["args"]
    assert args[-1] == "http://prober:8080/-/ready"


def test_notes_render() -> None:
    notes = render()["prober/templates/NOTES.txt"]
    assert "port-forward svc/prober" in notes
    assert "persistence.enabled=false" in notes


def _rule_groups(values: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = by_kind(objects(render(values, **kw)), "PrometheusRule")[0][
        "spec"
    ]["groups"]
    return groups


def _rules_by_alert(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in groups for r in g["rules"]}


def test_runbook_urls_are_absolute_from_the_base_url() -> None:
    base = "https://docs.example.com/prober/DEPLOY.md"
    rules = _rules_by_alert(
        _rule_groups({"prometheusRule": {"enabled": True, "runbookBaseUrl": base}})
    )
    assert rules
    for alert, rule in rules.items():
        assert rule["annotations"]["runbook_url"] == f"{base}#{alert.lower()}"
    # No base URL: no runbook_url at all (a relative one is a broken link in Alertmanager),
    # and the rest is the rule file.
    groups = _rule_groups({"prometheusRule": {"enabled": True}})
    assert groups == chart_rule_groups(
        RULES.read_text(),
        runbook_base_url="",
        job="prober",
        namespace="monitoring",
        service_monitor=False,
    )
    for rule in _rules_by_alert(groups).values():
        assert "runbook_url" not in rule["annotations"]
        assert rule["annotations"]["runbook"]


@pytest.mark.parametrize("url", ["docs/DEPLOY.md", "ftp://x/y", "https://x/DEPLOY.md#a"])
def test_schema_rejects_a_relative_runbook_base_url(url: str) -> None:
    with pytest.raises(helm.HelmValuesError):
        render({"prometheusRule": {"enabled": True, "runbookBaseUrl": url}})


def test_prober_absent_needs_and_follows_the_servicemonitor() -> None:
    alone = _rules_by_alert(_rule_groups({"prometheusRule": {"enabled": True}}))
    assert "ProberAbsent" not in alone, "an unscoped absent() fires where prober is not scraped"
    assert "ProberComponentMajorOutage" in alone
    objs = objects(
        render(
            {"prometheusRule": {"enabled": True}, "serviceMonitor": {"enabled": True}},
            name="status",
            namespace="ops",
        )
    )
    monitor = by_kind(objs, "ServiceMonitor")[0]
    service = by_kind(objs, "Service")[0]
    assert "jobLabel" not in monitor["spec"], "job is the Service name, one per release"
    rule = _rules_by_alert(by_kind(objs, "PrometheusRule")[0]["spec"]["groups"])["ProberAbsent"]
    job = service["metadata"]["name"]
    assert job == "status-prober"
    assert rule["expr"] == 'absent(prober_build_info{job="status-prober", namespace="ops"})'


ABSENT_TEST = """
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  # this release stops being scraped after 5m; another prober release keeps running
  - series: prober_build_info{job="prober", namespace="monitoring", version="0.1.0"}
    values: 1x5
  - series: prober_build_info{job="other-prober", namespace="monitoring", version="0.1.0"}
    values: 1x30
  - series: prober_build_info{job="prober", namespace="elsewhere", version="0.1.0"}
    values: 1x30
  alert_rule_test:
  - eval_time: 5m
    alertname: ProberAbsent
    exp_alerts: []
  - eval_time: 20m
    alertname: ProberAbsent
    exp_alerts:
    - exp_labels: {severity: critical, job: prober, namespace: monitoring}
"""


def test_rendered_prober_absent_is_scoped_to_its_release(tmp_path: Path) -> None:
    """promtool on the chart's rules: ProberAbsent fires for this release although other
    probers (another job, another namespace) are scraped by the same Prometheus."""
    groups = _rule_groups(
        {"prometheusRule": {"enabled": True}, "serviceMonitor": {"enabled": True}}
    )
    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)  # only the alert's labels matter here
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "absent.test.yaml").write_text(ABSENT_TEST)
    out = subprocess.run(
        ["promtool", "test", "rules", "absent.test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _surviving(metric: str, relabelings: list[dict[str, Any]]) -> bool:
    """Whether a series named `metric` survives keep/drop relabelings on __name__ (the
    only relabelings on metric names we document); anything else on __name__ fails."""
    for r in relabelings:
        if r.get("sourceLabels") != ["__name__"]:
            continue
        action = r.get("action", "replace").lower()
        assert action in {"keep", "drop"}, f"unsupported relabeling on __name__: {r}"
        matched = re.fullmatch(r.get("regex", "(.*)"), metric) is not None
        if matched != (action == "keep"):
            return False
    return True


def _metrics_the_rules_need() -> set[str]:
    names = {"prober_build_info"}
    for rule in load_rules():
        names |= metric_names(rule["expr"])
    return names


def test_surviving_understands_keep_and_drop() -> None:
    keep = [{"sourceLabels": ["__name__"], "regex": "prober_probe_phase_seconds", "action": "keep"}]
    assert not _surviving("prober_build_info", keep), "the old monitoring example"
    assert _surviving("prober_probe_phase_seconds", keep)
    drop = [{"sourceLabels": ["__name__"], "regex": "prober_probe_.*", "action": "drop"}]
    assert not _surviving("prober_probe_phase_seconds", drop)
    assert _surviving("prober_build_info", drop)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids)
def test_servicemonitors_keep_what_the_alerts_read(scenario: Path) -> None:
    for monitor in by_kind(objects(render(scenario_values(scenario))), "ServiceMonitor"):
        for endpoint in monitor["spec"]["endpoints"]:
            relabelings = endpoint.get("metricRelabelings", [])
            for metric in sorted(_metrics_the_rules_need()):
                assert _surviving(metric, relabelings), f"{scenario.name} drops {metric}"


def test_helm_test_pod_is_selected_by_nothing() -> None:
    values = scenario_values(CHART / "ci" / "exposure-values.yaml")
    objs = objects(render(values))
    pod = by_kind(objs, "Pod")[0]
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == "prober"
    selectors = [
        by_kind(objs, "Service")[0]["spec"]["selector"],
        by_kind(objs, "Deployment")[0]["spec"]["selector"]["matchLabels"],
        by_kind(objs, "PodDisruptionBudget")[0]["spec"]["selector"]["matchLabels"],
        by_kind(objs, "NetworkPolicy")[0]["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector
        assert not selector.items() <= labels.items(), f"{selector} selects the test pod"


def test_default_config_follows_the_container_port(tmp_path: Path) -> None:
    values = {"containerPort": 9090}
    path = _rendered_checks(values, tmp_path)
    config = yaml.safe_load(path.read_text())
    assert [c["url"] for c in config["checks"]] == ["http://127.0.0.1:9090/-/healthy"]
    container = _deployment(values)["spec"]["template"]["spec"]["containers"][0]
    assert "--listen=0.0.0.0:9090" in container["args"]
    assert container["ports"][0]["containerPort"] == 9090
    out = subprocess.run(
        [sys.executable, "-m", "prober", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # An inline config is used as written.
    own = _rendered_checks({"containerPort": 9090, "config": "page: {name: Mine}\n"}, tmp_path)
    assert own.read_text() == "page: {name: Mine}\n"


@pytest.mark.parametrize(
    ("values", "expected"), [({}, True), ({"service": {"publishNotReadyAddresses": False}}, False)]
)
def test_service_keeps_serving_the_page_while_readiness_reports_a_problem(
    values: dict[str, Any], expected: bool
) -> None:
    (service,) = by_kind(objects(render(values)), "Service")
    assert service["spec"]["publishNotReadyAddresses"] is expected


@pytest.mark.parametrize(
    ("metrics", "flags", "honor"),
    [
        ({}, [], False),
        ({"detail": True}, ["--metrics-detail"], False),
        ({"blackbox": True}, ["--metrics-blackbox"], True),
        ({"detail": True, "blackbox": True}, ["--metrics-detail", "--metrics-blackbox"], True),
    ],
)
def test_metrics_options_become_flags_and_blackbox_honors_labels(
    metrics: dict[str, bool], flags: list[str], honor: bool
) -> None:
    objs = objects(render({"metrics": metrics, "serviceMonitor": {"enabled": True}}))
    (deploy,) = by_kind(objs, "Deployment")
    args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--metrics-")] == flags
    from prober.cli import build_parser

    parsed = build_parser().parse_args(args)  # the image's entrypoint is `prober`
    assert (parsed.metrics_detail, parsed.metrics_blackbox) == (
        "--metrics-detail" in flags,
        "--metrics-blackbox" in flags,
    )
    (monitor,) = by_kind(objs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is honor


def test_public_and_admin_ports() -> None:
    """prober listens on two ports; only the public one is ever routed from outside."""
    objs = objects(render(scenario_values(CHART / "ci" / "exposure-values.yaml")))
    (deploy,) = by_kind(objs, "Deployment")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "admin": 8090}
    from prober.cli import build_parser

    args = build_parser().parse_args(container["args"])
    assert args.listen == ("0.0.0.0", ports["http"])
    assert args.admin_listen == ("0.0.0.0", ports["admin"])
    (service,) = by_kind(objs, "Service")
    by_name = {p["name"]: p for p in service["spec"]["ports"]}
    assert by_name["admin"]["targetPort"] == "admin" and by_name["http"]["targetPort"] == "http"
    # the Ingress and the HTTPRoute: the public port only
    (ingress,) = by_kind(objs, "Ingress")
    backends = [
        path["backend"]["service"]["port"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends and all(b == {"name": "http"} for b in backends)
    (route,) = by_kind(objs, "HTTPRoute")
    refs = [ref for rule in route["spec"]["rules"] for ref in rule["backendRefs"]]
    assert refs == [{"name": service["metadata"]["name"], "port": by_name["http"]["port"]}]
    assert route["spec"]["hostnames"] == ["status.example.com"]
    # the NetworkPolicy admits each port from its own peers
    (policy,) = by_kind(objs, "NetworkPolicy")
    rules = {r["ports"][0]["port"]: r for r in policy["spec"]["ingress"]}
    assert set(rules) == {"http", "admin"}
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    assert rules["admin"]["from"] == [monitoring]
