"""The layers hold: the domain is importable without the shell (issue 10).

The import contracts live in pyproject.toml ([tool.importlinter]); scripts/test.sh runs
`lint-imports`. These tests prove the effect a user of the domain sees (importing the
engine loads no YAML and no config reader) and that the contracts as written catch a
violation rather than passing vacuously.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The `lint-imports` entry point, run by this interpreter.
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
]

_PROBE = """
import json, sys
import prober.domain.engine
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_importing_the_engine_loads_no_yaml_and_no_shell_module() -> None:
    loaded = _modules_after(_PROBE)
    assert "prober.domain.engine" in loaded  # the probe really imported it
    shell = sorted(
        m for m in loaded if m.startswith("prober.") and not m.startswith("prober.domain")
    )
    assert shell == []
    io_libs = {"yaml", "aiohttp", "prometheus_client", "structlog", "orjson", "httptools"}
    assert sorted(io_libs & loaded) == []


def test_the_import_contracts_are_kept() -> None:
    done = subprocess.run(
        LINT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _fake_tree(tmp: Path, domain_source: str) -> None:
    """A package named `prober` with every module the contracts name, empty but for the
    domain's one source line (and the imports the contracts ignore)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names: set[str] = set()
    ignored: list[tuple[str, str]] = []  # each ignored import is made, as the real tree does
    for contract in config["contracts"]:
        for key in ("source_modules", "forbidden_modules", "layers"):
            names.update(m for m in contract.get(key, ()) if m.startswith("prober."))
        for rule in contract.get("ignore_imports", ()):
            importer, imported = (part.strip() for part in rule.split("->"))
            names.update((importer, imported))
            ignored.append((importer, imported))
    for name in names | {"prober.domain.engine"}:
        parts = name.split(".")
        pkg = tmp.joinpath(*parts)
        pkg.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts) + 1):
            tmp.joinpath(*parts[:i], "__init__.py").touch()
    for importer, imported in ignored:
        tmp.joinpath(*importer.split("."), "__init__.py").write_text(f"import {imported}\n")
    (tmp / "prober" / "domain" / "engine" / "__init__.py").write_text(domain_source)
    # The contracts exactly as pyproject.toml states them.
    (tmp / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())


def _lint(tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        LINT,
        cwd=tmp,
        env={**os.environ, "PYTHONPATH": str(tmp)},
        capture_output=True,
        text=True,
    )


def test_the_domain_contract_catches_an_import_of_config(tmp_path: Path) -> None:
    _fake_tree(tmp_path, "import prober.config\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "prober.domain is not allowed to import prober.config" in done.stdout


def test_the_domain_contract_catches_an_io_library(tmp_path: Path) -> None:
    _fake_tree(tmp_path, "import yaml\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "prober.domain is not allowed to import yaml" in done.stdout


def test_the_fake_tree_alone_keeps_every_contract(tmp_path: Path) -> None:
    # The two tests above fail for the import they add, not for the tree they build.
    _fake_tree(tmp_path, "")
    done = _lint(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
