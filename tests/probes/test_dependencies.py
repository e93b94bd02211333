"""The probe path's libraries are default dependencies: a plain `pip install .` (what the
Docker image and the README install) gets llhttp, c-ares and, where supported, uvloop."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(r).name: Requirement(r) for r in project["dependencies"]}


def test_httptools_aiodns_and_uvloop_are_default_dependencies() -> None:
    deps = requirements()
    assert {"httptools", "aiodns", "uvloop"} <= set(deps)


def test_uvloop_is_required_where_it_is_supported_only() -> None:
    marker = requirements()["uvloop"].marker
    assert marker is not None
    assert marker.evaluate({"sys_platform": "linux", "platform_python_implementation": "CPython"})
    assert marker.evaluate({"sys_platform": "darwin", "platform_python_implementation": "CPython"})
    assert not marker.evaluate(
        {"sys_platform": "win32", "platform_python_implementation": "CPython"}
    )
    assert not marker.evaluate({"sys_platform": "linux", "platform_python_implementation": "PyPy"})


def test_the_image_checks_it_has_the_probe_libraries() -> None:
    assert 'python -c "import uvloop, httptools, aiodns"' in (ROOT / "Dockerfile").read_text()
