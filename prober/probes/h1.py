"""One HTTP/1.1 response read by an asyncio Protocol: the parser of the lean probe client.

`ResponseProtocol` reads the status line and headers under strict limits (bytes and
count), then the body framed by Content-Length, chunked transfer coding, or the end of
the connection, decoding gzip/deflate on the fly. The decoded size is counted as it
arrives and the read stops as soon as it passes the check's cap, so an endless body or a
gzip bomb costs at most that much memory (each inflate call is bounded by the bytes still
allowed). It never raises: every outcome is written to its fields and `waiter` is
resolved once, with the failure (Reason, detail) when there is one. Opening the
connection, sending the request and closing the transport is `prober.probes.fast`'s job.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import zlib
from typing import Final

from prober.probes.failures import os_text, printable, ssl_text
from prober.probes.result import Reason
from prober.probes.timing import ProbeTiming, _now

MAX_HEAD_BYTES: Final = 64 * 1024  # status line + headers (aiohttp allows 8 KiB per line)
MAX_HEADERS: Final = 256
MAX_CHUNK_LINE: Final = 1024  # a chunk-size line with its extensions
REDIRECT_CODES: Final = frozenset({301, 302, 303, 307, 308})

_HEAD, _BODY, _DONE = 0, 1, 2  # states
_LENGTH, _CHUNKED, _CLOSE = 0, 1, 2  # body framings
_C_SIZE, _C_DATA, _C_CRLF, _C_TRAILER = 0, 1, 2, 3  # chunked states
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CHARSET = re.compile(r"""charset\s*=\s*"?([^";\s]+)""", re.IGNORECASE)


class ResponseProtocol(asyncio.Protocol):
    """Reads one response; `waiter` resolves (to None) when it is complete or has failed."""

    __slots__ = (
        "body_expected",
        "buf",
        "cbuf",
        "charset",
        "chunks",
        "cremaining",
        "cstate",
        "decoder",
        "encoding",
        "failure",
        "framing",
        "keep",
        "limit",
        "location",
        "remaining",
        "size",
        "state",
        "status",
        "stop_at_redirect",
        "timing",
        "trailer_bytes",
        "transport",
        "waiter",
    )

    def __init__(
        self,
        waiter: asyncio.Future[None],
        timing: ProbeTiming,
        limit: int,
        keep: bool,
        body_expected: bool,
        stop_at_redirect: bool,
    ) -> None:
        self.waiter = waiter
        self.timing = timing
        self.limit = limit  # decoded body bytes allowed
        self.keep = keep  # keep the body (an expectation reads it)
        self.body_expected = body_expected  # False for HEAD
        self.stop_at_redirect = stop_at_redirect  # a followed redirect's body is not read
        self.transport: asyncio.BaseTransport | None = None
        self.state = _HEAD
        self.buf = bytearray()
        self.status: int | None = None
        self.location: str | None = None
        self.charset: str | None = None
        self.failure: tuple[Reason, str] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.framing = _CLOSE
        self.remaining = 0
        self.encoding = b""
        self.decoder: zlib._Decompress | None = None
        self.cstate = _C_SIZE
        self.cremaining = 0
        self.cbuf = b""
        self.trailer_bytes = 0

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.state == _HEAD:
            rest = self._head(data)
            if rest is None or self.state != _BODY:
                return
            data = rest
            if not data:
                return
        if self.state != _BODY:
            return
        framing = self.framing
        if framing == _LENGTH:
            remaining = self.remaining
            if len(data) >= remaining:
                self._feed(data[:remaining] if len(data) > remaining else data)
                if self.state == _BODY:
                    self.remaining = 0
                    self._finish()
            else:
                self.remaining = remaining - len(data)
                self._feed(data)
        elif framing == _CHUNKED:
            self._chunked(data)
        else:
            self._feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state == _DONE:
            return
        if self.state == _HEAD:
            if isinstance(exc, ssl.SSLError):
                self._fail(Reason.TLS, f"tls: {ssl_text(exc)}")
            elif isinstance(exc, OSError):
                self._fail(Reason.CONNECT, f"connect: {os_text(exc)}")
            else:
                self._fail(
                    Reason.PROTOCOL, "protocol: server closed the connection without a response"
                )
        elif self.framing == _CLOSE and exc is None:
            self._finish()
        else:
            why = os_text(exc) if exc is not None else "connection closed before the body ended"
            self._fail(Reason.PROTOCOL, f"protocol: incomplete or malformed body: {why}")

    @property
    def headed(self) -> bool:
        """The final response head has been read (its status is known)."""
        return self.state != _HEAD and self.status is not None

    # --- outcome ---------------------------------------------------------------------

    def _finish(self) -> None:
        self.state = _DONE
        if not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, reason: Reason, detail: str) -> None:
        self.failure = (reason, detail)
        self._finish()

    # --- head ------------------------------------------------------------------------

    def _head(self, data: bytes) -> bytes | None:
        """Parse complete heads in buf+data; the bytes after the final head, or None."""
        buf = self.buf
        if buf:
            start = max(0, len(buf) - 3)
            buf += data
            end = buf.find(b"\r\n\r\n", start)
            whole: bytes | bytearray = buf
        else:
            end = data.find(b"\r\n\r\n")
            whole = data
        while True:
            if end < 0:
                if len(whole) > MAX_HEAD_BYTES:
                    self._fail(
                        Reason.PROTOCOL,
                        f"protocol: response headers larger than {MAX_HEAD_BYTES} bytes",
                    )
                elif whole is data:
                    buf += data
                return None
            if end > MAX_HEAD_BYTES:
                self._fail(
                    Reason.PROTOCOL,
                    f"protocol: response headers larger than {MAX_HEAD_BYTES} bytes",
                )
                return None
            rest = bytes(whole[end + 4 :])
            if not self._parse(bytes(whole[:end])):
                return None
            status = self.status
            if status is not None and 100 <= status < 200 and status != 101:
                # informational (100 Continue, 103 Early Hints): the real head follows
                self.buf = bytearray()
                buf = self.buf
                whole = rest
                data = rest
                end = rest.find(b"\r\n\r\n")
                self.location = None
                continue
            self.buf = bytearray()
            return rest

    def _parse(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        line = lines[0]
        parts = line.split(b" ", 2)
        code = parts[1] if len(parts) > 1 else b""
        if not parts[0].startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            shown = printable(line[:60].decode("latin-1"))
            self._fail(Reason.PROTOCOL, f'protocol: invalid status line "{shown}"')
            return False
        if len(lines) > MAX_HEADERS + 1:
            self._fail(Reason.PROTOCOL, f"protocol: more than {MAX_HEADERS} response headers")
            return False
        status = self.status = int(code)
        length: bytes | None = None
        chunked = coded = False
        encoding = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or b" " in name or b"\t" in name:
                shown = printable(line[:60].decode("latin-1"))
                self._fail(Reason.PROTOCOL, f'protocol: invalid header line "{shown}"')
                return False
            name = name.lower()
            if name == b"content-length":
                value = value.strip()
                if not value.isdigit() or (length is not None and value != length):
                    self._fail(Reason.PROTOCOL, "protocol: invalid Content-Length")
                    return False
                length = value
            elif name == b"transfer-encoding":
                coded = True
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            elif name == b"content-encoding":
                encoding = value.strip().lower()
            elif name == b"location":
                self.location = value.strip().decode("latin-1")
            elif name == b"content-type" and self.keep:
                found = _CHARSET.search(value.decode("latin-1"))
                self.charset = found.group(1) if found else None
        if status < 200 and status != 101:
            return True  # informational: no body, the caller reads the next head
        self.timing.headers_done(_now())
        if self.stop_at_redirect and status in REDIRECT_CODES and self.location is not None:
            self._finish()
            return False
        if not self.body_expected or status == 204 or status == 304 or status == 101:
            self._finish()
            return False
        self.state = _BODY
        if encoding in (b"gzip", b"x-gzip", b"deflate"):
            self.encoding = encoding
        if chunked:
            self.framing = _CHUNKED
        elif coded:
            self.framing = _CLOSE  # a coding other than chunked: read to the end
        elif length is not None:
            self.framing = _LENGTH
            self.remaining = int(length)
            if self.remaining == 0:
                self._finish()
                return False
            if not self.encoding and self.remaining > self.limit:
                self._too_large()
                return False
        return True

    # --- body ------------------------------------------------------------------------

    def _too_large(self) -> None:
        self._fail(Reason.BODY_TOO_LARGE, f"body larger than {self.limit} bytes (decoded)")

    def _feed(self, data: bytes) -> None:
        """Count (and keep) a piece of the body, decoded."""
        if self.encoding:
            decoder = self.decoder
            if decoder is None:
                if self.encoding == b"deflate":
                    # RFC 9110 says zlib-wrapped; some servers send raw deflate
                    wbits = 15 if len(data) > 1 and (data[0] & 0x0F) == 8 else -15
                else:
                    wbits = 47  # gzip or zlib header, detected
                decoder = self.decoder = zlib.decompressobj(wbits)
            try:
                # never inflate more than one byte past the cap: bomb-proof
                data = decoder.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                why = printable(str(exc))
                self._fail(Reason.PROTOCOL, f"protocol: incomplete or malformed body: {why}")
                return
        size = self.size = self.size + len(data)
        self.timing.body_bytes = size
        if size > self.limit:
            self._too_large()
        elif self.keep and data:
            self.chunks.append(data)

    def _chunked(self, data: bytes) -> None:
        buf = self.cbuf + data if self.cbuf else data
        self.cbuf = b""
        pos, n = 0, len(buf)
        while pos < n and self.state == _BODY:
            cstate = self.cstate
            if cstate == _C_DATA:
                take = min(self.cremaining, n - pos)
                self._feed(buf[pos : pos + take])
                pos += take
                self.cremaining -= take
                if not self.cremaining:
                    self.cstate = _C_CRLF
            elif cstate == _C_SIZE:
                eol = buf.find(b"\r\n", pos, pos + MAX_CHUNK_LINE)
                if eol < 0:
                    if n - pos >= MAX_CHUNK_LINE:
                        self._fail(Reason.PROTOCOL, "protocol: malformed chunked body")
                    else:
                        self.cbuf = buf[pos:]
                    return
                size = buf[pos:eol].split(b";", 1)[0].strip()
                if _HEX.fullmatch(size) is None:
                    self._fail(Reason.PROTOCOL, "protocol: malformed chunked body")
                    return
                pos = eol + 2
                self.cremaining = int(size, 16)
                self.cstate = _C_DATA if self.cremaining else _C_TRAILER
            elif cstate == _C_CRLF:
                if n - pos < 2:
                    self.cbuf = buf[pos:]
                    return
                if buf[pos : pos + 2] != b"\r\n":
                    self._fail(Reason.PROTOCOL, "protocol: malformed chunked body")
                    return
                pos += 2
                self.cstate = _C_SIZE
            else:  # trailers, up to the empty line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    self.trailer_bytes += n - pos
                    if self.trailer_bytes > MAX_HEAD_BYTES:
                        self._fail(Reason.PROTOCOL, "protocol: trailers too large")
                    else:
                        self.cbuf = buf[pos:]
                    return
                if eol == pos:
                    self._finish()
                    return
                self.trailer_bytes += eol + 2 - pos
                if self.trailer_bytes > MAX_HEAD_BYTES:
                    self._fail(Reason.PROTOCOL, "protocol: trailers too large")
                    return
                pos = eol + 2
