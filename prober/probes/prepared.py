"""The lean HTTP client's prepared request (fasthttp.py, ledger line "fasthttp"): the
checked URL, where to connect, and the exact bytes to send (`Connection: close`); and the
request a redirect leads to, with aiohttp's rules for method, body and credentials.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from yarl import URL

from prober.probes.decoding import ACCEPT_ENCODING
from prober.probes.dns import Addr

USER_AGENT = "prober/0.1"
_DEFAULTS = (("User-Agent", USER_AGENT), ("Accept", "*/*"), ("Accept-Encoding", ACCEPT_ENCODING))
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(r"[\x21-\x7e]+")
_HOST = re.compile(r"[A-Za-z0-9._~:%-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DROPPED = frozenset({"connection", "content-length", "host", "transfer-encoding", "keep-alive"})
_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "cookie", "proxy-authorization", "host"})


class Request:
    """One prepared request: where to connect and the exact bytes to send."""

    __slots__ = (
        "addrs",
        "body",
        "data",
        "headers",
        "host",
        "https",
        "method",
        "origin",
        "port",
        "server_name",
        "url",
    )

    def __init__(
        self,
        url: str | URL,
        method: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes | None,
        server_name: str | None,
    ) -> None:
        """Raises ValueError for what the lean client does not send (see module doc).

        The URL is read by yarl as aiohttp reads it: an international name becomes its
        IDNA 2008 A-label (UTS 46), a path or query with spaces or non-ASCII characters
        is percent-encoded (UTF-8)."""
        parsed = url if isinstance(url, URL) else URL(url)
        scheme = parsed.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("scheme")
        if parsed.raw_user is not None or parsed.raw_password is not None:
            raise ValueError("userinfo")
        host = parsed.raw_host
        if not host or _HOST.fullmatch(host) is None:
            raise ValueError("host")
        port = parsed.port
        if port is None:
            raise ValueError("port")
        target = parsed.raw_path_qs or "/"
        if _TARGET.fullmatch(target) is None or _TOKEN.fullmatch(method) is None:
            raise ValueError("target")
        host_header = parsed.host_port_subcomponent or host
        self.addrs = _literal_addrs(host, port)
        data = _head(method, target, host_header, headers, body)
        self.data = data + body if body else data
        self.url = parsed
        self.method = method
        self.headers = headers
        self.body = body
        self.host = host
        self.port = port
        self.https = scheme == "https"
        self.server_name = server_name or host
        self.origin = (scheme, host, port)


def _literal_addrs(host: str, port: int) -> list[Addr] | None:
    """The one address of an IP-literal host; None for a name (resolved per request)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return [(family, host, port)]


def _head(
    method: str,
    target: str,
    host_header: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes | None,
) -> bytes:
    """The request line and header block; ValueError("header") for a header not sent."""
    names = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host_header}")
    for name, value in _DEFAULTS:
        if name.lower() not in names:
            lines.append(f"{name}: {value}")
    for name, value in headers:
        if _TOKEN.fullmatch(name) is None or _BAD_VALUE.search(value) is not None:
            raise ValueError("header")
        lower = name.lower()
        if lower not in _DROPPED or lower == "host":
            lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
        if "content-type" not in names:
            lines.append("Content-Type: application/octet-stream")
    elif method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    lines.append("Connection: close\r\n\r\n")
    return "\r\n".join(lines).encode("utf-8")


def redirected(
    request: Request, location: str, status: int, secret: frozenset[str] = frozenset()
) -> Request:
    """The next hop's request (aiohttp's rules: 303, and POST on 301/302, become GET
    without a body). Another origin gets none of the credentials: Authorization, Cookie,
    Proxy-Authorization, a configured Host, nor the `secret` headers (those written with
    a ${VAR}); once dropped they stay dropped. ValueError names why it cannot go on."""
    try:
        url = request.url.join(URL(location))
    except (ValueError, TypeError):
        raise ValueError("InvalidUrlRedirectClientError") from None
    scheme = url.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("NonHttpUrlRedirectClientError")
    method, body, headers = request.method, request.body, request.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = tuple(h for h in headers if h[0].lower() != "content-type")
    try:
        # a configured server_name holds for every hop, as aiohttp's server_hostname does
        name = request.server_name if request.server_name != request.host else None
        nxt = Request(url, method, headers, body, name)
        if nxt.origin != request.origin:
            kept = tuple(
                h
                for h in headers
                if h[0].lower() not in _CROSS_ORIGIN_DROPPED and h[0].lower() not in secret
            )
            if kept != headers:
                nxt = Request(url, method, kept, body, name)
    except ValueError:
        raise ValueError("InvalidUrlRedirectClientError") from None
    return nxt
