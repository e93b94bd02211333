"""The sections of checks.yaml other than checks and maintenances (maintenances.py):
page, status policy, components, incidents, webhooks, network and distributed. Each
reader returns its model value or None after recording issues; references between
sections are resolved by the loader."""

from __future__ import annotations

import string
from typing import Any

import yaml

from prober.config import declared, fields, keys
from prober.config import declared_sections as ds
from prober.config import yamlnodes as yn
from prober.config.checks import Setting, Settings
from prober.config.model import (
    CANARY_COMPONENT,
    Check,
    Component,
    Distributed,
    Expectations,
    IncidentPolicy,
    Network,
    Page,
    StatusPolicy,
    StatusRange,
    Webhook,
)
from prober.config.reader import Reader

FAILURE_REASONS = declared.FAILURE_REASONS


def _reasons(r: Reader, node: yaml.Node, path: str) -> frozenset[str] | None:
    items = r.each(
        node, path, lambda n, p: fields.one_of(r, n, p, FAILURE_REASONS, "failure reason")
    )
    if items is None:
        return None
    if not items and isinstance(node, yaml.SequenceNode) and not node.value:
        r.error(node, path, "must list at least one reason (e.g. [http_5xx, timeout])")
        return None
    return frozenset(items)


_POLICY_READERS = fields.readers(declared.STATUS, {"failure_reasons": _reasons})
_PAGE_READERS = fields.readers(ds.PAGE)


def read_policy(r: Reader, node: yaml.Node, path: str) -> Settings:
    f = r.mapping(node, path, keys.STATUS)
    out: Settings = {}
    for key, value_node in (f or {}).items():
        value = _POLICY_READERS[key](r, value_node, f"{path}.{key}")
        if value is not None:
            out[key] = Setting(value, value_node, f"{path}.{key}")
    return out


def build_policy(
    r: Reader, s: Settings, node: yaml.Node | None, path: str, reported: set[str]
) -> StatusPolicy | None:
    """Built-in defaults overlaid with `s`; checks 0 < degraded < partial < major <= 1."""
    values = {k: v.value for k, v in s.items()}
    policy = StatusPolicy(**values)
    if policy.degraded < policy.partial < policy.major:
        return policy
    where = s.get("degraded") or s.get("partial") or s.get("major")
    at, at_path = (where.node, where.path) if where else (node, path)
    if at is not None and at_path not in reported:
        reported.add(at_path)
        r.error(
            at,
            at_path,
            f"thresholds must rise: degraded ({policy.degraded:g}) < partial "
            f"({policy.partial:g}) < major ({policy.major:g}) <= 1 (e.g. "
            "0.05, 0.25, 0.5)",
        )
    return None


def read_page(r: Reader, node: yaml.Node | None) -> Page | None:
    if node is None:
        return Page()
    f = r.mapping(node, "page", keys.PAGE)
    if f is None:
        return None
    values: dict[str, Any] = {}
    ok = True
    for key, value_node in f.items():
        value = _PAGE_READERS[key](r, value_node, f"page.{key}")
        ok = ok and value is not None
        values[key] = value
    return Page(**values) if ok else None


_COMPONENT_READERS = fields.readers(
    ds.COMPONENT, {"status": fields.unread, "traffic": fields.unread}
)


def read_component(
    r: Reader, node: yaml.Node, path: str
) -> tuple[dict[str, Any], Settings, yaml.Node] | None:
    """(fields, status overrides, node) of one component; the policy is built later."""
    f = r.mapping(node, path, keys.COMPONENT)
    if f is None:
        return None
    values = fields.read_required(r, _COMPONENT_READERS, ds.COMPONENT, f, node, path)
    for key in ("group", "description"):
        if key in f:
            values[key] = _COMPONENT_READERS[key](r, f[key], f"{path}.{key}")
    policy = read_policy(r, f["status"], f"{path}.status") if "status" in f else {}
    if "traffic" in f:
        from prober.config.traffic import read_traffic

        values["traffic"] = read_traffic(r, f["traffic"], f"{path}.traffic")
    if any(v is None for v in values.values()):
        return None
    values["line"] = yn.position(node)[0]
    return values, policy, node


def make_component(values: dict[str, Any], policy: StatusPolicy) -> Component:
    return Component(policy=policy, **values)


def _template(r: Reader, node: yaml.Node, path: str) -> str | None:
    text = r.string(node, path)
    if text is None:
        return None
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        r.error(node, path, f"invalid template: {exc} (write {{{{ and }}}} for literal braces)")
        return None
    names = {name for _, name, _, _ in parts if name is not None}
    fancy = [
        f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
        for _, name, spec, conv in parts
        if name is not None and (spec or conv)
    ]
    if fancy:  # {reason:>1000000} would pad every title to a megabyte
        r.error(
            node,
            path,
            f"placeholder {fancy[0]} has a format spec or conversion; write "
            "plain placeholders such as {reason}",
        )
        return None
    unknown = sorted(n for n in names if n not in keys.TITLE_FIELDS)
    if unknown:
        r.error(
            node,
            path,
            f"unknown placeholder {{{unknown[0]}}} (use "
            + ", ".join(f"{{{n}}}" for n in keys.TITLE_FIELDS)
            + ")",
        )
        return None
    return text


