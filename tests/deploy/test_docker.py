"""The Dockerfile: hadolint clean, a safe final stage, and a build context that installs.

There is no Docker engine here, so the image is proven in parts: hadolint and a structural
read of the final stage, and a real `pip install` of exactly the files the build context
(.dockerignore) lets in, into a clean virtual environment, which then runs `prober`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .promql import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["hadolint", "--no-color", "--config", str(ROOT / ".hadolint.yaml"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        buf += " " + line.rstrip("\\").strip() if buf else line.rstrip("\\").strip()
        if not line.endswith("\\"):
            word, _, rest = buf.partition(" ")
            out.append((word.upper(), rest.strip()))
            buf = ""
    return out


def _final_stage() -> list[tuple[str, str]]:
    ins = _instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    return ins[last_from:]


def test_hadolint_passes() -> None:
    out = _hadolint(DOCKERFILE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y gcc\nCMD prober run\n")
    out = _hadolint(bad)
    assert out.returncode != 0
    assert "DL3006" in out.stdout  # untagged image


def test_two_stages_and_a_wheel_build() -> None:
    ins = _instructions(DOCKERFILE.read_text())
    froms = [rest for word, rest in ins if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS builder")
    assert any(word == "RUN" and "pip wheel" in rest for word, rest in ins)


def test_final_stage_is_safe_and_runs_prober() -> None:
    stage = _final_stage()
    words = dict(stage)  # last one wins, as in Docker
    assert "slim" in words["FROM"]
    assert words["USER"] == "65532:65532"
    assert json.loads(words["ENTRYPOINT"]) == ["prober"]
    assert json.loads(words["CMD"])[0] == "run"
    volumes = json.loads(words["VOLUME"])
    assert set(volumes) == {"/var/lib/prober", "/tmp"}
    assert words["EXPOSE"] == "8080 8090"  # public, admin (/metrics, reload, writes)
    env = " ".join(rest for word, rest in stage if word == "ENV")
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PROBER_LISTEN=0.0.0.0:8080",
        "PROBER_ADMIN_LISTEN=0.0.0.0:8090",
        "PROBER_DB=/var/lib/prober/prober.db",
    ):
        assert setting in env
    runs = " ".join(rest for word, rest in stage if word == "RUN")
    assert "--no-index" in runs and "from=builder" in runs
    for tool in ("apt-get", "gcc", "build-essential", "git "):
        assert tool not in runs, f"final stage installs {tool}"
    assert not any(word == "COPY" for word, _ in stage), "final stage copies no source"
    labels = " ".join(rest for word, rest in stage if word == "LABEL")
    for key in ("title", "description", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def _context_files() -> list[Path]:
    """Files a `docker build .` would send, by the allowlist rules of .dockerignore."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    chosen: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in {".git", ".venv", "node_modules"}]
        for name in filenames:
            rel = Path(dirpath, name).relative_to(ROOT).as_posix()
            included = False
            for rule in rules:
                negate = rule.startswith("!")
                pattern = rule[1:] if negate else rule
                pattern = pattern.rstrip("/")
                hit = (
                    fnmatch.fnmatch(rel, pattern)
                    or rel.startswith(pattern + "/")
                    or (
                        pattern.startswith("**/")
                        and (
                            fnmatch.fnmatch(Path(rel).name, pattern[3:])
                            or f"/{pattern[3:]}/" in f"/{rel}"
                        )
                    )
                )
                if hit:
                    included = negate
            if included:
                chosen.append(Path(rel))
    return chosen


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    files = {p.as_posix() for p in _context_files()}
    assert {"pyproject.toml", "README.md", "prober/__init__.py", "prober/cli.py"} <= files
    assert not any(f.startswith(("tests/", "helm/", ".git/")) or "__pycache__" in f for f in files)
    for word, rest in _instructions(DOCKERFILE.read_text()):
        if word == "COPY" and "--from" not in rest:
            for src in rest.split()[:-1]:
                src = src.rstrip("/")
                assert any(f == src or f.startswith(src + "/") for f in files), src


@pytest.mark.slow
def test_pip_install_of_the_build_context_gives_a_working_prober(tmp_path: Path) -> None:
    context = tmp_path / "context"
    files = _context_files()
    for rel in files:
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, context / rel)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PROBER_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(context)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    out = subprocess.run(
        [str(venv / "bin" / "prober"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for command in ("run", "check-config"):
        assert command in out.stdout
    out = subprocess.run(
        [str(venv / "bin" / "prober"), "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "--listen" in out.stdout and "--db" in out.stdout

    # Every file of the package (templates, migrations, examples) reaches the installation.
    where = subprocess.run(
        [str(py), "-c", "import prober, os; print(os.path.dirname(prober.__file__))"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    installed = Path(where)
    assert installed.is_relative_to(venv), "imported the installed copy, not the checkout"
    missing = [
        rel for rel in files if rel.parts[0] == "prober" and not (installed.parent / rel).is_file()
    ]
    assert not missing, f"not installed by `pip install .`: {missing}"


def _args() -> dict[str, str]:
    return dict(
        a.split("=", 1) for k, a in _instructions(DOCKERFILE.read_text()) if k == "ARG" and "=" in a
    )


def test_base_image_is_pinned_by_digest() -> None:
    froms = [a for k, a in _instructions(DOCKERFILE.read_text()) if k == "FROM"]
    assert len(froms) == 2
    digest = _args()["PYTHON_DIGEST"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    for line in froms:
        assert line.split()[0] == "python:${PYTHON_VERSION}-slim@${PYTHON_DIGEST}", line


def test_one_python_version_for_image_and_tests() -> None:
    import tomllib

    version = _args()["PYTHON_VERSION"]
    assert version == (ROOT / ".python-version").read_text().strip()
    assert version == f"{sys.version_info.major}.{sys.version_info.minor}", (
        "the tests run on another Python than the image"
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["mypy"]["python_version"] == version
