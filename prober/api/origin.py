"""The public base URL of a request, for absolute links when `page.url` is not configured.

Statuspage returns absolute URLs (`page.url`, `shortlink`), and so does the feed. Without a
configured `page.url` prober builds them from the request: the first value of
`X-Forwarded-Proto` / `X-Forwarded-Host` when a proxy sent them, else the scheme of the
connection and `Host`. Only host-shaped values are accepted (a DNS name or an IP literal and
an optional port), so a client cannot inject markup, paths or credentials into the links;
anything else falls back to the address the server listens on.
"""

from __future__ import annotations

import dataclasses
import re

from aiohttp import web

from prober.domain.snapshot import StatusSnapshot

# A DNS name / IPv4 address, or a bracketed IPv6 literal, and an optional port.
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?")
_SCHEMES = ("http", "https")


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
