"""Readers for the value types checks.yaml shares across sections: ids, URLs, headers,
time zones, regexes and free JSON values. Each records issues on the Reader it gets."""

from __future__ import annotations

import re
import urllib.parse
import zoneinfo
from collections.abc import Callable
from functools import partial
from typing import Any

import yaml

from prober.config import keys
from prober.config import yamlnodes as yn
from prober.config.declare import Key
from prober.config.reader import Reader

_ID = re.compile(keys.ID_PATTERN)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def ident(r: Reader, node: yaml.Node, path: str) -> str | None:
    value = r.string(node, path, expand=False)
    if value is None:
        return None
    if not _ID.fullmatch(value):  # fullmatch: `$` alone lets a trailing newline through
        r.error(
            node,
            path,
            f"invalid id {value!r} (use 1 to 63 characters: lower-case "
            "letters, digits, - and _, starting with a letter or digit)",
        )
        return None
    return value


def url(r: Reader, node: yaml.Node, path: str) -> str | None:
    """An absolute http(s) URL without credentials. The URL itself is never echoed: an
    expanded ${VAR} may hold a secret."""
    value = r.string(node, path)
    if value is None:
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        _ = parts.port
    except ValueError:
        r.error(node, path, "invalid URL (expected e.g. https://api.example.com/health)")
        return None
    if parts.scheme not in ("http", "https"):
        if parts.scheme:
            r.error(
                node, path, f"unsupported URL scheme {parts.scheme!r} (use http:// or https://)"
            )
        else:
            r.error(node, path, "URL has no scheme (use http:// or https://)")
        return None
    if parts.username is not None or parts.password is not None:
        r.error(
            node,
            path,
            "credentials in the URL (user:pass@) are not allowed (remove "
            "them and send a header instead, e.g. Authorization: "
            '"Basic ${PROBE_CREDENTIALS}")',
        )
        return None
    if not parts.hostname:
        r.error(node, path, "URL has no host (expected e.g. https://api.example.com/health)")
        return None
    if any(c in value for c in " \r\n\t"):
        r.error(node, path, "URL contains whitespace (percent-encode it, e.g. %20)")
        return None
    return value


def headers(r: Reader, node: yaml.Node, path: str) -> dict[str, tuple[str, str]] | None:
    """Header name -> value, keyed by lower-cased name (value keeps the name's spelling)."""
    fields = r.mapping(node, path, None)
    if fields is None:
        return None
    out: dict[str, tuple[str, str]] = {}
    for name, value_node in fields.items():
        where = f"{path}.{name}"
        if not _HEADER_NAME.fullmatch(name):
            r.error(
                value_node,
                where,
                f"invalid header name {name!r} (use letters, digits and - such as X-Api-Key)",
            )
            continue
        if name.lower() in out:
            r.error(
                value_node,
                where,
                f"header {name!r} is given twice (header names are case-insensitive)",
            )
            continue
        value = r.string(value_node, where)
        if value is None:
            continue
        if any(c in value for c in "\r\n\0"):
            r.error(value_node, where, "header value contains a line break or NUL (remove it)")
            continue
        out[name.lower()] = (name, value)
    return out


def time_zone(r: Reader, node: yaml.Node, path: str) -> str | None:
    value = r.string(node, path)
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.error(
            node,
            path,
            f'unknown time zone {value!r} (use an IANA name such as "UTC" or "Europe/Berlin")',
        )
        return None
    return value


def regex(r: Reader, node: yaml.Node, path: str) -> re.Pattern[str] | None:
    value = r.string(node, path)
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        r.error(
            node,
            path,
            f"invalid regular expression: {exc} (escape special "
            "characters with \\ or check the brackets)",
        )
        return None


def one_of(
    r: Reader,
    node: yaml.Node,
    path: str,
    choices: tuple[str, ...],
    what: str,
    *,
    upper: bool = False,
) -> str | None:
    value = r.string(node, path)
    if value is None:
        return None
    key = value.upper() if upper else value
    if key not in choices:
        r.error(node, path, f"unknown {what} {value!r} (use one of: {', '.join(choices)})")
        return None
    return key


def strings(r: Reader, node: yaml.Node, path: str) -> list[yaml.Node] | None:
    """A single scalar or a list: the nodes to read as items."""
    if isinstance(node, yaml.SequenceNode):
        return r.sequence(node, path)
    return [node]


def plain_value(r: Reader, node: yaml.Node, path: str) -> tuple[bool, object]:
    """Any JSON-like value (for json[].equals). Returns (ok, value). Aliases that recurse or
    expand into a huge value (a "billion laughs" document) are refused."""
    try:
        return _plain(r, node, path, 0, [_MAX_NODES])
    except _TooBig:
        r.error(
            node,
            path,
            f"value is nested deeper than {_MAX_DEPTH} levels or has more "
            f"than {_MAX_NODES} items (a recursive alias?)",
        )
        return False, None


