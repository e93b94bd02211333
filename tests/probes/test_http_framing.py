"""Response framing, decoding, request shape, redirects and DNS caching, against raw local
servers, on both engines (the lean client must read what aiohttp reads)."""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from prober.config.model import Expectations, StatusRange
from prober.probes.dns import Resolver
from prober.probes.fasthttp import FastClient
from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .servers import make_check, open_fds, raw_server, read_request_head

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
TEXT = Expectations(body_contains=("all systems operational",))


def answer(raw: bytes) -> Callable[[Reader, Writer], Awaitable[None]]:
    """A handler that reads the request head, sends `raw` and closes."""

    async def handler(reader: Reader, writer: Writer) -> None:
        await read_request_head(reader)
        writer.write(raw)
        await writer.drain()

    return handler


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [
        b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\nX-Trailer: t\r\n\r\n"


def _gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


BODY = b"hello, all systems operational"
GOOD = [
    ("content_length", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)),
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(BODY)),
    ("close_delimited", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY),
    (
        "early_hints",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
    ),
    (
        "deflate_zlib",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
        % (len(zlib.compress(BODY)), zlib.compress(BODY)),
    ),
    (
        "gzip_chunked",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(_gzip(BODY)),
    ),
]


@pytest.mark.parametrize("raw", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
async def test_body_framings_and_codings(prober: HttpProber, raw: bytes) -> None:
    async with raw_server(answer(raw)) as url:
        r = await prober.probe(make_check(url + "/", expect=TEXT))
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail
    assert r.phases["processing"] > 0


async def test_body_is_read_only_when_expected_to_fail(prober: HttpProber) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"degraded")
    async with raw_server(answer(raw)) as url:
        r = await prober.probe(make_check(url + "/", expect=TEXT))
    assert (r.reason, r.detail) == (
        Reason.ASSERTION,
        'body does not contain "all systems operational"',
    )


