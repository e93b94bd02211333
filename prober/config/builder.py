"""The per-section builder of parse_config (loader.py): walks checks.yaml's top-level
mapping section by section, reports every problem on the shared Reader and builds the
components, checks, maintenances, incident templates and webhooks.
"""

from __future__ import annotations

import hashlib
import re

import yaml

from prober.config import checks as chk
from prober.config import declared, declared_top, fields, keys, maintenances, sections, templates
from prober.config import yamlnodes as yn
from prober.config.declare import find
from prober.config.model import (
    Check,
    Component,
    IncidentTemplate,
    Maintenance,
    TLSOptions,
    Webhook,
)
from prober.config.reader import Reader, is_null, suggest
from prober.config.tlsfiles import tls_problem

_CHECK_KEYS = tuple(k for k in declared.CHECK if k.required)
_CHECK_READERS = fields.readers(_CHECK_KEYS)


def group_slug(name: str) -> str:
    """The API id of a component group (prober.api.statuspage.group_id uses the same)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return "group-" + (slug or hashlib.sha256(name.encode()).hexdigest()[:12])


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


class Builder:
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
            read = maintenances.read_maintenance(self.r, node, path)
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
