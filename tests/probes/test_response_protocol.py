"""The llhttp-backed response protocol on its own: bytes reach the parser whole lines at a
time while a head or chunked body is read, so a trickled header or trailer costs linear
time (httptools joins the pieces of a field split across feeds)."""

from __future__ import annotations

import asyncio

from prober.probes.response import _HOLD_MAX, _QUIET_MAX, ResponseProtocol
from prober.probes.result import Reason
from prober.probes.timing import ProbeTiming


class CountingParser:
    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.feeds: list[bytes] = []

    def feed_data(self, data: bytes) -> None:
        self.feeds.append(bytes(data))
        self.inner.feed_data(data)  # type: ignore[attr-defined]

    def get_status_code(self) -> int:
        return int(self.inner.get_status_code())  # type: ignore[attr-defined]


def trickle(raw: bytes, keep: bool = True) -> tuple[ResponseProtocol, CountingParser]:
    loop = asyncio.new_event_loop()
    try:
        waiter: asyncio.Future[None] = loop.create_future()
        proto = ResponseProtocol(waiter, ProbeTiming(0.0), 1 << 20, keep, True, False)
        counting = CountingParser(proto._parser)
        proto._parser = counting  # type: ignore[assignment]
        for i in range(len(raw)):
            proto.data_received(raw[i : i + 1])
        proto.connection_lost(None)
        assert waiter.done()
        return proto, counting
    finally:
        loop.close()


def test_trickled_trailers_reach_the_parser_one_line_per_feed() -> None:
    trailers = b"".join(b"X-T%d: %s\r\n" % (i, b"v" * 500) for i in range(10))
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
        + trailers
        + b"\r\n"
    )
    proto, parser = trickle(raw)
    assert proto.failure is None and proto.status == 200
    assert b"".join(proto.chunks) == b"hello"
    assert b"".join(parser.feeds) == raw  # every byte fed once: linear
    # the status line goes straight in (a non-HTTP reply fails at once); after its end,
    # every feed ends with a line end: a field is never split between feeds
    first = next(i for i, f in enumerate(parser.feeds) if b"\n" in f)
    assert all(f.endswith(b"\n") for f in parser.feeds[first:])
    assert len(parser.feeds) - first <= raw.count(b"\n")


def test_trickled_header_value_is_fed_whole() -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 4000 + b"\r\nContent-Length: 2\r\n\r\nok"
    proto, parser = trickle(raw)
    assert proto.failure is None and b"".join(proto.chunks) == b"ok"
    assert b"".join(parser.feeds) == raw
    assert any(b"X-Long: " + b"a" * 4000 + b"\r\n" in f for f in parser.feeds)


def test_endless_trailer_line_fails_without_holding_it_all() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + b"v" * 100_000
    proto, parser = trickle(raw)
    assert proto.failure is not None and proto.failure[0] is Reason.PROTOCOL
    # fed in a bounded number of pieces, then refused
    assert sum(len(f) for f in parser.feeds) <= _QUIET_MAX + 2 * _HOLD_MAX
    assert len([f for f in parser.feeds if b"vvvv" in f]) <= _QUIET_MAX // _HOLD_MAX + 2
