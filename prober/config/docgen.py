"""Writes what is generated from the declared settings: docs/checks.schema.json and the key
tables of docs/CONFIGURATION.md (between `<!-- keys:NAME -->` and `<!-- /keys -->`).

    python -m prober.config.docgen           # rewrite both files
    python -m prober.config.docgen --check   # exit 1 when a committed copy is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from prober.config import declared as d
from prober.config import declared_sections as s
from prober.config import declared_top as t
from prober.config.declare import Key, default_cell, find, meaning, type_cell
from prober.config.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
DOC = Path("docs/CONFIGURATION.md")
SCHEMA = Path("docs/checks.schema.json")
_BLOCK = re.compile(r"(<!-- keys:(\w+) -->\n)(.*?)(<!-- /keys -->)", re.S)
_HEAD = "| Key | Type | Default | Meaning |\n|-----|------|---------|---------|\n"
# Sub-mappings documented in a table of their own rather than under their parent.
_OWN_TABLE = {"checks[].expect", "checks[].tls"}
_TOP_ONLY = tuple(k for k in t.TOP if k.name != "incident_templates")

# table name -> (prefix, keys, recurse into sub-keys)
TABLES: dict[str, tuple[str, tuple[Key, ...], bool]] = {
    "top": ("", _TOP_ONLY, False),
    "page": ("page", s.PAGE, True),
    "components": ("components[]", s.COMPONENT, True),
    "checks": ("checks[]", d.CHECK, True),
    "expect": ("checks[].expect", d.EXPECT, True),
    "tls": ("checks[].tls", d.TLS, True),
    "defaults": ("defaults", (find(t.DEFAULTS, "status"),), False),
    "status": ("status", d.STATUS, True),
    "maintenances": ("maintenances[]", s.MAINTENANCE, True),
    "incidents": ("incidents", s.INCIDENTS, True),
    "webhooks": ("webhooks[]", s.WEBHOOK, True),
    "incident_templates": ("", (find(t.TOP, "incident_templates"),), True),
    "network": ("network", s.NETWORK, True),
    "distributed": ("distributed", s.DISTRIBUTED, True),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(prefix: str, keys: tuple[Key, ...], recurse: bool) -> list[str]:
    out: list[str] = []
    for key in keys:
        path = f"{prefix}.{key.name}" if prefix else key.name
        cells = (type_cell(key), default_cell(key), meaning(key))
        row = f"| `{path}` | " + " | ".join(_cell(c) for c in cells) + " |"
        out.append(row.replace("|  |", "| |"))  # an empty cell
        if recurse and path not in _OWN_TABLE:
            if key.keys:
                out.extend(_rows(path, key.keys, True))
            if key.items:
                out.extend(_rows(f"{path}[]", key.items, True))
    return out


def table(name: str) -> str:
    prefix, keys, recurse = TABLES[name]
    return _HEAD + "\n".join(_rows(prefix, keys, recurse)) + "\n"


def render_doc(text: str) -> str:
    """`text` (CONFIGURATION.md) with every key table regenerated."""
    seen: list[str] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(2) not in TABLES:
            raise ValueError(f"{DOC}: unknown key table <!-- keys:{m.group(2)} -->")
        seen.append(m.group(2))
        return m.group(1) + table(m.group(2)) + m.group(4)

    out = _BLOCK.sub(repl, text)
    missing = sorted(set(TABLES) - set(seen))
    if missing or len(seen) != len(set(seen)):
        raise ValueError(f"{DOC}: key table markers missing or repeated: {missing or seen}")
    return out


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"  # as `prober schema` prints it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository")
    args = parser.parse_args(argv)
    stale = []
    doc_path, schema_path = args.root / DOC, args.root / SCHEMA
    doc = doc_path.read_text(encoding="utf-8")
    wanted = {doc_path: render_doc(doc), schema_path: render_schema()}
    for path, text in wanted.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        for path in stale:
            print(f"{path} is stale: run python -m prober.config.docgen", file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
