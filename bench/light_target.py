"""A light HTTP target for when nginx is missing: a raw asyncio server, one process.

GET /ok answers 200 "ok", /fail answers 500, anything else 404. HTTP/1.1 keep-alive is
honoured (the blackbox driver keeps connections; probes close theirs). Run as
`python -m bench.light_target`; it prints its port on stdout, then serves until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

_RESPONSES = {
    b"/ok": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n",
    b"/fail": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n",
}
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
_MAX_HEAD = 16384


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            if len(head) > _MAX_HEAD:
                return
            request_line, _, rest = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            path = parts[1].split(b"?")[0] if len(parts) > 1 else b""
            close = b"connection: close" in rest.lower()
            status = _RESPONSES.get(path, _NOT_FOUND)
            body = b"ok" if path == b"/ok" else b""
            conn = b"Connection: close\r\n\r\n" if close else b"\r\n"
            writer.write(status + conn + body)
            if close:
                await writer.drain()
                return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _main() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
