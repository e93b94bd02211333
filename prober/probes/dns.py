"""Name resolution for probes: c-ares through `aiodns`, shared, cached for the answer's TTL.

Why c-ares and not the loop's `getaddrinfo`: asyncio runs getaddrinfo in its default
thread pool (a handful of threads), and a lookup that hangs (an unresponsive name server,
a black-holed zone) holds its thread until the system resolver gives up, so a few hung
names starve every other check's lookups, on both engines. c-ares sends its queries on
non-blocking sockets in the event loop: a hung lookup costs one pending query and delays
nobody else. It also returns each record's TTL, which getaddrinfo hides, so answers are
cached exactly as long as the zone allows (capped at MAX_TTL; a TTL of 0 is not cached;
c-ares keeps a TTL-bound cache of its own underneath).
`/etc/hosts` is read first, then the name servers and search domains of resolv.conf, as
the system resolver does; names that only other NSS modules know (mDNS, LDAP) are not
resolved (the price of not blocking threads). c-ares takes its timeout and attempts from
resolv.conf's `options` (else its own defaults), as the system resolver does, so every
query ends by itself, whatever the probes waiting on it do.

Concurrent lookups of one (name, port) share one query: a second probe awaits the first
one's answer. Each caller waits under its own deadline (the probe's `asyncio.timeout`) and
a caller that gives up does not cancel the query for the others (`asyncio.shield`). A
failed lookup (no such name, no answer) is remembered for NEGATIVE_TTL seconds, so a
broken name costs one query per few seconds, not one per probe. The cache holds at most
MAX_ENTRIES names (cleared whole beyond that: probes then simply ask again).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any, Final

import aiodns
import aiodns.error
from aiohttp.abc import AbstractResolver, ResolveResult

from prober.probes.timing import current_timing

Addr = tuple[int, str, int]  # family, IP, port

MAX_TTL: Final = 300.0  # seconds an answer is kept at most, whatever its TTL
NEGATIVE_TTL: Final = 5.0  # seconds a failed lookup is remembered
MAX_ENTRIES: Final = 16384
SEAM_TTL: Final = 10.0

# c-ares status codes (ARES_E*) that mean "this name has no address"
_NO_NAME: Final = frozenset({1, 4})  # ENODATA, ENOTFOUND
_TIMEOUT: Final = 12  # ETIMEOUT


def _gaierror(exc: aiodns.error.DNSError) -> socket.gaierror:
    code = exc.args[0] if exc.args else None
    if code in _NO_NAME:
        return socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if code == _TIMEOUT:
        return socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    text = str(exc.args[1]) if len(exc.args) > 1 else "name resolution failed"
    return socket.gaierror(socket.EAI_FAIL, text)


class Resolver:
    """Resolves (name, port) to addresses for probes; see the module doc."""

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        clock: Any = time.monotonic,
        seam: AbstractResolver | None = None,
    ) -> None:
        """`nameservers` ("ip" or "ip:port") replace resolv.conf's; `seam` replaces c-ares
        altogether (its answers, which carry no TTL, are kept SEAM_TTL seconds): both are
        test seams."""
        self._nameservers = list(nameservers) if nameservers else None
        self._seam = seam
        self._clock = clock
        self._cares: aiodns.DNSResolver | None = None
        self._cache: dict[tuple[str, int], tuple[float, list[Addr] | socket.gaierror]] = {}
        self._pending: dict[tuple[str, int], asyncio.Task[tuple[list[Addr], float]]] = {}
        self.queries = 0  # lookups sent to c-ares (for tests and benchmarks)

    def cached(self, host: str, port: int) -> list[Addr] | None:
        """The cached answer, if one is fresh (raises the cached failure)."""
        hit = self._cache.get((host, port))
        if hit is None or hit[0] <= self._clock():
            return None
        answer = hit[1]
        if isinstance(answer, socket.gaierror):
            raise answer
        return answer

    async def resolve(self, host: str, port: int) -> list[Addr]:
        """Every address of `host`, in the resolver's order; raises socket.gaierror."""
        found = self.cached(host, port)
        if found is not None:
            return found
        key = (host, port)
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(host, port))
            self._pending[key] = task
            task.add_done_callback(lambda t, k=key: self._settle(k, t))  # type: ignore[misc]
        addrs, _ = await asyncio.shield(task)
        return addrs

    def _settle(self, key: tuple[str, int], task: asyncio.Task[tuple[list[Addr], float]]) -> None:
        self._pending.pop(key, None)
        if task.cancelled():
            return
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        exc = task.exception()
        if isinstance(exc, socket.gaierror):
            self._cache[key] = (self._clock() + NEGATIVE_TTL, exc)
        elif exc is None:
            addrs, ttl = task.result()
            if ttl > 0:
                self._cache[key] = (self._clock() + min(ttl, MAX_TTL), addrs)

    async def _query(self, host: str, port: int) -> tuple[list[Addr], float]:
        if self._seam is not None:
            self.queries += 1
            found = await self._seam.resolve(host, port, family=socket.AF_UNSPEC)
            seen = list(dict.fromkeys((r["family"], r["host"], r["port"]) for r in found))
            if not seen:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return seen, SEAM_TTL
        if self._cares is None:
            self._cares = aiodns.DNSResolver(nameservers=self._nameservers)
        self.queries += 1
        try:
            result = await self._cares.getaddrinfo(host, port=port, type=socket.SOCK_STREAM)
        except aiodns.error.DNSError as exc:
            raise _gaierror(exc) from None
        addrs: list[Addr] = []
        ttl = MAX_TTL
        for node in result.nodes:
            ip = node.addr[0]
            addrs.append((int(node.family), ip.decode() if isinstance(ip, bytes) else ip, port))
            ttl = min(ttl, float(node.ttl))
        addrs = list(dict.fromkeys(addrs))
        if not addrs:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return addrs, ttl

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        self._pending.clear()
        if self._cares is not None:
            self._cares.cancel()
            closer = getattr(self._cares, "close", None)
            if closer is not None:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            self._cares = None


class AiohttpResolver(AbstractResolver):
    """`Resolver` behind aiohttp's resolver interface (its connector's own cache is off,
    so TTLs hold). A cached answer is not timed as a DNS phase, as on the lean client."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addrs = self.resolver.cached(host, port)
        if addrs is not None:
            timing = current_timing.get()
            if timing is not None:
                timing.dns_start = 0.0  # the trace's end mark then adds nothing
        else:
            addrs = await self.resolver.resolve(host, port)
        return [
            {
                "hostname": host,
                "host": ip,
                "port": p,
                "family": fam,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for fam, ip, p in addrs
            if family in (socket.AF_UNSPEC, fam)
        ]

    async def close(self) -> None:
        await self.resolver.close()
