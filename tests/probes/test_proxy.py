"""Proxies, per check (`proxy: http://...` or `proxy: env`), against a tiny loopback
forward proxy; without `proxy:` the environment's proxy variables are not used."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from prober.config.model import EgressPolicy, TLSOptions
from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .conformance.harness import BODY, OK, fixed
from .servers import Pki, make_check, raw_server, read_request_head
from .test_http_tls import tls_server


class ForwardProxy:
    """An HTTP forward proxy for http:// targets: keeps each request line, relays the
    request to the origin it names and the answer back."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_request_head(reader)
        line = head.split(b"\r\n", 1)[0].decode()
        self.lines.append(line)
        _, target, _ = line.split(" ")
        hostport = target.split("/")[2]
        host, port = hostport.rsplit(":", 1)
        path = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        rest = head.split(b"\r\n", 1)[1]
        up_writer.write(f"GET {path} HTTP/1.1\r\n".encode() + rest)
        await up_writer.drain()
        writer.write(await up_reader.read())
        await writer.drain()
        up_writer.close()


@asynccontextmanager
async def proxied_origin() -> AsyncIterator[tuple[str, str, ForwardProxy, list[int]]]:
    hits: list[int] = []

    async def origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(1)
        await read_request_head(reader)
        writer.write(fixed(BODY, "Connection: close"))
        await writer.drain()

    proxy = ForwardProxy()
    async with raw_server(origin) as origin_url, raw_server(proxy) as proxy_url:
        yield origin_url, proxy_url, proxy, hits


async def test_configured_proxy_carries_the_request(engine: str) -> None:
    async with proxied_origin() as (origin, proxy_url, proxy, hits):
        check = make_check(origin + "/health", expect=OK, proxy=proxy_url)
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.OK, r.detail
    assert proxy.lines == [f"GET {origin}/health HTTP/1.1"]
    assert hits == [1]


async def test_env_proxy_is_used_only_when_asked(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with proxied_origin() as (origin, proxy_url, proxy, hits):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with HttpProber(engine=engine) as p:
            direct = await p.probe(make_check(origin + "/", expect=OK))
            assert proxy.lines == []  # no `proxy:`: the variables are not used
            via_env = await p.probe(make_check(origin + "/", expect=OK, proxy="env"))
    assert direct.reason is Reason.OK and via_env.reason is Reason.OK, via_env.detail
    assert proxy.lines == [f"GET {origin}/ HTTP/1.1"]
    assert hits == [1, 1]


async def test_no_proxy_bypasses_the_env_proxy(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with proxied_origin() as (origin, proxy_url, proxy, hits):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with HttpProber(engine=engine) as p:
            r = await p.probe(make_check(origin + "/", expect=OK, proxy="env"))
    assert r.reason is Reason.OK, r.detail
    assert proxy.lines == []
    assert hits == [1]


async def test_unreachable_proxy_is_a_connect_failure(engine: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    async with HttpProber(engine=engine) as p:
        r = await p.probe(make_check("http://127.0.0.1:9/", proxy=f"http://127.0.0.1:{dead}"))
    assert r.reason is Reason.CONNECT, r.detail


class ConnectProxy:
    """An HTTPS proxy: answers CONNECT host:port, then pipes bytes both ways."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_request_head(reader)
        line = head.split(b"\r\n", 1)[0].decode()
        self.lines.append(line)
        method, target, _ = line.split(" ")
        assert method == "CONNECT"
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )


async def test_https_goes_through_a_connect_tunnel(engine: str, pki: Pki) -> None:
    proxy = ConnectProxy()
    async with tls_server(pki.server_cert, pki.server_key) as url, raw_server(proxy) as proxy_url:
        check = make_check(url + "/", proxy=proxy_url, tls=TLSOptions(ca_file=pki.ca_file))
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.OK, r.detail
    assert proxy.lines == [f"CONNECT {url.removeprefix('https://')} HTTP/1.1"]
    assert r.cert_expiry == pki.server_not_after


async def test_egress_policy_applies_to_the_proxy_address(engine: str) -> None:
    async with proxied_origin() as (origin, proxy_url, proxy, hits):
        check = make_check(
            origin + "/",
            proxy=proxy_url,
            egress=EgressPolicy(deny=(ipaddress.ip_network("127.0.0.0/8"),)),
        )
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    assert r.reason is Reason.CONNECT, r.detail
    assert proxy.lines == [] and hits == []
