"""parse_config (pure) and load_config: checks.yaml text to a validated Config.

One pass reads every section, records every problem, and raises one ConfigError listing
them in file order; nothing is half-loaded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from prober.config import declared_top, keys, sections
from prober.config import yamlnodes as yn
from prober.config.builder import Builder
from prober.config.model import Config
from prober.config.reader import Reader, is_null
from prober.errors import ConfigError, ConfigIssue

_REQUIRED = tuple(k.name for k in declared_top.TOP if k.required)
_EMPTY = "the file is empty (expected a mapping with at least components: and checks:)"


def parse_config(
    text: str,
    source: str = "<string>",
    env: Mapping[str, str] | None = None,
    read_files: bool = False,
) -> Config:
    """Validate checks.yaml `text`; raise ConfigError listing every problem found. Pure,
    unless `read_files`: then the TLS files checks name are read and parsed too."""
    r = Reader(source, os.environ if env is None else env, text)
    node, top = _top(r, text, source)
    b = Builder(r, top, node)
    b.read_files = read_files
    page = sections.read_page(r, top.get("page"))
    b.defaults()
    components = b.components()
    ids = {c.id for c in components}
    parsed: dict[str, Any] = {
        "page": page,
        "components": components,
        "checks": b.checks(ids),
        "maintenances": b.maintenances(ids),
        "incidents": sections.read_incidents(r, top.get("incidents")),
        "webhooks": b.webhooks(),
        "incident_templates": b.incident_templates(ids),
        "network": sections.read_network(r, top.get("network")),
        "distributed": sections.read_distributed(r, top.get("distributed")),
    }
    if r.issues:
        raise ConfigError(sorted(r.issues, key=lambda i: (i.line, i.column)), r.secrets())
    return Config(source=source, expanded=r.secrets(), **parsed)


def _top(r: Reader, text: str, source: str) -> tuple[yaml.MappingNode, dict[str, yaml.Node]]:
    """The document's top-level mapping node and its sections (an empty optional one
    dropped); ConfigError when the text is too large, not YAML, empty or not a mapping."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [
                ConfigIssue(
                    source,
                    1,
                    1,
                    "",
                    f"the text is over the limit of {MAX_CONFIG_BYTES} bytes (4 MiB)",
                )
            ]
        )
    node, issues = yn.compose(text, source)
    if issues:
        raise ConfigError(issues)
    if node is None or is_null(node):
        raise ConfigError([ConfigIssue(source, 1, 1, "", _EMPTY)])
    if not isinstance(node, yaml.MappingNode):
        r.error(
            node,
            "",
            f"expected a mapping at the top level (keys such as components: "
            f"and checks:), got {yn.describe(node)}",
        )
        raise ConfigError(r.issues, r.secrets())
    top = r.mapping(node, "", keys.TOP) or {}
    # An empty optional section (`page:` with nothing under it) means its defaults.
    top = {k: v for k, v in top.items() if not (is_null(v) and k not in _REQUIRED)}
    return node, top


def example_text() -> str:
    """The example checks.yaml packaged with prober (a copy of the repository's)."""
    return (resources.files("prober") / "examples" / "checks.yaml").read_text("utf-8")


MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a checks.yaml with 10,000 checks is about 2 MB


def _read(path: str | Path) -> str:
    """The file's text: a regular file (a FIFO would hang the reader), at most
    MAX_CONFIG_BYTES, UTF-8; ConfigError saying what is wrong otherwise."""
    source = str(path)

    def fail(message: str) -> ConfigError:
        return ConfigError([ConfigIssue(source, 1, 1, "", message)])

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(st.st_mode)
                else ("a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file")
            )
            raise fail(f"cannot read the file: it is {kind}; give the path of a checks.yaml")
        if st.st_size > MAX_CONFIG_BYTES:
            raise fail(
                f"the file is {st.st_size} bytes, over the limit of "
                f"{MAX_CONFIG_BYTES} bytes (4 MiB)"
            )
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise fail(f"the file is over the limit of {MAX_CONFIG_BYTES} bytes (4 MiB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"the file is not UTF-8 (byte {exc.start}; save it as UTF-8)") from exc


def load_config(path: str | Path) -> Config:
    """Read and validate the file at `path` (UTF-8), then the files it names: every TLS
    file is read and parsed, as the probes will (a bad one is an error here, not a public
    outage later)."""
    return parse_config(_read(path), str(path), read_files=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(config: Config) -> str:
    parts = [_plural(len(config.components), "component"), _plural(len(config.checks), "check")]
    if config.maintenances:
        parts.append(_plural(len(config.maintenances), "maintenance"))
    if config.webhooks:
        parts.append(_plural(len(config.webhooks), "webhook"))
    if config.incident_templates:
        parts.append(_plural(len(config.incident_templates), "incident template"))
    return f"{config.source}: OK: " + ", ".join(parts)


def check_files(paths: Sequence[str]) -> tuple[int, str]:
    """Validate each file: (exit code 0/1, text to print: every error as
    FILE:LINE:COL: path: message and one summary line per file; no trailing newline)."""
    lines: list[str] = []
    code = 0
    for path in paths:
        try:
            lines.append(summary(load_config(path)))
        except ConfigError as exc:
            code = 1
            lines.extend(str(issue) for issue in exc.issues)
            lines.append(f"{path}: FAILED: {_plural(len(exc.issues), 'error')}")
    return code, "\n".join(lines)


__all__ = ["check_files", "example_text", "load_config", "parse_config", "summary"]
