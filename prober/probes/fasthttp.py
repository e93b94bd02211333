"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fasthttp"): a lean HTTP/1.1 client for
probes, one request per fresh connection (`Connection: close`); the plain alternative is
the aiohttp engine (`HttpProber(engine="aiohttp")`), which `python -m bench.probe_overhead`
runs side by side with it.

aiohttp's client costs about 0.4 ms of CPU per request with a fresh connection here, more
than half of what a probe may cost. This client is asyncio's low-level API only:
`loop.create_connection` (with `ssl=` for https, so TLS is asyncio's own), the request
written as one prepared bytes object (`prober.probes.prepared`, cached per check), and
the response read by `prober.probes.response.ResponseProtocol` (llhttp) into one future.
A host with several addresses is connected with Happy Eyeballs (RFC 8305,
`aiohappyeyeballs` as aiohttp uses it): one dead address costs 250 ms, not the deadline.
One deadline (`asyncio.timeout`) covers DNS, connect, TLS, every redirect hop, headers
and body.

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
import socket
import ssl
from collections.abc import Callable

import aiohappyeyeballs

from prober.config.model import Check
from prober.probes import expect
from prober.probes.dns import Addr, Resolver
from prober.probes.egress import EgressRefused, permitted
from prober.probes.failures import classify_os
from prober.probes.prepared import Request, redirected
from prober.probes.response import REDIRECT_CODES, ResponseProtocol
from prober.probes.result import Reason
from prober.probes.timing import ProbeTiming, _now

HAPPY_EYEBALLS_DELAY = 0.25  # seconds between attempts (RFC 8305 5; aiohttp's default)
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
        return redirected(request, location, status, check.secret_headers)
    except ValueError as exc:
        outcome.status = None
        outcome.failure = (
            Reason.REDIRECTS,
            f"redirect to an invalid or non-HTTP URL ({exc.args[0]})",
        )
        return None


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
