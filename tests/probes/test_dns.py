"""DNS for probes (prober.probes.dns, c-ares) against a tiny DNS server on loopback: a hung
lookup delays no other check, concurrent lookups of a name are shared, answers are cached
for their TTL and no longer, failures are remembered briefly."""

from __future__ import annotations

import asyncio
import socket

import pytest

from prober.probes.dns import NEGATIVE_TTL, Resolver
from prober.probes.http import HttpProber
from prober.probes.result import Reason

from .conformance.harness import BODY, OK, fixed
from .dnsserver import dns_server
from .servers import make_check, raw_server, read_request_head


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    writer.write(fixed(BODY))
    await writer.drain()


async def test_hung_lookups_delay_no_other_check(engine: str) -> None:
    """Twenty names whose server never answers (more than asyncio's resolver threads) are
    looked up at once with one good name: every good probe ends OK while the hung ones
    are still waiting, and the hung ones end at their own deadline."""
    zone: dict[str, list[tuple[str, int]] | str] = {"ok.test": [("127.0.0.1", 60)]}
    zone.update({f"hung{i}.test": "hang" for i in range(20)})
    async with dns_server(zone) as (_, ns), raw_server(serve) as url:
        port = url.rsplit(":", 1)[1]
        async with HttpProber(engine=engine, dns=Resolver([ns])) as p:
            hung = [
                asyncio.create_task(
                    p.probe(make_check(f"http://hung{i}.test:{port}/", timeout=2.5))
                )
                for i in range(20)
            ]
            await asyncio.sleep(0.05)  # every hung lookup is in flight
            good = await asyncio.gather(
                *(
                    p.probe(make_check(f"http://ok.test:{port}/", expect=OK, timeout=2.0))
                    for _ in range(5)
                )
            )
            assert not any(t.done() for t in hung)
            slow = await asyncio.gather(*hung)
    assert [r.reason for r in good] == [Reason.OK] * 5, [r.detail for r in good]
    assert {r.reason for r in slow} <= {Reason.TIMEOUT, Reason.DNS}
    assert all(
        r.reason is not Reason.TIMEOUT or r.detail == "timeout after 2.5s (resolving host)"
        for r in slow
    ), [r.detail for r in slow]


async def test_concurrent_lookups_of_one_name_share_one_query() -> None:
    async with dns_server({"a.test": [("127.0.0.1", 60)]}) as (server, ns):
        resolver = Resolver([ns])
        answers = await asyncio.gather(*(resolver.resolve("a.test", 80) for _ in range(10)))
        await resolver.close()
    assert all(a == [(socket.AF_INET, "127.0.0.1", 80)] for a in answers)
    assert server.count("a.test") == 1
    assert resolver.queries == 1


async def test_a_caller_giving_up_does_not_cancel_the_shared_lookup() -> None:
    async with dns_server({"a.test": [("127.0.0.1", 60)]}) as (server, ns):
        resolver = Resolver([ns])
        first = asyncio.create_task(resolver.resolve("a.test", 80))
        second = asyncio.create_task(resolver.resolve("a.test", 80))
        await asyncio.sleep(0)
        first.cancel()
        assert await second == [(socket.AF_INET, "127.0.0.1", 80)]
        await resolver.close()
    assert server.count("a.test") == 1


async def test_answers_are_cached_for_their_smallest_ttl() -> None:
    clock = FakeClock()
    zone: dict[str, list[tuple[str, int]] | str] = {"a.test": [("127.0.0.1", 30), ("127.0.0.2", 7)]}
    async with dns_server(zone) as (server, ns):
        resolver = Resolver([ns], clock=clock)
        await resolver.resolve("a.test", 80)
        clock.now += 6.9
        await resolver.resolve("a.test", 80)
        assert resolver.queries == 1  # within the TTL: from the cache
        clock.now += 0.2
        await resolver.resolve("a.test", 80)
        await resolver.close()
    # past the smallest TTL (7 s, fake clock) prober asks c-ares again (which may answer
    # from its own TTL-bound cache, on the real clock)
    assert resolver.queries == 2
    assert server.count("a.test") >= 1


async def test_ttl_zero_is_not_cached() -> None:
    async with dns_server({"z.test": [("127.0.0.1", 0)]}) as (server, ns):
        resolver = Resolver([ns])
        for _ in range(3):
            await resolver.resolve("z.test", 80)
        await resolver.close()
    assert server.count("z.test") == 3


async def test_unknown_name_is_dns_and_remembered_briefly() -> None:
    clock = FakeClock()
    async with dns_server({}) as (server, ns):
        resolver = Resolver([ns], clock=clock)
        for _ in range(3):
            with pytest.raises(socket.gaierror) as info:
                await resolver.resolve("nx.test", 80)
            assert info.value.errno == socket.EAI_NONAME
        assert server.count("nx.test") == 1
        clock.now += NEGATIVE_TTL + 0.1
        with pytest.raises(socket.gaierror):
            await resolver.resolve("nx.test", 80)
        await resolver.close()
    assert server.count("nx.test") == 2


async def test_unknown_name_fails_the_probe_as_dns(engine: str) -> None:
    async with dns_server({}) as (_, ns), HttpProber(engine=engine, dns=Resolver([ns])) as p:
        r = await p.probe(make_check("http://nx.test:81/"))
    assert (r.reason, r.detail) == (Reason.DNS, "dns: name or service not known")
