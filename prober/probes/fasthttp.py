"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fasthttp"): a lean HTTP/1.1 client for
probes, one request per fresh connection (`Connection: close`); the plain alternative is
the aiohttp engine (`HttpProber(engine="aiohttp")`), which `python -m bench.probe_overhead`
runs side by side with it.

aiohttp's client costs about 0.4 ms of CPU per request with a fresh connection here, more
than half of what a probe may cost. This client is asyncio's low-level API only:
`loop.create_connection` (with `ssl=` for https, so TLS is asyncio's own), the request
written as one prepared bytes object (cached per check), and the response read by
`prober.probes.response.ResponseProtocol` (llhttp) into one future. A host with several
addresses is connected with Happy Eyeballs (RFC 8305, `aiohappyeyeballs` as aiohttp uses
it): one dead address costs 250 ms, not the deadline. One deadline (`asyncio.timeout`)
covers DNS, connect, TLS, every redirect hop, headers and body.

Names are resolved by `prober.probes.dns` (c-ares, shared lookups, TTL-bound cache), the
same resolver the aiohttp engine uses; an IP-literal host is never resolved. Phase timings
go into the probe's ProbeTiming exactly as the aiohttp trace callbacks put them (the TLS
start mark comes from the context's SSLObject class, see `prober.probes.tls`), so both
engines report the same phases and timeout stages. Failures are written into an `Outcome`
with the same Reasons and details as the aiohttp path; cancellation always propagates,
and the transport is closed on every path.

What it does not do, so `HttpProber` keeps aiohttp for it: kept-alive connections
(`fresh_connection: false`), checks through a proxy (`proxy:`), credentials inside the
URL, and header values with control characters (which the config loader refuses).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable

import aiohappyeyeballs
from yarl import URL

from prober.config.model import Check
from prober.probes import expect
from prober.probes.decoding import ACCEPT_ENCODING
from prober.probes.dns import Addr, Resolver
from prober.probes.egress import EgressRefused, permitted
from prober.probes.failures import classify_os
from prober.probes.response import REDIRECT_CODES, ResponseProtocol
from prober.probes.result import Reason
from prober.probes.timing import ProbeTiming, _now

HAPPY_EYEBALLS_DELAY = 0.25  # seconds between attempts (RFC 8305 5; aiohttp's default)
USER_AGENT = "prober/0.1"
_DEFAULTS = (("User-Agent", USER_AGENT), ("Accept", "*/*"), ("Accept-Encoding", ACCEPT_ENCODING))
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(r"[\x21-\x7e]+")
_HOST = re.compile(r"[A-Za-z0-9._~:%-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DROPPED = frozenset({"connection", "content-length", "host", "transfer-encoding", "keep-alive"})
_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "cookie", "proxy-authorization", "host"})
_CACHE_MAX = 16384

ExpiryFn = Callable[[tuple[str, int], object], "float | None"]