def read_incidents(r: Reader, node: yaml.Node | None) -> IncidentPolicy | None:
    if node is None:
        return IncidentPolicy()
    f = r.mapping(node, "incidents", keys.INCIDENTS)
    if f is None:
        return None
    readers = fields.readers(ds.INCIDENTS, {"title_template": _template})
    values = {k: readers[k](r, n, f"incidents.{k}") for k, n in f.items()}
    return None if None in values.values() else IncidentPolicy(**values)


def _header_pairs(r: Reader, node: yaml.Node, path: str) -> tuple[tuple[str, str], ...] | None:
    found = fields.headers(r, node, path)
    return None if found is None else tuple(found.values())


_WEBHOOK_READERS = fields.readers(ds.WEBHOOK, {"headers": _header_pairs})
_NETWORK_READERS = fields.readers(ds.NETWORK, {"canaries": fields.unread})
_DISTRIBUTED_READERS = fields.readers(
    ds.DISTRIBUTED, {"locations": fields.unread, "quorum": fields.unread}
)


def read_webhook(r: Reader, node: yaml.Node, path: str) -> Webhook | None:
    f = r.mapping(node, path, keys.WEBHOOK)
    if f is None:
        return None
    ident_node = r.require(f, node, path, "id")
    url_node = r.require(f, node, path, "url")
    values = {k: _WEBHOOK_READERS[k](r, n, f"{path}.{k}") for k, n in f.items()}
    if ident_node is None or url_node is None or None in values.values():
        return None
    return Webhook(**values)


def read_network(r: Reader, node: yaml.Node | None) -> Network | None:
    """`network:` canaries (URLs probed only as evidence of prober's own connectivity)."""
    if node is None:
        return Network()
    f = r.mapping(node, "network", keys.NETWORK)
    if f is None:
        return None
    interval = (
        _NETWORK_READERS["interval"](r, f["interval"], "network.interval")
        if "interval" in f
        else ds.CANARY_INTERVAL
    )
    timeout = (
        _NETWORK_READERS["timeout"](r, f["timeout"], "network.timeout")
        if "timeout" in f
        else ds.CANARY_TIMEOUT
    )
    urls = []
    if "canaries" in f:
        items = r.sequence(f["canaries"], "network.canaries") or []
        urls = [fields.url(r, n, f"network.canaries[{i}]") for i, n in enumerate(items)]
    if interval is None or timeout is None or None in urls:
        return None
    if timeout > interval:
        r.error(
            f["timeout"],
            "network.timeout",
            f"timeout ({timeout:g}s) must not exceed interval ({interval:g}s)",
        )
        return None
    any_answer = Expectations(status=(StatusRange(100, 599),))
    return Network(
        tuple(
            Check(
                id=f"{CANARY_COMPONENT}-canary-{i}",
                component=CANARY_COMPONENT,
                url=str(u),
                interval=interval,
                timeout=timeout,
                expect=any_answer,
            )
            for i, u in enumerate(urls)
        )
    )


def read_distributed(r: Reader, node: yaml.Node | None) -> Distributed | None:
    """`distributed:` locations and quorum of probe agents (`prober agent`)."""
    if node is None:
        return Distributed()
    f = r.mapping(node, "distributed", keys.DISTRIBUTED)
    if f is None:
        return None
    locations: list[str | None] = []
    if "locations" in f:
        items = r.sequence(f["locations"], "distributed.locations") or []
        locations = [fields.ident(r, n, f"distributed.locations[{i}]") for i, n in enumerate(items)]
    quorum = _quorum(r, f["quorum"]) if "quorum" in f else 0
    timeout = (
        _DISTRIBUTED_READERS["location_timeout"](
            r, f["location_timeout"], "distributed.location_timeout"
        )
        if "location_timeout" in f
        else Distributed.location_timeout
    )
    settle = (
        _DISTRIBUTED_READERS["settle"](r, f["settle"], "distributed.settle")
        if "settle" in f
        else Distributed.settle
    )
    if None in locations or quorum is None or timeout is None or settle is None:
        return None
    names = tuple(n for n in locations if n is not None)
    if len(set(names)) != len(names):
        r.error(f["locations"], "distributed.locations", "a location is listed twice")
        return None
    if names and quorum > len(names):
        r.error(
            f["quorum"],
            "distributed.quorum",
            f"quorum {quorum} exceeds the {len(names)} listed locations "
            "(no failure could ever count)",
        )
        return None
    return Distributed(names, quorum, timeout, settle)


def _quorum(r: Reader, q: yaml.Node) -> int | None:
    """`distributed.quorum`: 0 for majority, else a number of locations (1 to 99)."""
    if isinstance(q, yaml.ScalarNode) and q.value == "majority":
        return 0
    if isinstance(q, yaml.ScalarNode) and q.value.isdigit():
        return r.integer(q, "distributed.quorum", 1, 99)
    r.error(
        q,
        "distributed.quorum",
        f"expected majority or a number of locations (1 to 99), got {q.value!r}"
        if isinstance(q, yaml.ScalarNode)
        else "expected majority or a number of locations (1 to 99)",
    )
    return None
