"""Content codings (RFC 9110 8.4, RFC 1950/1951/1952) on every engine: what prober
advertises it decodes, however the body is split into reads; a corrupt or truncated coded
body is a `protocol` failure; the size cap applies to the decoded body."""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import zlib

import pytest

from prober.probes.http import HttpProber
from prober.probes.result import Reason

from ..servers import make_check, raw_server, read_request_head
from .harness import ANY, BODY, assert_shape, chunked, deflate_raw, gzip, head, shape

P = Reason.PROTOCOL


def coded(coding: str, payload: bytes, *fields: str) -> bytes:
    return (
        head("200 OK", f"Content-Encoding: {coding}", f"Content-Length: {len(payload)}", *fields)
        + payload
    )


def coded_chunked(coding: str, payload: bytes, size: int = 5) -> bytes:
    return head("200 OK", f"Content-Encoding: {coding}", "Transfer-Encoding: chunked") + chunked(
        payload, size
    )


def split(raw: bytes, at: int) -> tuple[bytes, ...]:
    """The head, then the body's first `at` bytes, then the rest, as separate writes."""
    end = raw.index(b"\r\n\r\n") + 4
    return raw[:end], raw[end : end + at], raw[end + at :]


GZ = gzip(BODY)
ZL = zlib.compress(BODY)
RAW = deflate_raw(BODY)
TWO_MEMBERS = gzip(BODY[:10]) + gzip(BODY[10:])
GZ_STDLIB = gzip_module.compress(BODY, mtime=1_700_000_000)  # the stdlib's framing, an mtime

DECODED = [
    shape("gzip", coded("gzip", GZ)),
    shape("x_gzip", coded("x-gzip", GZ)),
    shape("gzip_uppercase_name", coded("GZIP", GZ)),
    shape("gzip_chunked", coded_chunked("gzip", GZ)),
    shape("gzip_byte_reads", *split(coded("gzip", GZ), 1)),
    shape("gzip_close_delimited", head("200 OK", "Content-Encoding: gzip") + GZ),
    shape("gzip_multi_member", coded("gzip", TWO_MEMBERS)),
    shape(
        "gzip_multi_member_split_between", *split(coded("gzip", TWO_MEMBERS), len(gzip(BODY[:10])))
    ),
    shape(
        "gzip_three_members_chunked",
        coded_chunked("gzip", gzip(BODY[:5]) + gzip(BODY[5:9]) + gzip(BODY[9:]), 3),
    ),
    shape("deflate_zlib", coded("deflate", ZL)),
    shape("deflate_zlib_first_read_one_byte", *split(coded("deflate", ZL), 1)),
    shape("deflate_raw", coded("deflate", RAW)),
    shape("deflate_raw_first_read_one_byte", *split(coded("deflate", RAW), 1)),
    shape("deflate_zlib_chunked_bytewise", coded_chunked("deflate", ZL, 1)),
    shape("identity", coded("identity", BODY)),
    shape("unknown_coding_passed_through", coded("x-custom", BODY)),
    shape("gzip_zero_padding", coded("gzip", GZ + b"\0" * 8)),
    shape("gzip_from_stdlib_with_mtime", coded("gzip", GZ_STDLIB)),
    shape("gzip_empty_body", coded("gzip", b""), check={"expect": ANY}),
]


@pytest.mark.parametrize("s", DECODED, ids=str)
async def test_rfc9110_8_4_1_advertised_codings_are_decoded(engine: str, s: object) -> None:
    await assert_shape(engine, s)  # type: ignore[arg-type]


BROKEN = [
    shape("gzip_corrupt", coded("gzip", b"0123456789"), reason=P),
    shape("gzip_truncated", coded("gzip", GZ[:-8]), reason=P),
    shape(
        "gzip_truncated_close_delimited",
        head("200 OK", "Content-Encoding: gzip") + GZ[:-4],
        reason=P,
    ),
    shape("gzip_bad_crc", coded("gzip", GZ[:-8] + b"\x00\x00\x00\x00" + GZ[-4:]), reason=P),
    shape("deflate_truncated", coded("deflate", ZL[:-3]), reason=P),
    shape("deflate_raw_truncated", coded("deflate", RAW[: len(RAW) // 2]), reason=P),
    shape("deflate_garbage", coded("deflate", b"\xff" * 20), reason=P),
    shape("gzip_garbage_after_member", coded("gzip", GZ + b"not gzip at all"), reason=P),
    shape("br_not_advertised", coded("br", b"\x0b\x02\x80hello\x03"), reason=P),
    shape(
        "zstd_not_advertised", coded("zstd", b"\x28\xb5\x2f\xfd\x00\x58\x01\x00\x00ok"), reason=P
    ),
]


@pytest.mark.parametrize("s", BROKEN, ids=str)
async def test_rfc9110_8_4_corrupt_truncated_or_unadvertised_coding_is_protocol(
    engine: str, s: object
) -> None:
    await assert_shape(engine, s)  # type: ignore[arg-type]


BOMB = gzip(b"\0" * 2_000_000)


@pytest.mark.parametrize(
    "s",
    [
        shape("gzip_bomb", coded("gzip", BOMB), reason=Reason.BODY_TOO_LARGE),
        shape("gzip_bomb_chunked", coded_chunked("gzip", BOMB, 512), reason=Reason.BODY_TOO_LARGE),
        shape(
            "deflate_bomb",
            coded("deflate", zlib.compress(b"\0" * 2_000_000)),
            reason=Reason.BODY_TOO_LARGE,
        ),
        shape(
            "gzip_members_over_cap",
            coded("gzip", gzip(b"x" * 70_000) * 20),
            reason=Reason.BODY_TOO_LARGE,
        ),
    ],
    ids=str,
)
async def test_size_cap_applies_to_the_decoded_body(engine: str, s: object) -> None:
    r = await assert_shape(engine, s)  # type: ignore[arg-type]
    assert r.detail == "body larger than 1048576 bytes (decoded)"


async def test_rfc9110_12_5_3_accept_encoding_lists_only_what_is_decoded(engine: str) -> None:
    heads: list[bytes] = []

    async def capture(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await read_request_head(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(capture) as url, HttpProber(engine=engine) as p:
        r = await p.probe(make_check(url + "/"))
    assert r.ok, r.detail
    assert b"\r\nAccept-Encoding: gzip, deflate\r\n" in heads[0]
