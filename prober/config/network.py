"""Check settings about where a probe may go: `egress` (which networks it may connect to)
and `proxy` (through what). Both are check settings, so `defaults:` sets them for all."""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Final

import yaml

from prober.config import fields, keys
from prober.config.model import EgressPolicy, IPNetwork
from prober.config.reader import Reader

# Named sets an egress list may use besides CIDRs.
NETWORK_SETS: Final[dict[str, tuple[str, ...]]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "link-local": ("169.254.0.0/16", "fe80::/10"),
    "metadata": (
        "169.254.169.254/32",
        "169.254.170.2/32",
        "100.100.100.200/32",
        "fd00:ec2::254/128",
    ),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
    "unspecified": ("0.0.0.0/8", "::/128"),
}


def _networks(r: Reader, node: yaml.Node, path: str) -> tuple[IPNetwork, ...] | None:
    items = fields.strings(r, node, path)
    if items is None:
        return None
    multi = isinstance(node, yaml.SequenceNode)
    out: list[IPNetwork] = []
    ok = True
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if multi else path
        text = r.string(item, where, secret=False)
        if text is None:
            ok = False
            continue
        if text in NETWORK_SETS:
            out += [ipaddress.ip_network(n) for n in NETWORK_SETS[text]]
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            r.error(
                item,
                where,
                f"invalid network {text!r} (write a CIDR such as "
                "10.0.0.0/8 or 2001:db8::/32, an address, or one of: "
                f"{', '.join(NETWORK_SETS)})",
            )
            ok = False
    return tuple(out) if ok else None


def egress(r: Reader, node: yaml.Node, path: str) -> EgressPolicy | None:
    f = r.mapping(node, path, keys.EGRESS)
    if f is None:
        return None
    allow = _networks(r, f["allow"], f"{path}.allow") if "allow" in f else ()
    deny = _networks(r, f["deny"], f"{path}.deny") if "deny" in f else ()
    if allow is None or deny is None:
        return None
    return EgressPolicy(allow=allow, deny=deny)


def proxy(r: Reader, node: yaml.Node, path: str) -> str | None:
    """ "env" (HTTP_PROXY, HTTPS_PROXY and NO_PROXY of prober's environment) or an
    http:// proxy URL."""
    value = r.string(node, path)
    if value is None or value == "env":
        return value
    try:
        parts = urllib.parse.urlsplit(value)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "http" or not parts.hostname:
        r.error(
            node,
            path,
            'invalid proxy (write "env" to use HTTP_PROXY, HTTPS_PROXY '
            "and NO_PROXY, or an http:// URL such as "
            "http://proxy.internal:3128)",
        )
        return None
    return value
