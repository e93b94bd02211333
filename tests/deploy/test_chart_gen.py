"""The chart's generated files (dashboard and rule copies, README) are fresh; the README
generator follows helm-docs' comment convention."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from .promql import CHART, ROOT

SCRIPT = ROOT / "scripts" / "chart_gen.py"


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_gen", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_chart_files_are_fresh() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def test_copies_equal_their_sources_byte_for_byte() -> None:
    gen = _gen()
    assert len(gen.COPIES) >= 3
    for copy, source in gen.COPIES.items():
        assert not copy.is_symlink(), copy
        assert copy.read_bytes() == source.read_bytes(), copy


def test_check_reports_a_stale_copy_and_a_symlink(tmp_path: Path) -> None:
    """--check can fail: run it on a copy of the tree with one stale file and one symlink."""
    tree = tmp_path / "repo"
    for part in ("grafana", "helm", "scripts"):
        shutil.copytree(ROOT / part, tree / part, symlinks=True)
    dash = tree / "helm" / "prober" / "files" / "dashboards" / "prober-check.json"
    dash.write_text(dash.read_text() + " ")
    rules = tree / "helm" / "prober" / "files" / "prober.rules.yaml"
    rules.unlink()
    rules.symlink_to(tree / "grafana" / "alerts" / "prober.rules.yaml")
    values = tree / "helm" / "prober" / "values.yaml"
    values.write_text(values.read_text().replace("# -- Log level", "# -- The log level"))
    script = tree / "scripts" / "chart_gen.py"
    out = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "files/dashboards/prober-check.json: out of date" in out.stderr
    assert "files/prober.rules.yaml: a symlink" in out.stderr
    assert "helm/prober/README.md: out of date" in out.stderr
    fixed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert fixed.returncode == 0, fixed.stderr
    assert not rules.is_symlink()
    again = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr


def test_readme_rows_follow_helm_docs_comments() -> None:
    text = "\n".join(
        [
            "# -- Top-level string.",
            "# Continued here.",
            "name: x",
            "plain: 3",
            "image:",
            "  # -- The tag.",
            "  tag: ''",
            "  pullPolicy: IfNotPresent",
            "# -- A documented mapping is one row.",
            "service:",
            "  port: 80",
            "  # -- not a row of its own",
            "  type: ClusterIP",
            "list:",
            "  - a",
            "after: true",
        ]
    )
    assert _gen().value_rows(text) == [
        ("name", "string", '`"x"`', "Top-level string. Continued here."),
        ("plain", "int", "`3`", ""),
        ("image.tag", "string", '`""`', "The tag."),
        ("image.pullPolicy", "string", '`"IfNotPresent"`', ""),
        (
            "service",
            "object",
            '`{"port":80,"type":"ClusterIP"}`',
            "A documented mapping is one row.",
        ),
        ("list", "list", '`["a"]`', ""),
        ("after", "bool", "`true`", ""),
    ]


def test_readme_documents_every_top_level_value() -> None:
    import yaml

    readme = (CHART / "README.md").read_text()
    for key in yaml.safe_load((CHART / "values.yaml").read_text()):
        assert f"| {key}" in readme, key
