"""A lean HTTP/1.1 keep-alive GET client for the load generator.

aiohttp's client costs a few hundred microseconds of CPU per request; at 1,000 requests per
second that is noise the load generator would add to the latencies it measures. This client
is an asyncio Protocol on persistent connections: one request in flight per connection, a
Content-Length or chunked body, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buf[:end]).split(b"\r\n")
        length = None
        chunked = False
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            done = _dechunk(self.buf, end + 4)
            if done is None:
                return
            body, used = done
        elif length is None:
            self.waiter.set_exception(HttpError("response without a length"))
            return
        elif len(self.buf) < end + 4 + length:
            return
        else:
            body, used = bytes(self.buf[end + 4 : end + 4 + length]), end + 4 + length
        del self.buf[:used]
        status = int(head[0].split(b" ", 2)[1])
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((status, body))


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """(body, end offset) of a complete chunked body starting at `pos`, or None if partial."""
    parts: list[bytes] = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        start = eol + 2
        if size == 0:
            trailer = buf.find(b"\r\n\r\n", eol)  # no trailers: the CRLF right after
            if buf[start : start + 2] == b"\r\n":
                return b"".join(parts), start + 2
            return None if trailer < 0 else (b"".join(parts), trailer + 4)
        if len(buf) < start + size + 2:
            return None
        parts.append(bytes(buf[start : start + size]))
        pos = start + size + 2


class Client:
    """`await get()` on a pool of at most `connections` kept-alive connections to one URL."""

    def __init__(self, url: str, connections: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        self.request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "User-Agent: prober-bench\r\nAccept: */*\r\n\r\n"
        ).encode()
        self.idle: asyncio.Queue[_Conn | None] = asyncio.Queue()
        for _ in range(connections):
            self.idle.put_nowait(None)  # a slot: a connection opened on first use

    async def _open(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.host, self.port)
        return conn

    async def get(self, deadline: float) -> tuple[int, bytes]:
        conn = await self.idle.get()
        keep: _Conn | None = None
        try:
            if conn is None or conn.closed:
                conn = await asyncio.wait_for(self._open(), deadline)
            assert conn.transport is not None
            conn.waiter = asyncio.get_running_loop().create_future()
            conn.transport.write(self.request)
            result = await asyncio.wait_for(conn.waiter, deadline)
            keep = conn
            return result
        finally:
            if keep is None and conn is not None and conn.transport is not None:
                conn.transport.close()  # a failed or abandoned exchange: never reuse it
            self.idle.put_nowait(keep)

    def close(self) -> None:
        while not self.idle.empty():
            conn = self.idle.get_nowait()
            if conn is not None and conn.transport is not None:
                conn.transport.close()
