"""The service is given its collaborators; one place builds them (prober/service/build.py,
called by `prober run` and `prober demo` through prober/serve.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import prober

PROBER = Path(prober.__file__).parent
BUILT_BY_BUILD_ONLY = {
    "SystemClock",
    "StoreKeeper",
    "Metrics",
    "HttpProber",
    "WebhookSender",
    "make_store",
}


def called_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


def test_the_service_modules_build_none_of_their_collaborators() -> None:
    for path in sorted((PROBER / "service").glob("*.py")):
        if path.name == "build.py":
            assert called_names(path) >= BUILT_BY_BUILD_ONLY
            continue
        assert not called_names(path) & BUILT_BY_BUILD_ONLY, path.name


def test_only_the_serving_entry_point_calls_build_service() -> None:
    callers = {
        path.relative_to(PROBER).as_posix()
        for path in PROBER.rglob("*.py")
        if "build_service(" in path.read_text() and "build_service" in called_names(path)
    }
    assert callers == {"serve.py"}
