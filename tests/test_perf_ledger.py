"""docs/PERFORMANCE.md's ledger and the code agree: every optimisation sits behind a named
wall that names its ledger line, and every line names a bench that exists."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"


def ledger() -> dict[str, tuple[str, str]]:
    """line name -> (module path, bench command), from the ledger table."""
    text = DOC.read_text()
    section = text.split("## The ledger", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[0] in ("line", "---"):
            continue
        module = re.match(r"`([^`]+\.py)`", cells[1])
        bench = re.fullmatch(r"`([^`]+)`", cells[4])
        assert module and bench, row
        rows[cells[0]] = (module.group(1), bench.group(1))
    return rows


def test_the_ledger_has_its_lines() -> None:
    assert {"fastexpo", "fastgc", "fasthttp", "fastcache", "fastjson"} <= set(ledger())


def test_every_ledger_module_exists_and_names_its_line() -> None:
    for name, (module, _) in ledger().items():
        path = ROOT / module
        assert path.is_file(), f"ledger line {name}: {module} does not exist"
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "OPTIMISATION" in doc and f'"{name}"' in doc, (
            f'{module}\'s docstring must say OPTIMISATION and name ledger line "{name}"'
        )


def test_every_fast_module_has_a_ledger_line() -> None:
    walled = {module for module, _ in ledger().values()}
    fast = {str(p.relative_to(ROOT)) for p in (ROOT / "prober").rglob("fast*.py")}
    assert fast, "the walls are named fast*.py"
    assert fast <= walled, f"optimisations without a ledger line: {sorted(fast - walled)}"


def test_every_bench_command_names_a_bench_that_exists() -> None:
    for name, (_, command) in ledger().items():
        argv = shlex.split(command)
        assert argv[0] == "python", (name, command)
        script = argv[2].replace(".", "/") + ".py" if argv[1] == "-m" else argv[1]
        target = ROOT / script
        assert target.is_file(), f"ledger line {name}: {command}: no {target}"