_MAX_DEPTH = 32
_MAX_NODES = 10_000


class _TooBig(Exception):
    pass


def _plain(
    r: Reader, node: yaml.Node, path: str, depth: int, budget: list[int]
) -> tuple[bool, object]:
    budget[0] -= 1
    if depth > _MAX_DEPTH or budget[0] < 0:
        raise _TooBig
    if node.tag not in yn.PLAIN_TAGS:
        r.mapping(node, path, None)  # reports the tag
        return False, None
    if isinstance(node, yaml.SequenceNode):
        items = [_plain(r, n, f"{path}[{i}]", depth + 1, budget) for i, n in enumerate(node.value)]
        return all(ok for ok, _ in items), [v for _, v in items]
    if isinstance(node, yaml.MappingNode):
        fields = r.mapping(node, path, None) or {}
        pairs = {k: _plain(r, n, f"{path}.{k}", depth + 1, budget) for k, n in fields.items()}
        return all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()}
    if node.tag == yn.NULL:
        return True, None
    if node.tag == yn.BOOL:
        ok = r.boolean(node, path)
        return ok is not None, ok
    if node.tag == yn.INT:
        if re.fullmatch(r"[-+]?[0-9]+", node.value):
            return True, int(node.value)
        r.error(node, path, f"write {node.value} as a decimal integer or quote it")
        return False, None
    if node.tag == yn.FLOAT:
        number = r.number(node, path, float("-inf"), float("inf"))
        return number is not None, number
    text = r.string(node, path)
    return text is not None, text


def fraction(r: Reader, node: yaml.Node, path: str) -> float | None:
    """A number above 0 and at most 1."""
    value = r.number(node, path, float("-inf"), float("inf"))
    if value is not None and not 0.0 < value <= 1.0:
        r.error(
            node,
            path,
            f"{value:g} is out of range (expected a fraction above 0 and at "
            "most 1, such as 0.05 for 5%)",
        )
        return None
    return value


def read_value(r: Reader, key: Key, node: yaml.Node, path: str) -> Any:
    """The value of a declared key of a plain kind, within its declared bounds and choices;
    None after recording an issue. Keys of kind custom, mapping or list have readers of
    their own."""
    low, high = key.low, key.high
    match key.kind:
        case "string":
            return r.string(node, path, secret=key.secret, nonempty=key.nonempty)
        case "path":
            return r.string(node, path, secret=False)
        case "id":
            return ident(r, node, path)
        case "url":
            return url(r, node, path)
        case "duration":
            return r.duration(
                node, path, 0.0 if low is None else low, 7 * 86400.0 if high is None else high
            )
        case "size":
            assert low is not None and high is not None, key.name
            return r.size(node, path, int(low), int(high))
        case "integer":
            assert low is not None and high is not None, key.name
            return r.integer(node, path, int(low), int(high))
        case "number":
            assert low is not None and high is not None, key.name
            return r.number(node, path, low, high)
        case "fraction":
            return fraction(r, node, path)
        case "boolean":
            return r.boolean(node, path)
        case "time_zone":
            return time_zone(r, node, path)
        case "enum":
            return one_of(r, node, path, key.choices, key.what or "value", upper=key.upper)
    raise ValueError(f"{key.name}: kind {key.kind} has no generic reader")


Read = Callable[[Reader, yaml.Node, str], Any]


def readers(keys: tuple[Key, ...], custom: dict[str, Read] | None = None) -> dict[str, Read]:
    """A reader per declared key: `custom[name]` for the keys that have their own (every
    key of kind custom, mapping or list must), `read_value` for the rest."""
    custom = custom or {}
    unknown = set(custom) - {k.name for k in keys}
    assert not unknown, unknown
    out: dict[str, Read] = {}
    for key in keys:
        if key.name in custom:
            out[key.name] = custom[key.name]
        else:
            assert key.kind not in ("custom", "mapping", "list"), key.name
            out[key.name] = partial(_read_declared, key)
    return out


def read_required(
    r: Reader,
    readers: dict[str, Read],
    keys: tuple[Key, ...],
    f: dict[str, yaml.Node],
    node: yaml.Node,
    path: str,
) -> dict[str, Any]:
    """The declared-required keys of mapping `f` (of `node` at `path`), by name: each
    missing one is reported at the mapping, then each present one is read by `readers`;
    None for a missing or invalid value."""
    found = {k.name: r.require(f, node, path, k.name) for k in keys if k.required}
    return {
        name: None if n is None else readers[name](r, n, f"{path}.{name}")
        for name, n in found.items()
    }


def unread(r: Reader, node: yaml.Node, path: str) -> Any:
    """Stands for a key the section's reader reads itself (in context, not alone)."""
    raise AssertionError(f"{path} is read by its section")


def _read_declared(key: Key, r: Reader, node: yaml.Node, path: str) -> Any:
    return read_value(r, key, node, path)
