"""A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for resolver tests: A records
with the TTLs given, NXDOMAIN for unknown names, and names it never answers ("hang")."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

Zone = dict[str, "list[tuple[str, int]] | str"]


class DnsServer(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.queries: list[tuple[str, int]] = []  # (name, qtype) in arrival order
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def count(self, name: str, qtype: int = 1) -> int:
        return self.queries.count((name, qtype))

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        qid = struct.unpack("!H", data[:2])[0]
        i, labels = 12, []
        while data[i]:
            n = data[i]
            labels.append(data[i + 1 : i + 1 + n].decode())
            i += 1 + n
        qtype = struct.unpack("!H", data[i + 1 : i + 3])[0]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        entry = self.zone.get(name)
        if entry == "hang":
            return
        answers = b""
        count = 0
        if isinstance(entry, list) and qtype == 1:
            for ip, ttl in entry:
                answers += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(ip)
                count += 1
        rcode = 0 if entry is not None else 3
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, count, 0, 0)
        assert self.transport is not None
        self.transport.sendto(head + data[12 : i + 5] + answers, addr)


@asynccontextmanager
async def dns_server(zone: Zone) -> AsyncIterator[tuple[DnsServer, str]]:
    """Yields the server and its "127.0.0.1:PORT" address for a resolver."""
    loop = asyncio.get_running_loop()
    server = DnsServer(zone)
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
    try:
        yield server, f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()
