"""RFC 8305 Happy Eyeballs on every engine: a host whose first address never answers is
reached through the next one well inside the deadline, IPv4 and IPv6 alike."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .conformance.harness import BODY, OK, fixed
from .servers import make_check, raw_server, read_request_head


class ListResolver(AbstractResolver):
    """Answers every name with the given (family, ip, port) addresses, in order."""

    def __init__(self, addrs: list[tuple[int, str, int]]) -> None:
        self.addrs = addrs

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": ip, "port": p, "family": fam, "proto": 0, "flags": 0}
            for fam, ip, p in self.addrs
        ]

    async def close(self) -> None:
        pass


@contextmanager
def blackhole(family: int = socket.AF_INET, host: str = "127.0.0.1") -> Iterator[int]:
    """A loopback port that never completes a TCP handshake: a listener with a full
    backlog that never accepts, so the kernel drops further SYNs (a dead address)."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setblocking(False)
            with suppress(BlockingIOError):
                c.connect((host, port))
            fillers.append(c)
        yield port
    finally:
        for c in fillers:
            c.close()
        listener.close()


def refused_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


async def serve(reader, writer) -> None:  # type: ignore[no-untyped-def]
    await read_request_head(reader)
    writer.write(fixed(BODY))
    await writer.drain()


async def test_rfc8305_dead_first_address_connects_via_the_next(engine: str) -> None:
    async with raw_server(serve) as url:
        live = int(url.rsplit(":", 1)[1])
        with blackhole() as dead:
            resolver = ListResolver(
                [(socket.AF_INET, "127.0.0.1", dead), (socket.AF_INET, "127.0.0.1", live)]
            )
            async with HttpProber(resolver=resolver, engine=engine) as p:
                r = await p.probe(
                    make_check(f"http://status.example:{live}/", expect=OK, timeout=3.0)
                )
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
async def test_rfc8305_ipv6_first_then_ipv4(engine: str) -> None:
    async with raw_server(serve) as url:
        live = int(url.rsplit(":", 1)[1])
        with blackhole(socket.AF_INET6, "::1") as dead:
            resolver = ListResolver(
                [(socket.AF_INET6, "::1", dead), (socket.AF_INET, "127.0.0.1", live)]
            )
            async with HttpProber(resolver=resolver, engine=engine) as p:
                r = await p.probe(
                    make_check(f"http://status.example:{live}/", expect=OK, timeout=3.0)
                )
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail


async def test_rfc8305_every_address_refused_is_connect(engine: str) -> None:
    resolver = ListResolver(
        [
            (socket.AF_INET, "127.0.0.1", refused_port()),
            (socket.AF_INET, "127.0.0.1", refused_port()),
        ]
    )
    async with HttpProber(resolver=resolver, engine=engine) as p:
        r = await p.probe(make_check("http://status.example:81/", timeout=3.0))
    assert r.reason is Reason.CONNECT, r.detail


async def test_rfc8305_every_address_dead_is_a_connect_timeout(engine: str) -> None:
    with blackhole() as a, blackhole() as b:
        resolver = ListResolver(
            [(socket.AF_INET, "127.0.0.1", a), (socket.AF_INET, "127.0.0.1", b)]
        )
        async with HttpProber(resolver=resolver, engine=engine) as p:
            r = await p.probe(make_check("http://status.example:81/", timeout=0.8))
    assert (r.reason, r.detail) == (Reason.TIMEOUT, "timeout after 0.8s (connecting)")
