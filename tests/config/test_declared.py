"""Each setting is declared once (prober/config/declared*.py); the reader, the JSON Schema
and the key tables of docs/CONFIGURATION.md follow that one declaration."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from prober.config import (
    declared,
    declared_sections,
    declared_top,
    docgen,
    json_schema,
    parse_config,
)
from prober.config.declare import Key, find, spelled
from prober.config.durations import format_duration
from prober.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _base() -> dict[str, Any]:
    return {
        "components": [{"id": "api", "name": "API"}],
        "checks": [{"id": "api-health", "component": "api", "url": "https://api.example.com/"}],
    }


def _place(section: str, key: str, value: Any) -> tuple[dict[str, Any], str]:
    """A minimal file with `key` of `section` set to `value`, and the key's path."""
    doc = _base()
    check = doc["checks"][0]
    if section == "status":
        doc["status"] = {key: value}
        return doc, f"status.{key}"
    if section == "check":
        check[key] = value
        if key == "timeout":
            check["interval"] = "1d"  # a timeout must be below the interval
        return doc, f"checks[0].{key}"
    if section == "expect":
        check["expect"] = {key: value}
        return doc, f"checks[0].expect.{key}"
    if section in ("page", "incidents"):
        doc[section] = {key: value}
        return doc, f"{section}.{key}"
    if section == "network":
        other = {"interval": "1h"} if key == "timeout" else {"timeout": "100ms"}
        doc["network"] = {"canaries": ["https://example.net/"], key: value, **other}
        return doc, f"network.{key}"
    if section == "webhook":
        doc["webhooks"] = [{"id": "hook", "url": "https://hooks.example.com/", key: value}]
        return doc, f"webhooks[0].{key}"
    if section == "traffic":
        doc["components"][0]["traffic"] = {
            "prometheus": "http://127.0.0.1:9090",
            "ratio": "vector(0)",
            "requests": "vector(1)",
            key: value,
        }
        return doc, f"components[0].traffic.{key}"
    assert section == "weekly"
    weekly = {"days": ["sun"], "start": "02:00", "duration": "1h", key: value}
    doc["maintenances"] = [{"id": "m", "name": "M", "components": ["api"], "weekly": weekly}]
    return doc, f"maintenances[0].weekly.{key}"


SECTIONS: dict[str, tuple[Key, ...]] = {
    "status": declared.STATUS,
    "check": declared.CHECK_SETTINGS,
    "expect": declared.EXPECT,
    "page": declared_sections.PAGE,
    "incidents": declared_sections.INCIDENTS,
    "network": declared_sections.NETWORK,
    "webhook": declared_sections.WEBHOOK,
    "traffic": declared_sections.TRAFFIC,
    "weekly": declared_sections.WEEKLY,
}
BOUNDED = [
    pytest.param(section, key, id=f"{section}.{key.name}")
    for section, keys in SECTIONS.items()
    for key in keys
    if key.low is not None and key.high is not None
]


def _written(key: Key, value: float) -> Any:
    if key.kind == "duration":
        return format_duration(value)
    return int(value) if key.kind in ("integer", "size") else value


def _step(key: Key) -> float:
    return {"duration": 0.001, "number": 0.5}.get(key.kind, 1)


def _parse(doc: dict[str, Any]) -> object:
    return parse_config(yaml.safe_dump(doc, sort_keys=False), "t.yaml", {})


def _reader_accepts(doc: dict[str, Any]) -> bool:
    try:
        _parse(doc)
    except ConfigError:
        return False
    return True


def _schema_accepts(doc: dict[str, Any]) -> bool:
    return not list(jsonschema.Draft202012Validator(json_schema()).iter_errors(doc))


@pytest.mark.parametrize(("section", "key"), BOUNDED)
def test_the_reader_enforces_the_declared_bounds(section: str, key: Key) -> None:
    assert key.low is not None and key.high is not None
    for inside in (key.low, key.high):
        doc, _ = _place(section, key.name, _written(key, inside))
        assert _reader_accepts(doc), (key.name, inside)
    outside = [key.high + _step(key)]
    if key.low - _step(key) >= 0:
        outside.append(key.low - _step(key))
    for value in outside:
        doc, path = _place(section, key.name, _written(key, value))
        with pytest.raises(ConfigError) as err:
            _parse(doc)
        (issue,) = err.value.issues
        assert issue.path == path and "out of range" in issue.message, str(issue)
        assert issue.line > 0


@pytest.mark.parametrize(
    ("section", "key"), [p for p in BOUNDED if p.values[1].kind in ("integer", "number")]
)
def test_the_schema_has_the_readers_bounds(section: str, key: Key) -> None:
    """The places disagreed (failing_rounds_for_major: a maximum in the reader, none in
    the schema); both now come from one declaration."""
    assert key.low is not None and key.high is not None
    for value, ok in ((key.low, True), (key.high, True), (key.high + _step(key), False)):
        doc, _ = _place(section, key.name, _written(key, value))
        assert _schema_accepts(doc) is ok is _reader_accepts(doc), (key.name, value)


def test_failing_rounds_for_major_above_1000_is_refused_by_both() -> None:
    doc, _ = _place("status", "failing_rounds_for_major", 1001)
    assert not _schema_accepts(doc)
    with pytest.raises(ConfigError, match=r"1001 is out of range \(expected 1 to 1000\)"):
        _parse(doc)


