"""Incomplete messages (RFC 9112 8) and the probe deadline, on every engine: a server that
closes early is `protocol`, one that stalls is a `timeout` that says where it stalled."""

from __future__ import annotations

import pytest

from prober.probes.result import Reason

from .harness import assert_shape, head, shape

P, T = Reason.PROTOCOL, Reason.TIMEOUT
QUICK = {"timeout": 0.5}

CLOSED = [
    shape("closed_in_status_line", b"HTTP/1.1 2", reason=P, status=None),
    shape("closed_in_head", b"HTTP/1.1 200 OK\r\nContent-Le", reason=P, status=None),
    shape("closed_after_interim", head("100 Continue"), reason=P, status=None),
    shape(
        "closed_in_chunked_body",
        head("200 OK", "Transfer-Encoding: chunked") + b"5\r\nhel",
        reason=P,
    ),
]


@pytest.mark.parametrize("s", CLOSED, ids=str)
async def test_rfc9112_8_incomplete_message_is_protocol(engine: str, s: object) -> None:
    r = await assert_shape(engine, s)  # type: ignore[arg-type]
    assert r.detail.startswith("protocol: ")


STALLED = [
    (
        shape("silent", b"", reason=T, status=None, hold=True, check=QUICK),
        "timeout after 0.5s (waiting for response headers)",
    ),
    (
        shape(
            "stalled_in_head",
            b"HTTP/1.1 200 OK\r\nContent-Le",
            reason=T,
            status=None,
            hold=True,
            check=QUICK,
        ),
        "timeout after 0.5s (waiting for response headers)",
    ),
    (
        shape(
            "stalled_after_interim",
            head("100 Continue"),
            reason=T,
            status=None,
            hold=True,
            check=QUICK,
        ),
        "timeout after 0.5s (waiting for response headers)",
    ),
    (
        shape(
            "stalled_in_length_body",
            head("200 OK", "Content-Length: 100") + b"abc",
            reason=T,
            hold=True,
            check=QUICK,
        ),
        "timeout after 0.5s (reading body after 3 bytes)",
    ),
    (
        shape(
            "stalled_in_chunked_body",
            head("200 OK", "Transfer-Encoding: chunked") + b"5\r\nhello\r\n",
            reason=T,
            hold=True,
            check=QUICK,
        ),
        "timeout after 0.5s (reading body after 5 bytes)",
    ),
]


@pytest.mark.parametrize(("s", "detail"), STALLED, ids=[str(s[0]) for s in STALLED])
async def test_one_deadline_covers_every_stage(engine: str, s: object, detail: str) -> None:
    r = await assert_shape(engine, s)  # type: ignore[arg-type]
    assert r.detail == detail
