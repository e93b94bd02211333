"""The `checks:` section and the check settings that `defaults:` shares with it.

A check's settings are read into a `Settings` dict (value plus where it was written), the
check's own settings are laid over the defaults (`headers`, `expect` and `tls` merge key by
key), and the result becomes a `Check`. Cross-field rules (timeout below interval) are
checked on the merged result and reported where the offending value was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from prober.config import declared, fields, keys, network
from prober.config.durations import format_duration as fmt
from prober.config.model import (
    Check,
    Expectations,
    JsonExpectation,
    StatusRange,
    TLSOptions,
)
from prober.config.reader import Reader

_RANGE = re.compile(r"([1-5][0-9][0-9])(?:\s*-\s*([1-5][0-9][0-9]))?|([1-5])xx")


@dataclass(frozen=True)
class Setting:
    value: Any
    node: yaml.Node
    path: str


Settings = dict[str, Setting]


def _status_range(r: Reader, node: yaml.Node, path: str) -> StatusRange | None:
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    m = _RANGE.fullmatch(text.strip()) if isinstance(text, str) else None
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int" and m:
        code = int(text or 0)
        if 100 <= code <= 599:
            return StatusRange(code, code)
    elif m and isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        if m.group(3):
            low = int(m.group(3)) * 100
            return StatusRange(low, low + 99)
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if low <= high:
            return StatusRange(low, high)
        r.error(node, path, f'status range {text!r} is reversed (write "{high}-{low}")')
        return None
    r.error(
        node,
        path,
        f"invalid status {text if text is not None else 'value'!s} (expected"
        ' a code such as 200, a range such as "200-299", or "2xx"; '
        "codes are 100 to 599)",
    )
    return None


def _json_expectation(r: Reader, node: yaml.Node, path: str) -> JsonExpectation | None:
    f = r.mapping(node, path, keys.JSON_EXPECT)
    if f is None:
        return None
    path_node = r.require(f, node, path, "path")
    equals = r.require(f, node, path, "equals") if "equals" not in f else f["equals"]
    json_path = r.string(path_node, f"{path}.path") if path_node is not None else None
    if json_path is not None and (not json_path or ".." in json_path):
        r.error(
            path_node or node,
            f"{path}.path",
            f"invalid JSON path {json_path!r} (use dotted keys such as data.items.0.state)",
        )
        json_path = None
    if equals is None:
        return None
    ok, value = fields.plain_value(r, equals, f"{path}.equals")
    if json_path is None or not ok:
        return None
    return JsonExpectation(json_path, value)


def _list_of(
    read: Callable[[Reader, yaml.Node, str], Any],
) -> Callable[[Reader, yaml.Node, str], tuple[Any, ...] | None]:
    def run(r: Reader, node: yaml.Node, path: str) -> tuple[Any, ...] | None:
        items = fields.strings(r, node, path)
        if items is None:
            return None
        multi = isinstance(node, yaml.SequenceNode)
        out = [read(r, n, f"{path}[{i}]" if multi else path) for i, n in enumerate(items)]
        return None if any(v is None for v in out) else tuple(out)

    return run


def _non_empty(
    r: Reader, node: yaml.Node, path: str, value: tuple[Any, ...] | None
) -> tuple[Any, ...] | None:
    if value == ():
        r.error(
            node,
            path,
            "an empty list accepts no status at all; list codes or ranges "
            '(e.g. [200, "300-399"]) or leave status out for 200-299',
        )
        return None
    return value


_EXPECT_READERS = fields.readers(
    declared.EXPECT,
    {
        "status": lambda r, n, p: _non_empty(r, n, p, _list_of(_status_range)(r, n, p)),
        "body_contains": _list_of(lambda r, n, p: r.string(n, p)),
        "body_regex": _list_of(fields.regex),
        "json": lambda r, n, p: (lambda v: None if v is None else tuple(v))(
            r.each(n, p, lambda item, ip: _json_expectation(r, item, ip))
        ),
    },
)

_TLS_READERS = fields.readers(declared.TLS)


def _sub(
    readers: dict[str, Callable[[Reader, yaml.Node, str], Any]], allowed: tuple[str, ...]
) -> Callable[[Reader, yaml.Node, str], Settings | None]:
    def run(r: Reader, node: yaml.Node, path: str) -> Settings | None:
        f = r.mapping(node, path, allowed)
        if f is None:
            return None
        out: Settings = {}
        for key, value_node in f.items():
            value = readers[key](r, value_node, f"{path}.{key}")
            if value is not None:
                out[key] = Setting(value, value_node, f"{path}.{key}")
        return out

    return run


_SETTING_READERS = fields.readers(
    declared.CHECK_SETTINGS,
    {
        "headers": fields.headers,
        "expect": _sub(_EXPECT_READERS, keys.EXPECT),
        "tls": _sub(_TLS_READERS, keys.TLS),
        "egress": network.egress,
        "proxy": network.proxy,
    },
)


def read_settings(r: Reader, f: dict[str, yaml.Node], path: str) -> Settings:
    """The check settings present in mapping `f` (of a check or of defaults)."""
    out: Settings = {}
    for key in keys.CHECK_SETTINGS:
        if key in f:
            where = f"{path}.{key}" if path else key
            value = _SETTING_READERS[key](r, f[key], where)
            if value is not None:
                out[key] = Setting(value, f[key], where)
    return out


def merge(defaults: Settings, own: Settings) -> Settings:
    out = dict(defaults)
    for key, setting in own.items():
        base = out.get(key)
        if base is not None and key in ("headers", "expect", "tls"):
            out[key] = Setting({**base.value, **setting.value}, setting.node, setting.path)
        else:
            out[key] = setting
    return out


TIMEOUT_SHARE = 0.8  # an unset timeout is the lesser of Check.timeout and 80% of the interval


def default_timeout(interval: float) -> float:
    """The timeout of a check that sets none (neither itself nor in defaults)."""
    return min(Check.timeout, round(interval * TIMEOUT_SHARE, 3))


def _timing_ok(r: Reader, s: Settings, own: Settings, reported: set[str]) -> bool:
    interval = s["interval"].value if "interval" in s else Check.interval
    if "timeout" not in s:
        return True  # default_timeout is always below the interval
    timeout = s["timeout"].value
    if timeout < interval:
        return True
    where = own.get("timeout") or own.get("interval") or s.get("timeout") or s.get("interval")
    if where is None or where.path in reported:
        return False
    reported.add(where.path)
    path = where.path.rsplit(".", 1)[0] + ".timeout"
    r.error(
        where.node,
        path,
        f"timeout {fmt(timeout)} must be below the interval "
        f"{fmt(interval)} (e.g. timeout: {fmt(interval / 2)})",
    )
    return False


def build_check(
    r: Reader,
    ident: str,
    component: str,
    url: str,
    s: Settings,
    own: Settings,
    line: int,
    reported: set[str],
    expanded: frozenset[str] = frozenset(),
    header_expanded: frozenset[str] = frozenset(),
) -> Check | None:
    """The Check for merged settings `s`; `expanded` is what ${VAR}s in the check and in
    the defaults it inherits expanded to (its secrets), `header_expanded` the part of it
    written in headers."""
    if not _timing_ok(r, s, own, reported):
        return None
    tls = {k: v.value for k, v in s["tls"].value.items()} if "tls" in s else {}
    if "key_file" in tls and "cert_file" not in tls:
        where = s["tls"]
        r.error(
            where.value["key_file"].node,
            f"{where.path}.key_file",
            "key_file needs cert_file (give the client certificate too)",
        )
        return None
    expect = {k: v.value for k, v in s["expect"].value.items()} if "expect" in s else {}
    hdrs = tuple(s["headers"].value.values()) if "headers" in s else ()
    v = {k: st.value for k, st in s.items() if k not in ("tls", "expect", "headers")}
    if "timeout" not in v:
        v["timeout"] = default_timeout(v.get("interval", Check.interval))
    if "max_body_size" in v:
        v["max_body_bytes"] = v.pop("max_body_size")
    secret_headers = frozenset(
        name.lower() for name, value in hdrs if any(x and x in value for x in header_expanded)
    )
    return Check(
        id=ident,
        component=component,
        url=url,
        headers=hdrs,
        expect=Expectations(**expect),
        tls=TLSOptions(**tls),
        line=line,
        expanded=expanded,
        secret_headers=secret_headers,
        **v,
    )
