"""How a checks.yaml setting is declared: `Key` (name, kind, default, bounds, meaning).

Every setting is declared once, in prober/config/declared.py. From that one declaration
come the keys each mapping accepts (prober/config/keys.py), the bounds and choices the
reader enforces (`fields.read_value`), the JSON Schema (prober/config/schema.py) and the
key tables of docs/CONFIGURATION.md (prober/config/docgen.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prober.config.durations import format_duration

Schema = dict[str, Any]

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"

# Kinds the reader reads alone (fields.read_value); "custom" keys have a reader of their
# own in the section's module and declare their `schema` and `type_doc`.
_SCALAR_KINDS: dict[str, tuple[Schema, str]] = {
    "string": ({"type": "string"}, "string"),
    "path": ({"type": "string"}, "path"),
    "id": ({"type": "string", "pattern": ID_PATTERN}, "id"),
    "url": ({"$ref": "#/$defs/url"}, "URL"),
    "duration": ({"$ref": "#/$defs/duration"}, "duration"),
    "size": ({"$ref": "#/$defs/size"}, "size"),
    "integer": ({"type": "integer"}, "integer"),
    "number": ({"type": "number"}, "number"),
    "fraction": ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, "fraction"),
    "boolean": ({"type": "boolean"}, "boolean"),
    "time_zone": ({"type": "string"}, "IANA time zone"),
    "enum": ({}, ""),
}
KINDS = (*_SCALAR_KINDS, "custom", "mapping", "list")


@dataclass(frozen=True)
class Key:
    """One setting. `default` is the value a missing key takes, in the model's units
    (seconds, bytes), None when there is none; `low`/`high` bound numbers, durations
    (seconds) and sizes (bytes), inclusive. `keys` are the keys of a mapping, `items` the
    keys of each mapping in a list."""

    name: str
    kind: str
    doc: str
    default: Any = None
    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    what: str = ""  # an enum's noun in errors: "unknown {what} 'x' (use one of: ...)"
    upper: bool = False  # an enum matched case-insensitively, stored upper-case
    secret: bool = True  # a string whose ${VAR} expansions are secrets
    nonempty: bool = False  # a string that must not be blank
    schema: Schema | None = None  # a custom kind's schema
    type_doc: str = ""  # the docs' Type cell, when the kind's word does not say it
    default_doc: str = ""  # the docs' Default cell, when the default value does not say it
    keys: tuple[Key, ...] = ()
    items: tuple[Key, ...] = ()
    required_keys: tuple[str, ...] = ()  # of `keys`/`items`, also in each Key's `required`

    def __post_init__(self) -> None:
        assert self.kind in KINDS, (self.name, self.kind)
        assert self.kind != "enum" or self.choices, self.name
        assert self.kind != "custom" or self.schema is not None, self.name


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(k.name for k in keys)


def find(keys: tuple[Key, ...], name: str) -> Key:
    for key in keys:
        if key.name == name:
            return key
    raise KeyError(name)


def format_size(size: float) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{int(size // factor)}{unit}"
    return f"{int(size)}B"


def spelled(key: Key, value: Any) -> Any:
    """`value` (model units) as checks.yaml spells it: durations and sizes as text."""
    if key.kind == "duration":
        return format_duration(value)
    if key.kind == "size":
        return format_size(value)
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def bounds_text(key: Key) -> str:
    """'1s to 1d' for a bounded number, duration or size; '' when unbounded."""
    if key.low is None or key.high is None:
        return ""
    if key.kind == "duration":
        return f"{format_duration(key.low)} to {format_duration(key.high)}"
    if key.kind == "size":
        return f"{format_size(key.low)} to {format_size(key.high)}"
    return f"{_number(key.low)} to {_number(key.high)}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def schema_of(key: Key) -> Schema:
    """The JSON Schema of one key (its description is the docs' meaning)."""
    if key.kind == "mapping":
        out = object_schema(key.keys)
    elif key.kind == "list" and key.items:
        out = {"type": "array", "items": object_schema(key.items)}
    elif key.kind == "enum" and key.upper:  # matched case-insensitively, as the reader does
        any_case = "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in v) for v in key.choices)
        out = {
            "anyOf": [{"enum": list(key.choices)}, {"type": "string", "pattern": f"^({any_case})$"}]
        }
    elif key.kind == "enum":
        out = {"enum": list(key.choices)}
    elif key.kind in _SCALAR_KINDS:
        out = dict(_SCALAR_KINDS[key.kind][0])
        if key.kind in ("integer", "number"):
            if key.low is not None:
                out["minimum"] = int(key.low) if key.kind == "integer" else key.low
            if key.high is not None:
                out["maximum"] = int(key.high) if key.kind == "integer" else key.high
    else:
        assert key.schema is not None, key.name
        out = dict(key.schema)
    if key.schema is not None and key.kind in ("mapping", "list"):
        out.update(key.schema)
    out["description"] = meaning(key)
    if key.default is not None:
        out["default"] = spelled(key, key.default)
    return out


def object_schema(keys: tuple[Key, ...]) -> Schema:
    out: Schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k.name: schema_of(k) for k in keys},
    }
    required = [k.name for k in keys if k.required]
    if required:
        out["required"] = required
    return out


def meaning(key: Key) -> str:
    """The docs' Meaning cell: the declared text and the declared bounds."""
    span = bounds_text(key)
    return f"{key.doc} Range: {span}." if span else key.doc


def type_cell(key: Key) -> str:
    word = key.type_doc or _kind_word(key)
    return f"{word}, required" if key.required else word


def _kind_word(key: Key) -> str:
    if key.kind == "enum":
        quoted = [f"`{c}`" for c in key.choices]
        return " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]
    if key.kind in ("mapping", "list"):
        return key.kind
    return _SCALAR_KINDS[key.kind][1]


def default_cell(key: Key) -> str:
    if key.default_doc:
        return key.default_doc
    if key.required:
        return ""
    if key.default is None:
        return "none"
    value = spelled(key, key.default)
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, str) and not value:
        return json.dumps(value)
    return f"`{value}`"
