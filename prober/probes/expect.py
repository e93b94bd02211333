"""Judge an HTTP response against a check's Expectations: pure functions, no I/O.

Order: status first (an unexpected 5xx is http_5xx, any other unexpected code is
unexpected_status), then body substrings, regexes and JSON values (assertion), then
latency. Each failure carries a short human explanation in the style of
"status 503, expected 200-299".
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from prober.config.model import Expectations, JsonExpectation, StatusRange
from prober.probes.result import Reason

_MISSING = object()
_SHOWN = 60  # characters of a target-supplied value shown in a detail


def expected_codes(ranges: Sequence[StatusRange]) -> str:
    return ", ".join(str(r) for r in ranges)


def check_status(code: int, expect: Expectations) -> tuple[Reason, str] | None:
    if any(code in r for r in expect.status):
        return None
    reason = Reason.HTTP_5XX if 500 <= code <= 599 else Reason.UNEXPECTED_STATUS
    return reason, f"status {code}, expected {expected_codes(expect.status)}"


def needs_body(expect: Expectations) -> bool:
    return bool(expect.body_contains or expect.body_regex or expect.json)


def check_body(body: bytes, charset: str | None, expect: Expectations) -> str | None:
    """The first failed body assertion's explanation, or None when all hold."""
    if expect.body_contains or expect.body_regex:
        text = _decode(body, charset)
        for needle in expect.body_contains:
            if needle not in text:
                return f"body does not contain {_show(needle)}"
        for pattern in expect.body_regex:
            if pattern.search(text) is None:
                return f"body does not match /{pattern.pattern}/"
    if expect.json:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "body is not valid JSON"
        for item in expect.json:
            failure = _check_json(doc, item)
            if failure:
                return failure
    return None


def check_latency(duration: float, expect: Expectations) -> str | None:
    limit = expect.max_latency
    if limit is None or duration <= limit:
        return None
    return f"latency {_ms(duration)}, expected at most {_ms(limit)}"


def _check_json(doc: object, item: JsonExpectation) -> str | None:
    value = json_lookup(doc, item.path)
    if value is _MISSING:
        return f"json {item.path}: missing, expected {_show_json(item.equals)}"
    if not json_equal(value, item.equals):
        return f"json {item.path}: got {_show_json(value)}, expected {_show_json(item.equals)}"
    return None


def json_lookup(doc: object, path: str) -> object:
    """Follow a dotted path (`data.items.0.state`); list steps are integer indexes."""
    node = doc
    for step in path.split(".") if path else ():
        if isinstance(node, dict):
            if step not in node:
                return _MISSING
            node = node[step]
        elif isinstance(node, list):
            try:
                index = int(step)
            except ValueError:
                return _MISSING
            if not -len(node) <= index < len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


def json_equal(a: object, b: object) -> bool:
    """JSON equality: true is not 1, 1 equals 1.0, containers compare element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _show(text: str) -> str:
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _show_json(value: object) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms"