@pytest.mark.parametrize("section", ["status", "check", "expect", "page", "incidents"])
def test_writing_a_declared_default_changes_nothing(section: str) -> None:
    """The declared defaults are the model's: a file that spells one out reads the same."""
    bare = _parse(_base())
    for key in SECTIONS[section]:
        if key.default is None or key.kind in ("mapping", "list") or key.name == "timeout":
            continue  # a check's timeout defaults to min(5s, 80% of the interval)
        doc, _ = _place(section, key.name, spelled(key, key.default))
        assert _parse(doc) == bare, key.name


def test_the_committed_schema_and_key_tables_are_current() -> None:
    assert docgen.main(["--check", "--root", str(ROOT)]) == 0, (
        "regenerate: python -m prober.config.docgen"
    )


def test_a_stale_key_table_is_found_and_regenerated(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    for name in ("CONFIGURATION.md", "checks.schema.json"):
        shutil.copy(ROOT / "docs" / name, tmp_path / "docs" / name)
    doc = tmp_path / "docs" / "CONFIGURATION.md"
    text = doc.read_text(encoding="utf-8")
    row = "| `status.failing_rounds_for_major` | integer | `2` |"
    assert row in text
    doc.write_text(text.replace(row, "| `status.failing_rounds_for_major` | integer | `3` |"))
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 1
    assert docgen.main(["--root", str(tmp_path)]) == 0
    assert doc.read_text(encoding="utf-8") == text
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 0


def test_every_table_marker_is_needed_and_known() -> None:
    text = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key table <!-- keys:gone -->"):
        docgen.render_doc(text.replace("<!-- keys:network -->", "<!-- keys:gone -->"))
    with pytest.raises(ValueError, match=r"markers missing or repeated: \['network'\]"):
        docgen.render_doc(text.replace("<!-- keys:network -->", "<!-- network -->"))


def _full() -> dict[str, Any]:
    """A valid file with every mapping that has required keys, holding only those (and
    the optional keys that hold the nested ones: traffic, expect, weekly)."""
    doc = _base()
    doc["components"][0]["traffic"] = {
        "prometheus": "http://127.0.0.1:9090",
        "ratio": "vector(0)",
        "requests": "vector(1)",
    }
    doc["checks"][0]["expect"] = {"json": [{"path": "data.state", "equals": "up"}]}
    weekly = {"days": ["sun"], "start": "02:00", "duration": "1h"}
    doc["maintenances"] = [{"id": "m", "name": "M", "components": ["api"], "weekly": weekly}]
    doc["webhooks"] = [{"id": "hook", "url": "https://hooks.example.com/"}]
    doc["incident_templates"] = [{"id": "t", "name": "T", "body": "B"}]
    return doc


_HOLDERS: list[tuple[str, tuple[Key, ...], tuple[Any, ...]]] = [
    ("", declared_top.TOP, ()),
    ("components[0]", declared_sections.COMPONENT, ("components", 0)),
    ("components[0].traffic", declared_sections.TRAFFIC, ("components", 0, "traffic")),
    ("checks[0]", declared.CHECK, ("checks", 0)),
    (
        "checks[0].expect.json[0]",
        find(declared.EXPECT, "json").items,
        ("checks", 0, "expect", "json", 0),
    ),
    ("maintenances[0]", declared_sections.MAINTENANCE, ("maintenances", 0)),
    ("maintenances[0].weekly", declared_sections.WEEKLY, ("maintenances", 0, "weekly")),
    ("webhooks[0]", declared_sections.WEBHOOK, ("webhooks", 0)),
    ("incident_templates[0]", declared_sections.INCIDENT_TEMPLATE, ("incident_templates", 0)),
]
REQUIRED = [
    pytest.param(prefix, key.name, where, id=f"{prefix or 'top'}.{key.name}")
    for prefix, keys, where in _HOLDERS
    for key in keys
    if key.required
]


def test_the_full_file_is_valid_for_reader_and_schema() -> None:
    assert _reader_accepts(_full()) and _schema_accepts(_full())


@pytest.mark.parametrize(("prefix", "name", "where"), REQUIRED)
def test_a_declared_required_key_is_required_by_reader_and_schema(
    prefix: str, name: str, where: tuple[Any, ...]
) -> None:
    doc = _full()
    holder: Any = doc
    for step in where:
        holder = holder[step]
    del holder[name]
    assert not _schema_accepts(doc)
    with pytest.raises(ConfigError) as err:
        _parse(doc)
    path = f"{prefix}.{name}" if prefix else name
    assert any(
        i.path == path and i.message.startswith("required key is missing") and i.line > 0
        for i in err.value.issues
    ), [str(i) for i in err.value.issues]


ENUMS = [
    pytest.param(section, key, id=f"{section}.{key.name}")
    for section, keys in SECTIONS.items()
    for key in keys
    if key.kind == "enum"
]


@pytest.mark.parametrize(("section", "key"), ENUMS)
def test_reader_and_schema_accept_exactly_the_declared_choices(section: str, key: Key) -> None:
    spellings = [*key.choices, *([c.lower() for c in key.choices] if key.upper else [])]
    for choice in spellings:
        doc, _ = _place(section, key.name, choice)
        assert _reader_accepts(doc) and _schema_accepts(doc), choice
    doc, path = _place(section, key.name, "bogus")
    assert not _schema_accepts(doc)
    with pytest.raises(ConfigError) as err:
        _parse(doc)
    (issue,) = err.value.issues
    assert issue.path == path and "'bogus'" in issue.message
    assert ", ".join(key.choices) in issue.message  # what would be right
