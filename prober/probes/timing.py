"""Phase timings of one HTTP probe (dns, connect, tls, processing, transfer).

The lean client (`prober.probes.fasthttp`) marks the phases itself through the plain methods
below; for aiohttp, its TraceConfig reports DNS and connection set-up. TLS has no signal
of its own in either, so the TLS contexts built in `prober.probes.tls` note when the
handshake starts through the `current_timing` context variable (TCP connect ends there).
Only the few aiohttp signals needed are subscribed, and each callback is one method call,
because the CPU spent per probe is part of the product.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp

_now = time.monotonic


class ProbeTiming:
    """Mutable timestamps of one probe; hops of a redirect chain add up."""

    __slots__ = (
        "body_bytes",
        "conn_end",
        "conn_start",
        "connect",
        "dns",
        "dns_before",
        "dns_start",
        "headers_at",
        "processing",
        "ready_at",
        "ssl_object",
        "start",
        "tls",
        "tls_start",
    )

    def __init__(self, start: float) -> None:
        self.start = start
        self.dns = 0.0
        self.connect = 0.0
        self.tls = 0.0
        self.processing = 0.0
        self.dns_start = 0.0
        self.dns_before = 0.0
        self.conn_start = 0.0
        self.conn_end = 0.0
        self.tls_start = 0.0
        self.ready_at = start  # when the current hop's request could be sent
        self.headers_at = 0.0  # when the last hop's response headers arrived
        self.body_bytes = 0
        self.ssl_object: object = None  # the last hop's new TLS session, if any

    # Plain (synchronous) marks, shared by the aiohttp trace callbacks below and by the
    # Protocol client in `prober.probes.fasthttp`.

    def conn_started(self, now: float) -> None:
        self.conn_start = now
        self.conn_end = 0.0
        self.tls_start = 0.0
        self.dns_start = 0.0
        self.dns_before = self.dns

    def conn_done(self, now: float) -> None:
        self.conn_end = now
        tcp_end = now
        if self.tls_start:
            self.tls += now - self.tls_start
            tcp_end = self.tls_start
        # DNS resolution happens inside connection creation: do not count it twice.
        self.connect += max(0.0, tcp_end - self.conn_start - (self.dns - self.dns_before))
        self.ready_at = now

    def headers_done(self, now: float) -> None:
        self.processing += now - self.ready_at
        self.headers_at = now
        self.ready_at = now

    def stage(self) -> str:
        """Where the probe was, for a timeout's explanation."""
        if self.headers_at:
            return f"reading body after {self.body_bytes} bytes"
        if self.conn_start and not self.conn_end:
            if self.tls_start:
                return "during TLS handshake"
            if self.dns_start and self.dns == self.dns_before:
                return "resolving host"
            return "connecting"
        return "waiting for response headers"

    def phases(self, end: float) -> dict[str, float]:
        transfer = end - self.headers_at if self.headers_at else 0.0
        dns, connect, tls = self.dns, self.connect, self.tls
        if self.conn_start and not self.conn_end:  # failed or timed out while connecting
            if self.tls_start:
                tls += end - self.tls_start
            elif self.dns_start and dns == self.dns_before:
                dns += end - self.dns_start
            else:
                connect += end - self.conn_start - (dns - self.dns_before)
        return {
            "dns": dns,
            "connect": connect,
            "tls": tls,
            "processing": self.processing,
            "transfer": transfer,
        }


# Set by the probe for the duration of its request; read by the TLS handshake hook.
current_timing: ContextVar[ProbeTiming | None] = ContextVar("current_timing", default=None)


def _timing(ctx: SimpleNamespace) -> ProbeTiming | None:
    t = ctx.trace_request_ctx
    return t if isinstance(t, ProbeTiming) else None


async def _dns_start(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None:
        t.dns_start = _now()


async def _dns_end(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None and t.dns_start:
        t.dns += _now() - t.dns_start


async def _conn_start(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None:
        t.conn_started(_now())


async def _conn_end(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None:
        t.conn_done(_now())


async def _reuse(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None:
        t.ready_at = _now()


async def _request_end(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
    t = _timing(ctx)
    if t is not None:
        t.headers_done(_now())


def make_trace_config() -> aiohttp.TraceConfig:
    tc = aiohttp.TraceConfig()
    tc.on_dns_resolvehost_start.append(_dns_start)
    tc.on_dns_resolvehost_end.append(_dns_end)
    tc.on_connection_create_start.append(_conn_start)
    tc.on_connection_create_end.append(_conn_end)
    tc.on_connection_reuseconn.append(_reuse)
    tc.on_request_end.append(_request_end)
    tc.on_request_redirect.append(_request_end)
    return tc
