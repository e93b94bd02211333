"""The version is declared once, in ``prober/__init__.py``.

pyproject.toml reads it from there (``dynamic = ["version"]``); the two places that
cannot import Python (the Dockerfile's label default and the chart's appVersion) are
copies, and these tests keep them equal to the one declaration.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import prober

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_takes_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "prober.__version__"


def test_chart_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((ROOT / "helm/prober/Chart.yaml").read_text())
    assert chart["appVersion"] == prober.__version__


def test_dockerfile_label_default_is_the_package_version() -> None:
    text = (ROOT / "Dockerfile").read_text()
    found = re.findall(r"^ARG VERSION=(\S+)$", text, flags=re.MULTILINE)
    assert found == [prober.__version__]


def test_the_version_literal_appears_in_exactly_one_python_module() -> None:
    literal = re.compile(r"""__version__\s*=\s*["']""")
    holders = [p for p in (ROOT / "prober").rglob("*.py") if literal.search(p.read_text())]
    assert holders == [ROOT / "prober" / "__init__.py"]
