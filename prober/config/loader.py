"""parse_config (pure) and load_config: checks.yaml text to a validated Config.

One pass reads every section, records every problem, and raises one ConfigError listing
them in file order; nothing is half-loaded.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from prober.config import checks as chk
from prober.config import declared, declared_top, fields, keys, sections, templates
from prober.config import yamlnodes as yn
from prober.config.declare import find
from prober.config.model import (
    Check,
    Component,
    Config,
    IncidentTemplate,
    Maintenance,
    TLSOptions,
    Webhook,
)
from prober.config.reader import Reader, is_null, suggest
from prober.config.tlsfiles import tls_problem
from prober.errors import ConfigError, ConfigIssue

_REQUIRED = tuple(k.name for k in declared_top.TOP if k.required)
_CHECK_KEYS = tuple(k for k in declared.CHECK if k.required)
_CHECK_READERS = fields.readers(_CHECK_KEYS)


def group_slug(name: str) -> str:
    """The API id of a component group (prober.api.statuspage.group_id uses the same)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return "group-" + (slug or hashlib.sha256(name.encode()).hexdigest()[:12])


_EMPTY = "the file is empty (expected a mapping with at least components: and checks:)"


def _child(node: yaml.Node, key: str) -> yaml.Node:
    """The value node under `key` in a mapping node, or the mapping itself."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                child: yaml.Node = v
                return child
    return node


_Seen = list[tuple[str, yaml.Node, int]]


def _unique(r: Reader, items: _Seen, section: str, what: str) -> None:
    """Report every id of `section` that repeats an earlier one."""
    seen: dict[str, yaml.Node] = {}
    for ident, node, index in items:
        if ident in seen:
            first = yn.position(seen[ident])[0]
            r.error(
                _child(node, "id"),
                f"{section}[{index}].id",
                f"duplicate {what} id "
                f"{ident!r} (first defined on line {first}; ids must be unique)",
            )
        else:
            seen[ident] = node


def _raw_id(node: yaml.Node) -> str | None:
    """The id written in a list item, valid or not (to avoid cascading reference errors)."""
    child = _child(node, "id")
    if child is not node and isinstance(child, yaml.ScalarNode):
        return str(child.value)
    return None


class _Builder:
    """Walks the top-level mapping; keeps the reader and what sections share."""

    def __init__(self, r: Reader, top: dict[str, yaml.Node], root: yaml.Node) -> None:
        self.r = r
        self.top = top
        self.root = root
        self.reported: set[str] = set()
        self.default_settings: chk.Settings = {}
        self.default_policy: chk.Settings = {}
        # Every component id written, valid or not: references to them are not reported.
        self.known_ids: set[str] = set()
        self.group_nodes: list[tuple[str, yaml.Node, int]] = []
        self.read_files = False  # load_config: read and parse the TLS files checks name

    def defaults(self) -> None:
        node = self.top.get("defaults")
        f = self.r.mapping(node, "defaults", keys.DEFAULTS) if node is not None else None
        if f is not None:
            self.default_settings = chk.read_settings(self.r, f, "defaults")
        # The status policy of every component: top-level `status:` or `defaults.status:`.
        given = [
            (n, p)
            for n, p in (
                (self.top.get("status"), "status"),
                ((f or {}).get("status"), "defaults.status"),
            )
            if n is not None
        ]
        if len(given) == 2:
            self.r.error(
                given[1][0],
                given[1][1],
                "the status policy is given twice (keep "
                "either the top-level status: or defaults.status:)",
            )
        if given:
            policy_node, path = given[0]
            self.default_policy = sections.read_policy(self.r, policy_node, path)
            sections.build_policy(self.r, self.default_policy, policy_node, path, self.reported)

    def _list(self, key: str) -> list[yaml.Node]:
        required = find(declared_top.TOP, key).required
        node = self.top.get(key)
        if node is None or is_null(node):
            if required:
                self.r.error(
                    node or self.root,
                    key,
                    f"required key is missing (add {key}: with at least one entry)",
                )
            return []
        items = self.r.sequence(node, key)
        if items is not None and not items and required:
            self.r.error(node, key, "must have at least one entry")
        return items or []

    def components(self) -> tuple[Component, ...]:
        out: list[Component] = []
        seen: _Seen = []
        for i, node in enumerate(self._list("components")):
            raw = _raw_id(node)
            if raw is not None:
                self.known_ids.add(raw)
            path = f"components[{i}]"
            read = sections.read_component(self.r, node, path)
            if read is None:
                continue
            values, own, _ = read
            seen.append((values["id"], node, i))
            merged = {**self.default_policy, **own}
            policy = sections.build_policy(
                self.r, merged, _child(node, "status"), f"{path}.status", self.reported
            )
            if policy is not None:
                out.append(sections.make_component(values, policy))
                if values.get("group"):
                    self.group_nodes.append((str(values["group"]), node, i))
        _unique(self.r, seen, "components", "component")
        self._groups_distinct({c.id for c in out})
        return tuple(out)

    def _groups_distinct(self, component_ids: set[str]) -> None:
        """Group names become ids in the API (`group-<slug>`): two names with one slug
        would merge into one group, and a component id equal to it would be ambiguous."""
        first: dict[str, str] = {}
        for name, node, i in self.group_nodes:
            gid = group_slug(name)
            other = first.setdefault(gid, name)
            where, path = _child(node, "group"), f"components[{i}].group"
            if other != name:
                self.r.error(
                    where,
                    path,
                    f"group {name!r} has the same id {gid!r} as group "
                    f"{other!r}; use one spelling for one group",
                )
            elif gid in component_ids:
                self.r.error(
                    where,
                    path,
                    f"group {name!r} has the id {gid!r}, which is also "
                    "a component id; rename one of them",
                )

    def checks(self, component_ids: set[str]) -> tuple[Check, ...]:
        out: list[Check] = []
        seen: _Seen = []
        for i, node in enumerate(self._list("checks")):
            path = f"checks[{i}]"
            f = self.r.mapping(node, path, keys.CHECK)
            if f is None:
                continue
            given = fields.read_required(self.r, _CHECK_READERS, _CHECK_KEYS, f, node, path)
            ident, comp, url = given["id"], given["component"], given["url"]
            comp_node = f.get("component")
            if comp is not None and comp_node is not None and comp not in component_ids:
                if self.known_ids and comp not in self.known_ids:
                    self.r.error(
                        comp_node,
                        f"{path}.component",
                        f"unknown component {comp!r} ({suggest(comp, self.known_ids)})",
                    )
                comp = None
            own = chk.read_settings(self.r, f, path)
            merged = chk.merge(self.default_settings, own)
            if ident is not None:
                seen.append((ident, node, i))
            if self.read_files and "tls" in merged:  # whatever else is wrong with the check
                tls = {k: v.value for k, v in merged["tls"].value.items()}
                problem = tls_problem(TLSOptions(**tls))
                if problem is not None:  # reported with everything else, in one pass
                    self.r.error(_child(node, "tls"), f"{path}.tls", problem)
            if ident is None or comp is None or url is None:
                continue
            expanded = self.r.secrets("defaults.", f"{path}.")
            in_headers = self.r.secrets("defaults.headers.", f"{path}.headers.")
            check = chk.build_check(
                self.r,
                ident,
                comp,
                url,
                merged,
                own,
                yn.position(node)[0],
                self.reported,
                expanded,
                in_headers,
            )
            if check is not None:
                out.append(check)
        _unique(self.r, seen, "checks", "check")
        return tuple(out)

    def maintenances(self, component_ids: set[str]) -> tuple[Maintenance, ...]:
        out: list[Maintenance] = []
        seen: _Seen = []
        for i, node in enumerate(self._list("maintenances")):
            path = f"maintenances[{i}]"
            read = sections.read_maintenance(self.r, node, path)
            if read is None:
                continue
            m, refs = read
            seen.append((m.id, node, i))
            bad = [ref for ref in refs if ref not in component_ids]
            for j, ref in enumerate(m.components):
                if ref in bad and self.known_ids and ref not in self.known_ids:
                    self.r.error(
                        refs[ref],
                        f"{path}.components[{j}]",
                        f"unknown component {ref!r} ({suggest(ref, component_ids)})",
                    )
            if not bad:
                out.append(m)
        _unique(self.r, seen, "maintenances", "maintenance")
        return tuple(out)

    def incident_templates(self, component_ids: set[str]) -> tuple[IncidentTemplate, ...]:
        out: list[IncidentTemplate] = []
        seen: _Seen = []
        for i, node in enumerate(self._list("incident_templates")):
            tpl = templates.read_template(self.r, node, f"incident_templates[{i}]", component_ids)
            if tpl is not None:
                out.append(tpl)
                seen.append((tpl.id, node, i))
        _unique(self.r, seen, "incident_templates", "incident template")
        return tuple(out)

    def webhooks(self) -> tuple[Webhook, ...]:
        out: list[Webhook] = []
        seen: _Seen = []
        for i, node in enumerate(self._list("webhooks")):
            hook = sections.read_webhook(self.r, node, f"webhooks[{i}]")
            if hook is not None:
                out.append(hook)
                seen.append((hook.id, node, i))
        _unique(self.r, seen, "webhooks", "webhook")
        return tuple(out)


def parse_config(
    text: str,
    source: str = "<string>",
    env: Mapping[str, str] | None = None,
    read_files: bool = False,
) -> Config:
    """Validate checks.yaml `text`; raise ConfigError listing every problem found. Pure,
    unless `read_files`: then the TLS files checks name are read and parsed too."""
    r = Reader(source, os.environ if env is None else env, text)
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
    b = _Builder(r, top, node)
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
