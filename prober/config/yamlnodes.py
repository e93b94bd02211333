"""YAML to a node tree with positions, refusing everything that is not plain data.

A `SafeLoader` subclass composes the document into PyYAML nodes (each carries its start
mark, so every value has a line and column) and never constructs Python objects: the
validator reads the nodes itself, which is how it sees duplicate keys, explicit tags and
YAML 1.1 booleans that a constructed dict would hide.
"""

from __future__ import annotations

import yaml

from prober.errors import ConfigIssue

TAG_PREFIX = "tag:yaml.org,2002:"
STR = TAG_PREFIX + "str"
INT = TAG_PREFIX + "int"
FLOAT = TAG_PREFIX + "float"
BOOL = TAG_PREFIX + "bool"
NULL = TAG_PREFIX + "null"
TIMESTAMP = TAG_PREFIX + "timestamp"
MERGE = TAG_PREFIX + "merge"
# Tags a checks.yaml may carry, explicit or implicit; anything else (!!python/..., !!binary,
# !!set, local !tags) is refused.
PLAIN_TAGS = frozenset(
    {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, TAG_PREFIX + "map", TAG_PREFIX + "seq"}
)
# Spellings that YAML 1.2 and JSON also read as booleans; the rest (yes, no, on, off) are
# YAML 1.1 surprises.
TRUE_FALSE = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}


# libyaml (C) when PyYAML has it: a 6.9 MB file took 61 s and 565 MB with the pure-Python
# loader. Both keep each node's line and column.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64  # nesting levels; a real checks.yaml needs about 6


class NodeLoader(_Base):  # type: ignore[misc,valid-type]
    """Composes documents into nodes with marks; used only through `compose`."""


def _too_deep(text: str, source: str) -> ConfigIssue | None:
    """The first collection nested deeper than MAX_DEPTH, from the event stream (flat:
    no recursion, so 500 levels of `[[[[` cannot exhaust the stack)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                return ConfigIssue(
                    source,
                    line,
                    col,
                    "",
                    f"nesting deeper than {MAX_DEPTH} "
                    "levels; a checks.yaml needs a handful (flatten this value)",
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
    return None


def compose(text: str, source: str) -> tuple[yaml.Node | None, list[ConfigIssue]]:
    """Parse `text` into one node tree, or return the syntax error as an issue."""
    try:
        deep = _too_deep(text, source)
    except yaml.MarkedYAMLError:
        deep = None  # reported, with its position, by the compose below
    if deep is not None:
        return None, [deep]
    loader = NodeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        msg = f"invalid YAML: {problem}{context}"
        return None, [ConfigIssue(source, line, col, "", msg)]
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error is marked
        return None, [ConfigIssue(source, 1, 1, "", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return node, []


def position(node: yaml.Node) -> tuple[int, int]:
    """1-based line and column where `node` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def describe(node: yaml.Node) -> str:
    """What a node is, in words, for 'expected X, got Y' messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag
    if tag == NULL:
        return "an empty value"
    if tag == BOOL:
        return f"the boolean {node.value}"
    if tag in (INT, FLOAT):
        return f"the number {node.value}"
    return f"the string {node.value!r}"
