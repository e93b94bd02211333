"""The `traffic:` block of a component: a real-traffic 5xx share from Prometheus.

Each PromQL query is parsed by a real PromQL parser (promql-parser, the Rust parser of
GreptimeDB's promql-parser crate) while the file loads, so `prober check-config` reports a
bad query as FILE:LINE:COL at the character where the parser gave up. promql-parser's errors
carry no position; `error_offset` finds it as the shortest prefix of the query that fails
with the same message as the whole.
"""

from __future__ import annotations

import promql_parser
import yaml

from prober.config import declared_sections, fields, keys
from prober.config.model import TrafficSignal
from prober.config.reader import Reader
from prober.errors import ConfigIssue


def parse_error(query: str) -> str | None:
    """The PromQL parser's message for `query`, or None when it parses."""
    try:
        promql_parser.parse(query)
    except ValueError as exc:
        return str(exc) or "invalid PromQL"
    return None


def error_offset(query: str, message: str) -> int:
    """0-based offset in `query` of the character where parsing first fails as a whole."""
    for end in range(1, len(query) + 1):
        if query[end - 1].isspace():
            continue
        if parse_error(query[:end]) == message:
            return end - 1
    return max(0, len(query.rstrip()) - 1)


def _block_position(lines: list[str], node: yaml.ScalarNode, offset: int) -> tuple[int, int] | None:
    """Line and column of value character `offset` of a block scalar (`|`, `>`, `>-`...),
    found by walking the raw source lines after the indicator beside the value: literal
    lines keep their breaks, folded ones turn a break into a space (or drop it before a
    blank line). Works from line numbers alone (libyaml's marks carry no buffer). None when
    the source text is not at hand."""
    value = node.value
    first = node.start_mark.line + 1  # the body starts on the line after the indicator
    last = node.end_mark.line if node.end_mark is not None else len(lines) - 1
    if first >= len(lines):
        return None
    i = 0
    indent: int | None = None
    for line in range(first, min(last + 1, len(lines))):
        raw = lines[line]
        if raw.strip() and indent is None:
            indent = len(raw) - len(raw.lstrip(" "))
        skip = min(indent or 0, len(raw) - len(raw.lstrip(" ")))
        for col in range(skip, len(raw)):
            if i == offset:
                return line + 1, col + 1
            if i < len(value) and raw[col] == value[i]:
                i += 1
        if i == offset and raw.strip():
            return line + 1, len(raw) + 1
        if i < len(value) and value[i] in " \n":
            i += 1  # the line break, kept or folded into a space
    return None


def _position(r: Reader, node: yaml.ScalarNode, offset: int) -> tuple[int, int]:
    """1-based line and column in the file of character `offset` of a scalar's value."""
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if node.style in ("|", ">"):
        found = _block_position(r.lines, node, offset)
        return found if found is not None else (line, col)
    quoted = 1 if node.style in ("'", '"') else 0
    return line, col + quoted + offset


def read_query(r: Reader, node: yaml.Node, path: str) -> str | None:
    query = r.string(node, path, nonempty=True, secret=False)
    if query is None:
        return None
    message = parse_error(query)
    if message is None:
        return query
    assert isinstance(node, yaml.ScalarNode)
    line, col = _position(r, node, error_offset(query, message))
    r.issues.append(
        ConfigIssue(r.source, line, col, path, f"invalid PromQL: {message} (promql-parser)")
    )
    return None


_READERS = fields.readers(declared_sections.TRAFFIC, {"ratio": read_query, "requests": read_query})


def read_traffic(r: Reader, node: yaml.Node, path: str) -> TrafficSignal | None:
    f = r.mapping(node, path, keys.TRAFFIC)
    if f is None:
        return None
    values = fields.read_required(r, _READERS, declared_sections.TRAFFIC, f, node, path)
    for key in ("interval", "min_request_rate", "mode"):
        if key in f:
            values[key] = _READERS[key](r, f[key], f"{path}.{key}")
    if any(v is None for v in values.values()):
        return None
    return TrafficSignal(**values)
