"""The egress policy (`egress: {allow, deny}`) on every engine: checked for the target and
for every redirect hop, before any connection is opened."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from prober.config import parse_config
from prober.config.model import EgressPolicy
from prober.errors import ConfigError
from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .conformance.harness import BODY, OK, fixed
from .servers import make_check, read_request_head
from .test_happy_eyeballs import ListResolver


def policy(allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> EgressPolicy:
    return EgressPolicy(
        tuple(ipaddress.ip_network(a) for a in allow), tuple(ipaddress.ip_network(d) for d in deny)
    )


@asynccontextmanager
async def server(host: str, answer: bytes) -> AsyncIterator[tuple[int, list[int]]]:
    """A loopback server on `host` (any 127/8 address); yields its port and a list that
    grows by one per accepted connection."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await read_request_head(reader)
            writer.write(answer)
            await writer.drain()
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, host, 0)
    try:
        yield srv.sockets[0].getsockname()[1], accepted
    finally:
        srv.close()
        await srv.wait_closed()


async def test_denied_target_is_never_connected(engine: str) -> None:
    async with server("127.0.0.1", fixed(BODY)) as (port, accepted):
        check = make_check(f"http://127.0.0.1:{port}/", egress=policy(deny=("127.0.0.0/8",)))
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert (r.reason, r.detail) == (
        Reason.CONNECT,
        "connect: 127.0.0.1 is outside the egress policy",
    )
    assert accepted == []


async def test_allowed_network_is_reached(engine: str) -> None:
    async with server("127.0.0.1", fixed(BODY)) as (port, _):
        check = make_check(
            f"http://127.0.0.1:{port}/",
            expect=OK,
            egress=policy(allow=("127.0.0.1/32",), deny=("10.0.0.0/8",)),
        )
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.OK, r.detail


async def test_address_outside_the_allow_list_is_refused(engine: str) -> None:
    async with server("127.0.0.1", fixed(BODY)) as (port, accepted):
        check = make_check(f"http://127.0.0.1:{port}/", egress=policy(allow=("10.0.0.0/8",)))
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.CONNECT and "egress policy" in r.detail
    assert accepted == []


async def test_redirect_hop_to_a_denied_address_is_refused(engine: str) -> None:
    async with server("127.0.0.2", fixed(BODY)) as (inner, accepted):
        hop = (
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%d/\r\nContent-Length: 0"
            b"\r\n\r\n" % inner
        )
        async with server("127.0.0.1", hop) as (outer, _):
            check = make_check(
                f"http://127.0.0.1:{outer}/", expect=OK, egress=policy(deny=("127.0.0.2/32",))
            )
            open_check = make_check(f"http://127.0.0.1:{outer}/", expect=OK)
            async with HttpProber(engine=engine) as p:
                r = await p.probe(check)
                assert accepted == []
                without = await p.probe(open_check)
    assert (r.reason, r.detail) == (
        Reason.CONNECT,
        "connect: 127.0.0.2 is outside the egress policy",
    )
    assert without.reason is Reason.OK, without.detail  # the hop itself works
    assert accepted == [1]


async def test_name_resolving_to_a_denied_address_uses_a_permitted_one(engine: str) -> None:
    async with (
        server("127.0.0.1", fixed(BODY)) as (port, _),
        server("127.0.0.3", fixed(BODY)) as (_, denied_hits),
    ):
        resolver = ListResolver(
            [(socket.AF_INET, "127.0.0.3", port), (socket.AF_INET, "127.0.0.1", port)]
        )
        check = make_check(
            f"http://status.example:{port}/", expect=OK, egress=policy(deny=("127.0.0.3/32",))
        )
        async with HttpProber(resolver=resolver, engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.OK, r.detail
    assert denied_hits == []


@pytest.mark.parametrize(
    ("ip", "ok"),
    [
        ("169.254.169.254", False),
        ("169.254.1.1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:169.254.169.254", False),
        ("93.184.216.34", True),
        ("10.1.2.3", True),
    ],
)
def test_named_sets_link_local_and_metadata(ip: str, ok: bool) -> None:
    text = """\
components: [{id: api, name: API}]
defaults:
  egress:
    deny: [link-local, metadata]
checks:
  - {id: c, component: api, url: "http://x.example/"}
"""
    check = parse_config(text, "t", {}).checks[0]
    assert check.egress is not None
    assert check.egress.permits(ipaddress.ip_address(ip)) is ok


def test_invalid_network_is_reported_where_it_is_written() -> None:
    text = """\
components: [{id: api, name: API}]
checks:
  - id: c
    component: api
    url: "http://x.example/"
    egress:
      allow: [10.0.0.0/8, "not-a-net"]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "checks.yaml", {})
    assert "checks.yaml:7:" in str(info.value)
    assert "checks[0].egress.allow[1]: invalid network 'not-a-net'" in str(info.value)


async def test_kept_alive_connection_is_not_reused_under_a_stricter_policy(engine: str) -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request_head(reader)
                writer.write(fixed(BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    srv = await asyncio.start_server(keep_alive, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}/"
        async with HttpProber(engine=engine) as p:
            opened = await p.probe(make_check(url, expect=OK, fresh_connection=False))
            strict = await p.probe(
                make_check(url, fresh_connection=False, egress=policy(deny=("127.0.0.0/8",)))
            )
    finally:
        srv.close()
        await srv.wait_closed()
    assert opened.reason is Reason.OK, opened.detail
    assert (strict.reason, strict.detail) == (
        Reason.CONNECT,
        "connect: 127.0.0.1 is outside the egress policy",
    )