BAD = [
    (
        "bad_chunk_size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    ),
    ("conflicting_lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
    ("short_body", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this"),
    ("header_without_colon", b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n"),
    ("bad_status_code", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    (
        "corrupt_gzip",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789",
    ),
]


@pytest.mark.parametrize("raw", [b[1] for b in BAD], ids=[b[0] for b in BAD])
async def test_malformed_responses_are_protocol(prober: HttpProber, raw: bytes) -> None:
    async with raw_server(answer(raw)) as url:
        r = await prober.probe(make_check(url + "/", timeout=1.0))
    assert r.reason is Reason.PROTOCOL, r.detail
    assert r.detail.startswith("protocol: "), r.detail


async def test_declared_length_past_the_cap(prober: HttpProber) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    async with raw_server(answer(raw)) as url:
        r = await prober.probe(make_check(url + "/", max_body_bytes=4096))
        ok = await prober.probe(make_check(url + "/", max_body_bytes=5000))
    assert (r.reason, r.status_code) == (Reason.BODY_TOO_LARGE, 200)
    assert r.detail == "body larger than 4096 bytes (decoded)"
    assert ok.reason is Reason.OK, ok.detail


async def test_no_content_needs_no_body(prober: HttpProber) -> None:
    async def no_content(reader: Reader, writer: Writer) -> None:
        await read_request_head(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        await reader.read()  # keeps the connection open: the client must not wait for EOF

    expect = Expectations(status=(StatusRange(204, 204),))
    async with raw_server(no_content) as url:
        r = await prober.probe(make_check(url + "/", expect=expect, timeout=1.0))
    assert (r.reason, r.status_code) == (Reason.OK, 204), r.detail


async def test_request_shape(prober: HttpProber) -> None:
    heads: list[bytes] = []
    bodies: list[bytes] = []

    async def capture(reader: Reader, writer: Writer) -> None:
        head = await read_request_head(reader)
        heads.append(head)
        length = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
        if length:
            bodies.append(await reader.readexactly(int(length[0].split(b":")[1])))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(capture) as url:
        check = make_check(
            url + "/path?q=1", method="POST", body="ping", headers=(("X-Probe", "yes"),)
        )
        r = await prober.probe(check)
    assert r.reason is Reason.OK, r.detail
    lines = heads[0].decode().split("\r\n")
    assert lines[0] == "POST /path?q=1 HTTP/1.1"
    fields = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    assert fields["host"] == url.removeprefix("http://")
    assert fields["x-probe"] == "yes"
    assert fields["user-agent"] == "prober/0.1"
    assert fields["content-length"] == "4"
    assert bodies == [b"ping"]


async def test_fast_engine_asks_the_server_to_close() -> None:
    heads: list[bytes] = []

    async def capture(reader: Reader, writer: Writer) -> None:
        heads.append(await read_request_head(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with HttpProber(engine="fast") as p, raw_server(capture) as url:
        r = await p.probe(make_check(url + "/"))
    assert r.ok
    assert b"\r\nConnection: close\r\n" in heads[0]


async def test_post_redirected_by_303_becomes_get(prober: HttpProber) -> None:
    seen: list[bytes] = []

    async def server(reader: Reader, writer: Writer) -> None:
        head = await read_request_head(reader)
        seen.append(head.split(b"\r\n")[0])
        if head.startswith(b"POST"):
            await reader.readexactly(4)
            writer.write(b"HTTP/1.1 303 See Other\r\nLocation: /done\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(server) as url:
        r = await prober.probe(make_check(url + "/form", method="POST", body="ping"))
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail
    assert seen == [b"POST /form HTTP/1.1", b"GET /done HTTP/1.1"]


async def test_redirect_to_non_http_url(prober: HttpProber) -> None:
    raw = b"HTTP/1.1 302 Found\r\nLocation: ftp://example.com/x\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(answer(raw)) as url:
        r = await prober.probe(make_check(url + "/"))
    assert r.reason is Reason.REDIRECTS
    assert r.detail == "redirect to an invalid or non-HTTP URL (NonHttpUrlRedirectClientError)"


class CountingResolver(AbstractResolver):
    def __init__(self, port: int) -> None:
        self.port = port
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls += 1
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        pass


async def test_dns_answers_are_cached_briefly(engine: str) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with raw_server(answer(raw)) as url:
        port = int(url.rsplit(":", 1)[1])
        resolver = CountingResolver(port)
        async with HttpProber(resolver=resolver, engine=engine) as p:
            check = make_check(f"http://status.example.com:{port}/")
            first = await p.probe(check)
            second = await p.probe(check)
    assert first.reason is Reason.OK and second.reason is Reason.OK, (first, second)
    assert resolver.calls == 1
    assert first.phases["dns"] > 0
    assert second.phases["dns"] == 0


async def test_cancelled_probe_closes_its_socket(engine: str) -> None:
    accepted = asyncio.Event()

    async def hold(reader: Reader, writer: Writer) -> None:
        accepted.set()
        await reader.read()

    async with raw_server(hold) as url:
        fds = open_fds()
        async with HttpProber(engine=engine) as p:
            task = asyncio.create_task(p.probe(make_check(url + "/", timeout=5.0)))
            await asyncio.wait_for(accepted.wait(), 2.0)
            assert open_fds() > fds
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        for _ in range(5):
            await asyncio.sleep(0)
        assert open_fds() <= fds + 1  # the server's own side may still be closing


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        HttpProber(engine="curl")


async def test_response_split_into_single_bytes(prober: HttpProber) -> None:
    """Every boundary (status line, head terminator, chunk sizes, CRLFs, trailers, gzip)
    falls between two reads."""
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(_gzip(BODY), size=3)
    )

    async def bytewise(reader: Reader, writer: Writer) -> None:
        await read_request_head(reader)
        for i in range(len(raw)):
            writer.write(raw[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)

    async with raw_server(bytewise) as url:
        r = await prober.probe(make_check(url + "/", expect=TEXT, timeout=5.0))
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail


@pytest.mark.parametrize(
    ("url", "kw", "covered"),
    [
        ("http://127.0.0.1:8080/health?x=1", {}, True),
        ("https://status.example.com/", {"method": "HEAD"}, True),
        ("http://127.0.0.1:8080/", {"fresh_connection": False}, False),
        ("http://user:pass@127.0.0.1:8080/", {}, False),
        ("http://127.0.0.1:8080/a b", {}, True),
        ("http://faß.example/ü", {}, True),
        ("http://127.0.0.1:8080/", {"headers": (("X-Bad", "a\r\nInjected: 1"),)}, False),
    ],
)
def test_what_the_lean_client_covers(url: str, kw: dict[str, object], covered: bool) -> None:
    client = FastClient(lambda origin, ssl_object: None, Resolver())
    check = make_check(url, **kw)
    assert (client.prepare(check) is not None) is covered
    assert client.prepare(check) is client.prepare(check)  # prepared once per check
