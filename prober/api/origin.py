"""The public base URL of a request, for absolute links when `page.url` is not configured.

Statuspage returns absolute URLs (`page.url`, `shortlink`), and so does the feed. Configure
`page.url` and nothing a client sends changes them. Without it, the links use the address
the client connected to; only a request from a trusted proxy (`--trusted-proxy CIDR`) may
name the public host: the first value of `X-Forwarded-Proto` / `X-Forwarded-Host`, else its
`Host`. An arbitrary client's `Host` or `X-Forwarded-Host` never rewrites links others may
see (a cached page, a feed reader). Only host-shaped values are accepted (a DNS name or an
IP literal and an optional port), so even a proxy cannot inject markup, paths or
credentials into the links.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable

from aiohttp import web

from prober.domain.snapshot import StatusSnapshot

# A DNS name / IPv4 address, or a bracketed IPv6 literal, and an optional port.
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?")
_SCHEMES = ("http", "https")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The proxies whose Host / X-Forwarded-* headers decide links (set by make_app).
TRUSTED_PROXIES = web.AppKey("prober_trusted_proxies", tuple)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) from `--trusted-proxy`; ValueError names a bad one."""
    out: list[Network] = []
    for value in values:
        for item in value.split(","):
            if item.strip():
                try:
                    out.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError:
                    raise ValueError(
                        f"--trusted-proxy: {item.strip()!r} is not an IP "
                        "address or CIDR such as 10.0.0.0/8"
                    ) from None
    return tuple(out)


def trusted(request: web.Request) -> bool:
    networks: tuple[Network, ...] = request.app.get(TRUSTED_PROXIES, ())
    if not networks or not request.remote:
        return False
    try:
        peer = ipaddress.ip_address(request.remote)
    except ValueError:
        return False
    return any(peer in net for net in networks)


def _first(value: str | None) -> str:
    return (value or "").split(",", 1)[0].strip().lower()


def clean_host(value: str | None) -> str | None:
    """The host (and port) if `value`'s first item is host-shaped, else None."""
    host = _first(value)
    if not host or _HOST.fullmatch(host) is None:
        return None
    return host


def _socket_host(request: web.Request) -> str:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        addr, port = str(sockname[0]), int(sockname[1])
        return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
    return "localhost"


def request_base(request: web.Request) -> str:
    """`scheme://host[:port]` for links in responses to `request` (no trailing slash)."""
    if not trusted(request):
        return f"{request.scheme}://{_socket_host(request)}"
    proto = _first(request.headers.get("X-Forwarded-Proto"))
    scheme = proto if proto in _SCHEMES else request.scheme
    host = (
        clean_host(request.headers.get("X-Forwarded-Host"))
        or clean_host(request.headers.get("Host"))
        or _socket_host(request)
    )
    return f"{scheme}://{host}"


# Request headers that decide absolute links when page.url is not configured.
LINK_VARY = "Host, X-Forwarded-Host, X-Forwarded-Proto"


def linked(request: web.Request, snap: StatusSnapshot) -> tuple[StatusSnapshot, str, str]:
    """(snapshot whose page.url is absolute, cache key base, extra Vary) for `request`.

    With `page.url` configured nothing depends on the request: `(snap, "", "")`. Without
    it, the page's url is the request's base URL, and the body varies with those headers.
    """
    if snap.page.url:
        return snap, "", ""
    base = request_base(request)
    with_url = dataclasses.replace(snap, page=dataclasses.replace(snap.page, url=base))
    return with_url, base, LINK_VARY
