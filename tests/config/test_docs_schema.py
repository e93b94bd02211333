"""docs/CONFIGURATION.md, docs/checks.schema.json and the example files stay in step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from prober.config import example_text, json_schema, load_config
from tests.config.schema_paths import schema_paths

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "CONFIGURATION.md"
ROW = re.compile(r"^\| `([^`]+)` \|([^|]*)\|([^|]*)\|")
TOP_LEVEL_ONLY = {
    "page",
    "defaults",
    "components",
    "checks",
    "maintenances",
    "incidents",
    "webhooks",
}


def doc_rows() -> dict[str, str]:
    """Documented key path -> its default cell."""
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} documented twice"
            rows[m.group(1)] = m.group(3).strip()
    return rows


def test_every_schema_key_is_documented_and_every_documented_key_exists() -> None:
    in_schema = set(schema_paths(json_schema()))
    in_doc = set(doc_rows())
    assert in_schema - in_doc == set(), "keys missing from docs/CONFIGURATION.md"
    assert in_doc - in_schema == set(), "documented keys that the schema does not have"
    assert in_doc >= TOP_LEVEL_ONLY


def _spelled(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_documented_defaults_match_the_schema() -> None:
    rows = doc_rows()
    for path, node in schema_paths(json_schema()).items():
        if "default" not in node:
            continue
        default = node["default"]
        cell = rows[path]
        if isinstance(default, list):
            for item in default:
                assert _spelled(item) in cell, (path, item, cell)
        else:
            assert f"`{_spelled(default)}`" in cell, (path, default, cell)


def test_committed_schema_file_is_current() -> None:
    committed = json.loads((ROOT / "docs" / "checks.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "regenerate: prober schema > docs/checks.schema.json"


def test_schema_is_valid_draft_2020_12_and_accepts_the_example() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load((ROOT / "checks.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(example)


def test_schema_rejects_an_unknown_key() -> None:
    doc = yaml.safe_load((ROOT / "checks.yaml").read_text(encoding="utf-8"))
    doc["checks"][0]["timout"] = "2s"
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(doc))
    assert any("timout" in e.message for e in errors)


def test_package_example_is_a_byte_identical_copy() -> None:
    repo = (ROOT / "checks.yaml").read_bytes()
    assert (ROOT / "prober" / "examples" / "checks.yaml").read_bytes() == repo
    assert example_text().encode("utf-8") == repo


def test_example_loads_with_the_demo_components() -> None:
    config = load_config(ROOT / "checks.yaml")
    ids = [c.id for c in config.components]
    assert ids == [
        "platform-api",
        "user-auth",
        "session-management",
        "machine-auth",
        "scim",
        "dashboard",
        "account-portal",
        "b2b-saas",
        "billing",
        "webhooks",
        "email-delivery",
        "sms-delivery",
    ]
    groups = {c.id: c.group for c in config.components}
    assert groups["scim"] == "Core" and groups["billing"] == "Product"
    assert groups["sms-delivery"] == "Delivery"
    assert [c.id for c in config.checks] == [f"{i}-health" for i in ids]
    for check in config.checks:
        assert check.url == f"http://127.0.0.1:8081/{check.component}/health"
        assert (check.interval, check.timeout, check.requests_per_round) == (5.0, 2.0, 10)
        assert check.headers == ()
    assert len(config.maintenances) == 1 and config.maintenances[0].weekly is not None
    text = (ROOT / "checks.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./docs/checks.schema.json"
    assert "${" in text  # the commented-out header shows ${VAR} use