class Outcome:
    """What the request produced before judgement; filled as far as the probe got."""

    __slots__ = ("body", "cert_expiry", "charset", "failure", "location", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.cert_expiry: float | None = None
        self.body = b""
        self.charset: str | None = None
        self.location = False
        self.failure: tuple[Reason, str] | None = None


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


class FastClient:
    """Runs one check's request on fresh connections; see the module doc for the scope."""

    def __init__(self, expiry: ExpiryFn, dns: Resolver) -> None:
        """`expiry(origin, ssl_object)` reads the leaf certificate's notAfter (cached by
        the caller); `dns` resolves names (shared with the aiohttp engine)."""
        self._expiry = expiry
        self._dns = dns
        self._prepared: dict[int, tuple[Check, Request | None]] = {}

    def prepare(self, check: Check) -> Request | None:
        """The check's first request, or None when the lean client does not cover it."""
        entry = self._prepared.get(id(check))
        if entry is not None and entry[0] is check:
            return entry[1]
        request: Request | None = None
        if check.fresh_connection and check.proxy is None:
            body = check.body.encode() if check.body is not None else None
            try:
                request = Request(
                    check.url, check.method, check.headers, body, check.tls.server_name
                )
            except ValueError:
                request = None
        if len(self._prepared) >= _CACHE_MAX:
            self._prepared.clear()
        self._prepared[id(check)] = (check, request)
        return request

    async def fetch(
        self,
        check: Check,
        request: Request,
        context: ssl.SSLContext,
        timing: ProbeTiming,
        outcome: Outcome,
    ) -> None:
        """Run `request` (from `prepare(check)`) and its redirects within check.timeout.

        Raises TimeoutError at the deadline (the caller words it) and CancelledError;
        every other target failure lands in `outcome.failure`."""
        keep = expect.needs_body(check.expect)
        follow = check.follow_redirects and check.max_redirects > 0
        hops = 0
        async with asyncio.timeout(check.timeout):
            while True:
                try:
                    proto = await self._exchange(
                        request, context, check, timing, outcome, keep, follow
                    )
                except OSError as exc:
                    outcome.failure = classify_os(exc)
                    return
                status = outcome.status = proto.status
                if proto.failure is not None:
                    outcome.failure = proto.failure
                    return
                location = proto.location
                if follow and location is not None and status in REDIRECT_CODES:
                    hops += 1
                    nxt = _follow(request, location, status, hops, check, outcome)
                    if nxt is None:
                        return
                    request = nxt
                    continue
                outcome.location = location is not None
                if keep:
                    outcome.charset = proto.charset
                    outcome.body = b"".join(proto.chunks)
                return

    async def _exchange(
        self,
        request: Request,
        context: ssl.SSLContext,
        check: Check,
        timing: ProbeTiming,
        outcome: Outcome,
        keep: bool,
        follow: bool,
    ) -> ResponseProtocol:
        loop = asyncio.get_running_loop()
        timing.conn_started(_now())
        addrs = await self._addresses(request, check, timing)
        tls = context if request.https else None
        name = request.server_name if tls is not None else None
        waiter: asyncio.Future[None] = loop.create_future()
        body_expected = request.method != "HEAD"
        transport: asyncio.BaseTransport | None = None
        proto: ResponseProtocol | None = None
        try:
            proto = made = ResponseProtocol(
                waiter, timing, check.max_body_bytes, keep, body_expected, follow
            )
            transport = await _connect(loop, made, addrs, tls, name)
            assert transport is not None and proto is not None
            timing.conn_done(_now())
            if tls is not None:
                outcome.cert_expiry = self._expiry(
                    (request.host, request.port), transport.get_extra_info("ssl_object")
                )
            transport.write(request.data)
            await waiter
            return proto
        finally:
            if proto is not None and proto.headed:
                outcome.status = proto.status  # known even when the body times out
            if transport is not None:
                if tls is None and proto is not None and proto.failure is None:
                    transport.close()
                else:
                    transport.abort()  # type: ignore[attr-defined]  # no TLS close_notify wait

    async def _addresses(self, request: Request, check: Check, timing: ProbeTiming) -> list[Addr]:
        """The request's addresses (resolved unless a literal), those the egress policy
        permits; EgressRefused when it permits none."""
        addrs = request.addrs or await self._resolve(request.host, request.port, timing)
        if check.egress is not None:
            allowed = [a for a in addrs if permitted(check.egress, a[1])]
            if not allowed:
                raise EgressRefused(addrs[0][1])
            addrs = allowed
        return addrs

    async def _resolve(self, host: str, port: int, timing: ProbeTiming) -> list[Addr]:
        addrs = self._dns.cached(host, port)
        if addrs is not None:
            return addrs
        timing.dns_start = _now()
        addrs = await self._dns.resolve(host, port)
        timing.dns += _now() - timing.dns_start
        return addrs


def _sockaddr(family: int, ip: str, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    return (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)


def _follow(
    request: Request,
    location: str,
    status: int | None,
    hops: int,
    check: Check,
    outcome: Outcome,
) -> Request | None:
    """The request a redirect leads to; None, with the outcome's failure, when it is one
    too many or its target is not a valid HTTP URL."""
    if hops > check.max_redirects:
        outcome.failure = (
            Reason.REDIRECTS,
            f"more than {check.max_redirects} redirects",
        )
        return None
    assert status is not None
    try:
        return _redirected(request, location, status, check.secret_headers)
    except ValueError as exc:
        outcome.status = None
        outcome.failure = (
            Reason.REDIRECTS,
            f"redirect to an invalid or non-HTTP URL ({exc.args[0]})",
        )
        return None


def _redirected(
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


async def _connect(
    loop: asyncio.AbstractEventLoop,
    made: ResponseProtocol,
    addrs: list[Addr],
    tls: ssl.SSLContext | None,
    name: str | None,
) -> asyncio.Transport:
    """Connect `made` to the one address, or (RFC 8305) race every address."""
    if len(addrs) == 1:
        _, ip, port = addrs[0]
        transport, _ = await loop.create_connection(
            lambda: made, ip, port, ssl=tls, server_hostname=name
        )
    else:  # RFC 8305: staggered attempts over every address, families interleaved
        sock = await aiohappyeyeballs.start_connection(
            [
                (fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", _sockaddr(fam, ip, port))
                for fam, ip, port in addrs
            ],
            happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
        )
        transport, _ = await loop.create_connection(
            lambda: made, sock=sock, ssl=tls, server_hostname=name
        )
    return transport
