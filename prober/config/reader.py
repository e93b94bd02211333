"""Typed reads of YAML nodes that record every problem as a ConfigIssue and carry on.

Each getter returns the value, or None after recording an issue at the node's line, so
that one pass over the file reports every error. String values get `${VAR}` expansion
here, per scalar, so an unset variable is reported where it is used, and every value a
`${VAR}` expanded to is recorded with its path: those are the config's secrets (see
`prober.config.secrets`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

import yaml

from prober.config import yamlnodes as yn
from prober.config.durations import format_duration, parse_duration, parse_size
from prober.errors import ConfigIssue

T = TypeVar("T")

_REF = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)\}|(\{[^}]*\}?))")
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def suggest(word: str, choices: Collection[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else the list of what is allowed."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "allowed: " + ", ".join(sorted(choices))


class Reader:
    """Collects issues for one file while the validator walks its nodes."""

    def __init__(self, source: str, env: Mapping[str, str], text: str = "") -> None:
        self.source = source
        self.env = env
        self.lines = text.split("\n")  # the raw file, for positions inside block scalars
        self.issues: list[ConfigIssue] = []
        # (path, value) of every ${VAR} expansion that may be a secret, in reading order
        self.expansions: list[tuple[str, str]] = []

    # -- reporting -----------------------------------------------------------------------

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        line, col = yn.position(node)
        self.issues.append(ConfigIssue(self.source, line, col, path, message))

    def _tag_ok(self, node: yaml.Node, path: str) -> bool:
        if node.tag in yn.PLAIN_TAGS:
            return True
        tag = node.tag.replace(yn.TAG_PREFIX, "!!")
        self.error(
            node,
            path,
            f"unsupported YAML tag {tag!r} (remove it: checks.yaml "
            "holds plain strings, numbers, booleans, lists and mappings)",
        )
        return False

    # -- containers ----------------------------------------------------------------------

    def mapping(
        self, node: yaml.Node, path: str, allowed: Collection[str] | None
    ) -> dict[str, yaml.Node] | None:
        """The mapping's values by key; reports unknown (unless `allowed` is None) and
        duplicate keys."""
        if not self._tag_ok(node, path):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {yn.describe(node)}")
            return None
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{path}.{key}" if path and key is not None else (key or path)
            if key_node.tag == yn.MERGE:
                self.error(
                    key_node,
                    path,
                    "merge keys (<<) are not supported (put shared settings under defaults:)",
                )
            elif key is None or key_node.tag != yn.STR:
                self.error(key_node, path, f"keys must be strings, got {yn.describe(key_node)}")
            elif key in out:
                first, _ = yn.position(out[key])
                self.error(
                    key_node,
                    where,
                    f"duplicate key {key!r} (first defined on line "
                    f"{first}; YAML would silently keep the last one)",
                )
            elif allowed is not None and key not in allowed:
                self.error(key_node, where, f"unknown key {key!r} ({suggest(key, allowed)})")
            else:
                out[key] = value_node
        return out

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not self._tag_ok(node, path):
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {yn.describe(node)}")
            return None
        return list(node.value)

    def require(
        self, fields: dict[str, yaml.Node], parent: yaml.Node, path: str, key: str
    ) -> yaml.Node | None:
        node = fields.get(key)
        if node is None or is_null(node):
            at = node if node is not None else parent
            self.error(at, f"{path}.{key}" if path else key, "required key is missing")
            return None
        return node

    # -- scalars -------------------------------------------------------------------------

    def _scalar(self, node: yaml.Node, path: str, expected: str) -> yaml.ScalarNode | None:
        if not self._tag_ok(node, path):
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag == yn.NULL:
            self.error(node, path, f"expected {expected}, got {yn.describe(node)}")
            return None
        return node

    def string(
        self,
        node: yaml.Node,
        path: str,
        *,
        expand: bool = True,
        nonempty: bool = False,
        secret: bool = True,
    ) -> str | None:
        """A string; numbers and booleans must be quoted to count as text. `secret=False`
        for values that cannot be secrets (file paths, durations): their expansions are not
        recorded."""
        scalar = self._scalar(node, path, "a string")
        if scalar is None:
            return None
        raw = scalar.value
        if scalar.tag == yn.BOOL:
            why = (
                "YAML 1.1 reads it as a boolean" if raw not in yn.TRUE_FALSE else "it is a boolean"
            )
            self.error(node, path, f'{raw} is not a string: {why} (quote it: "{raw}")')
            return None
        if scalar.tag in (yn.INT, yn.FLOAT):
            self.error(node, path, f'expected a string, got the number {raw} (quote it: "{raw}")')
            return None
        if nonempty and not raw.strip():
            self.error(node, path, "empty string (write a non-empty value)")
            return None
        return self.expand(raw, node, path, secret=secret) if expand else raw

    def expand(self, text: str, node: yaml.Node, path: str, *, secret: bool = True) -> str | None:
        """`${VAR}` from the environment; `$$` is a literal `$`; other `$` stay as they are."""
        if "$" not in text:
            return text
        failed = False

        def repl(m: re.Match[str]) -> str:
            nonlocal failed
            if m.group(1):
                return "$"
            name = m.group(2)
            if name is None:
                failed = True
                self.error(
                    node,
                    path,
                    f"invalid variable reference ${m.group(3)} (write "
                    "${NAME} with letters, digits and _, or $$ for a "
                    "literal $)",
                )
                return ""
            value = self.env.get(name)
            if value is None:
                failed = True
                self.error(
                    node,
                    path,
                    f"environment variable {name} is not set (set it, or "
                    "write $${" + name + "} for a literal ${" + name + "})",
                )
                return ""
            if secret:
                self.expansions.append((path, value))
            return value

        out = _REF.sub(repl, text)
        return None if failed else out

    def secrets(self, *prefixes: str) -> frozenset[str]:
        """The values expanded under any of the path `prefixes` (a prefix ends with "." or
        is a whole path); every recorded expansion when none are given."""
        return frozenset(
            value
            for path, value in self.expansions
            if not prefixes or any(path == p.rstrip(".") or path.startswith(p) for p in prefixes)
        )

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        scalar = self._scalar(node, path, "true or false")
        if scalar is None:
            return None
        if scalar.tag == yn.BOOL and scalar.value in yn.TRUE_FALSE:
            return yn.TRUE_FALSE[scalar.value]
        if scalar.tag == yn.BOOL:
            self.error(
                node, path, f"{scalar.value} is a YAML 1.1 boolean spelling (write true or false)"
            )
        else:
            self.error(node, path, f"expected true or false, got {yn.describe(node)}")
        return None

    def integer(self, node: yaml.Node, path: str, low: int, high: int) -> int | None:
        scalar = self._scalar(node, path, "an integer")
        if scalar is None:
            return None
        if scalar.tag != yn.INT or not _INT.fullmatch(scalar.value):
            self.error(node, path, f"expected an integer, got {yn.describe(node)}")
            return None
        value = int(scalar.value)
        if not low <= value <= high:
            self.error(node, path, f"{value} is out of range (expected {low} to {high})")
            return None
        return value

    def number(self, node: yaml.Node, path: str, low: float, high: float) -> float | None:
        scalar = self._scalar(node, path, "a number")
        if scalar is None:
            return None
        if scalar.tag not in (yn.INT, yn.FLOAT) or not _FLOAT.fullmatch(scalar.value):
            self.error(node, path, f"expected a number, got {yn.describe(node)}")
            return None
        value = float(scalar.value)
        if not low <= value <= high:
            self.error(node, path, f"{scalar.value} is out of range (expected {low:g} to {high:g})")
            return None
        return value

    def duration(
        self, node: yaml.Node, path: str, minimum: float = 0.0, maximum: float = 7 * 86400.0
    ) -> float | None:
        scalar = self._scalar(node, path, 'a duration such as "15s"')
        if scalar is None:
            return None
        if scalar.tag in (yn.INT, yn.FLOAT):
            self.error(
                node,
                path,
                f"duration {scalar.value} has no unit (write e.g. "
                f'"{scalar.value}s" or "{scalar.value}ms")',
            )
            return None
        text = self.string(node, path, secret=False)
        if text is None:
            return None
        return self._convert(node, path, text, parse_duration, minimum, maximum)

    def size(self, node: yaml.Node, path: str, minimum: int, maximum: int) -> int | None:
        scalar = self._scalar(node, path, 'a size such as "1MiB"')
        if scalar is None:
            return None
        text = scalar.value if scalar.tag == yn.INT else self.string(node, path, secret=False)
        if text is None:
            return None
        value = self._convert(node, path, text, parse_size, minimum, maximum)
        return None if value is None else int(value)

    def _convert(
        self,
        node: yaml.Node,
        path: str,
        text: str,
        parse: Callable[[str], float],
        minimum: float,
        maximum: float,
    ) -> float | None:
        try:
            value = parse(text)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None
        if not minimum <= value <= maximum:
            self.error(
                node,
                path,
                f"{text} is out of range (expected {_span(parse, minimum)}"
                f" to {_span(parse, maximum)})",
            )
            return None
        return value

    def each(
        self, node: yaml.Node | None, path: str, read: Callable[[yaml.Node, str], T | None]
    ) -> list[T] | None:
        """Read every item of a list node; None when the node is not a list."""
        if node is None:
            return None
        items = self.sequence(node, path)
        if items is None:
            return None
        out: list[T] = []
        for i, item in enumerate(items):
            value = read(item, f"{path}[{i}]")
            if value is not None:
                out.append(value)
        return out


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == yn.NULL


def _span(parse: Callable[[str], float], value: float) -> str:
    return format_duration(value) if parse is parse_duration else f"{int(value)} bytes"
