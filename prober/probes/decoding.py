"""Content-Encoding decoders for the lean client, bounded so a bomb costs at most the cap.

`decoder_for(coding)` gives a Decoder for what prober advertises in Accept-Encoding
(`ACCEPT_ENCODING`): gzip (every member of a multi-member stream, RFC 1952 2.2) and
deflate, zlib-wrapped as RFC 9110 8.4.1.2 says or raw as some servers send it; which one is
decided on the first two bytes of the body, however the body was split into reads. A
coding prober did not advertise and cannot decode (br, zstd: no package for them is a
dependency) is a `protocol` failure, as aiohttp makes it; an unknown coding is passed
through as aiohttp does. Each `feed` inflates at most `allowed` bytes (the caller passes
what is left under the decoded-size cap, plus one), and `finish` raises DecodeError for a
stream that ended early: a truncated gzip body is not a complete one.
"""

from __future__ import annotations

import zlib
from typing import Final

ACCEPT_ENCODING: Final = "gzip, deflate"
_GZIP: Final = frozenset({"gzip", "x-gzip"})
_UNSUPPORTED: Final = frozenset({"br", "zstd", "compress", "x-compress"})


class DecodeError(ValueError):
    """A corrupt or truncated coded body; the message says which."""


class Decoder:
    """Incremental gzip/deflate decoding of one body."""

    __slots__ = ("_head", "_obj", "_wbits", "coding")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._wbits = 31 if coding in _GZIP else 0  # 0: deflate, chosen on the first bytes
        self._obj: zlib._Decompress | None = None
        self._head = b""

    def feed(self, data: bytes, allowed: int) -> bytes:
        """The decoded bytes of `data`, at most `allowed` of them (more input is then left
        unread: the caller has already failed the body as too large)."""
        obj = self._obj
        if obj is None:
            if self._wbits == 0:
                head = self._head + data
                if len(head) < 2:
                    self._head = head
                    return b""
                self._head = b""
                data = head
                cmf, flg = head[0], head[1]
                zlib_header = (cmf & 0x0F) == 8 and (cmf << 8 | flg) % 31 == 0
                self._wbits = 15 if zlib_header else -15
            obj = self._obj = zlib.decompressobj(self._wbits)
        out: list[bytes] = []
        size = 0
        try:
            while data and size < allowed:
                piece = obj.decompress(data, allowed - size)
                size += len(piece)
                out.append(piece)
                if obj.eof:
                    data = obj.unused_data
                    if not data.strip(b"\x00"):
                        break  # the end, or zero padding after it (as gzip(1) allows)
                    if self._wbits == 31:  # another gzip member follows
                        obj = self._obj = zlib.decompressobj(31)
                        continue
                    raise DecodeError(f"{self.coding}: data after the end of the stream")
                data = obj.unconsumed_tail
        except zlib.error as exc:
            raise DecodeError(f"{self.coding}: {exc}") from None
        return b"".join(out)

    def finish(self) -> None:
        """Raises DecodeError unless the coded stream ended properly."""
        obj = self._obj
        if obj is None:
            if self._head:
                raise DecodeError(f"{self.coding}: truncated stream")
            return  # an empty body
        if not obj.eof:
            raise DecodeError(f"{self.coding}: truncated stream")


def decoder_for(coding: bytes) -> Decoder | None:
    """A decoder for the Content-Encoding value, None for identity or an unknown coding.

    Raises DecodeError for a coding that cannot be decoded here (br, zstd)."""
    name = coding.strip().lower().decode("latin-1")
    if not name or name == "identity":
        return None
    if name in _GZIP or name == "deflate":
        return Decoder(name)
    if name in _UNSUPPORTED:
        raise DecodeError(f"cannot decode content-encoding {name} (not advertised)")
    return None
