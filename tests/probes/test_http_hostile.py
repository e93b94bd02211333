"""Hostile and broken targets: each probe fails within its deadline with the right reason,
leaks no task or socket, and does not hold up a healthy probe running beside it."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .servers import app_server, make_check, open_fds, raw_server, read_request_head

TIMEOUT = 0.5
HANG_GUARD = TIMEOUT + 2.0  # only catches hangs; not a benchmark


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client gives up and closes


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.02)


async def trickle_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    for c in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 2000:
        writer.write(bytes([c]))
        await writer.drain()
        await asyncio.sleep(0.02)


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"z" * 65536)
    for _ in range(100_000):  # bounded: ~6 GB, far past any cap
        if writer.is_closing():
            return
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0)


def gzip_bomb(size: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join([c.compress(zeros) for _ in range(size >> 20)] + [c.flush()])


BOMB = gzip_bomb(64 << 20)  # 64 MiB of zeros in ~64 KiB


async def bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(BOMB)
    )
    writer.write(BOMB)
    await writer.drain()
    await reader.read()


async def reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # RST


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2p1\r\n\x00\x01\x02 not http at all\r\n\r\n")
    await writer.drain()
    await reader.read()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)


async def huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * 100_000 + b"\r\n\r\n")
    await writer.drain()
    await reader.read()


async def header_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(100_000):  # bounded; endless in spirit
        if writer.is_closing():
            return
        writer.write(b"X-H%d: v\r\n" % i)
        if i % 100 == 0:
            await writer.drain()
            await asyncio.sleep(0)  # the server shares the test's loop: let the client run
    await reader.read()


HOSTILE = [
    (never_answers, Reason.TIMEOUT, "timeout after 0.5s (waiting for response headers)"),
    (trickle, Reason.TIMEOUT, "timeout after 0.5s (reading body after"),
    (trickle_headers, Reason.TIMEOUT, "timeout after 0.5s"),
    (endless, Reason.BODY_TOO_LARGE, "body larger than 1048576 bytes (decoded)"),
    (bomb, Reason.BODY_TOO_LARGE, "body larger than 1048576 bytes (decoded)"),
    (garbage, Reason.PROTOCOL, "protocol: "),
    (hang_up, Reason.PROTOCOL, "protocol: server closed the connection"),
    (huge_header, Reason.PROTOCOL, "protocol: "),
    (header_flood, Reason.PROTOCOL, "protocol: "),
]


@pytest.mark.parametrize(
    ("handler", "reason", "detail"), HOSTILE, ids=[h[0].__name__ for h in HOSTILE]
)
async def test_hostile_target(
    prober: HttpProber, handler: object, reason: Reason, detail: str
) -> None:
    async with raw_server(handler) as url:  # type: ignore[arg-type]
        began = time.monotonic()
        r = await prober.probe(make_check(url + "/", timeout=TIMEOUT))
        assert time.monotonic() - began < HANG_GUARD
    assert r.reason is reason, r.detail
    assert r.detail.startswith(detail), r.detail


async def test_reset_mid_body(prober: HttpProber) -> None:
    async with raw_server(reset_mid_body) as url:
        r = await prober.probe(make_check(url + "/", timeout=TIMEOUT))
    assert r.reason in (Reason.PROTOCOL, Reason.CONNECT), r.detail
    assert r.status_code == 200


async def test_gzip_bomb_memory_is_bounded(prober: HttpProber) -> None:
    async with raw_server(bomb) as url:
        check = make_check(url + "/", timeout=2.0, max_body_bytes=256 * 1024)
        tracemalloc.start()
        try:
            r = await prober.probe(check)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert r.reason is Reason.BODY_TOO_LARGE
    assert peak < 16 << 20, f"peak {peak} bytes while inflating a 64 MiB bomb"


async def test_small_gzip_body_is_decoded(prober: HttpProber) -> None:
    async def small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        body = gzip_bomb(1 << 20)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % len(body) + body
        )
        await writer.drain()

    async with raw_server(small) as url:
        ok = await prober.probe(make_check(url + "/", max_body_bytes=1 << 20))
        big = await prober.probe(make_check(url + "/", max_body_bytes=(1 << 20) - 1))
    assert ok.reason is Reason.OK, ok.detail
    assert big.reason is Reason.BODY_TOO_LARGE


async def test_connection_refused(prober: HttpProber) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await prober.probe(make_check(f"http://127.0.0.1:{port}/"))
    assert (r.reason, r.detail) == (Reason.CONNECT, "connect: connection refused")
    assert r.status_code is None


class FailingResolver(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        pass


async def test_dns_failure_through_resolver_seam(engine: str) -> None:
    async with HttpProber(resolver=FailingResolver(), engine=engine) as p:
        r = await p.probe(make_check("http://status.example.com/"))
    assert (r.reason, r.detail) == (Reason.DNS, "dns: name or service not known")


async def test_unresolvable_invalid_name(prober: HttpProber) -> None:
    r = await prober.probe(make_check("http://no-such-host.invalid/", timeout=3.0))
    assert r.reason is Reason.DNS, r.detail


async def test_cancellation_propagates(prober: HttpProber) -> None:
    accepted = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()

    async with raw_server(hold) as url:
        task = asyncio.create_task(prober.probe(make_check(url + "/", timeout=5.0)))
        await asyncio.wait_for(accepted.wait(), 2.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def healthy() -> AsyncIterator[str]:
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/", ok)
    async with app_server(app) as url:
        yield url


async def test_hostile_target_does_not_delay_healthy_probe(
    prober: HttpProber, healthy: str
) -> None:
    async with raw_server(never_answers) as bad, raw_server(endless) as flood:
        hostile = [
            asyncio.create_task(prober.probe(make_check(bad + "/", timeout=1.0))) for _ in range(5)
        ] + [asyncio.create_task(prober.probe(make_check(flood + "/", timeout=1.0)))]
        good = asyncio.create_task(prober.probe(make_check(healthy + "/", timeout=1.0)))
        done, _ = await asyncio.wait([good, *hostile[:5]], return_when=asyncio.FIRST_COMPLETED)
        assert done == {good}  # finished while every silent target still hangs
        assert good.result().ok
        results = await asyncio.gather(*hostile)
    assert [r.reason for r in results] == [Reason.TIMEOUT] * 5 + [Reason.BODY_TOO_LARGE]


async def test_no_leaked_tasks_or_sockets(healthy: str, engine: str) -> None:
    handlers = [h for h, _, _ in HOSTILE if h is not bomb] + [reset_mid_body]
    fds_before = open_fds()
    tasks_before = asyncio.all_tasks()
    p = HttpProber(engine=engine)
    async with raw_server(never_answers) as silent:
        for _ in range(3):
            for handler in handlers:
                async with raw_server(handler) as url:  # type: ignore[arg-type]
                    await p.probe(make_check(url + "/", timeout=0.3))
            r = await p.probe(make_check(healthy + "/", fresh_connection=False))
            assert r.ok
        # many concurrent timeouts against one silent server
        results = await asyncio.gather(
            *(p.probe(make_check(silent + "/", timeout=0.3)) for _ in range(50))
        )
        assert {r.reason for r in results} == {Reason.TIMEOUT}
    await p.close()
    for _ in range(5):
        await asyncio.sleep(0)
    assert asyncio.all_tasks() - tasks_before == set()
    assert open_fds() <= fds_before + 2
