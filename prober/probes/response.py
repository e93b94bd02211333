"""One HTTP/1.1 response read by an asyncio Protocol, parsed by llhttp (`httptools`).

llhttp (Node.js's parser, which aiohttp and uvicorn use) does the framing: status line,
headers, Content-Length, chunked coding with its trailers, 1xx interim responses. It runs
with the leniencies aiohttp's client sets, which RFC 9112 asks a client to have: obs-fold
header continuation lines (5.2) and bare LF line ends (2.2) are accepted. On top of it this
module keeps the probe's own limits, the same numbers aiohttp's client enforces (so both
engines judge a response alike): a header field (name and value) or status line of at
most MAX_FIELD_SIZE bytes and at most MAX_HEADERS headers; trailers under the same limits.

Bytes reach llhttp whole lines at a time while a head or a chunked body is being read (the
tail after the last LF waits for the next read), so a header or trailer trickled one byte
per packet costs linear time, not the quadratic joining of its pieces; the very first
bytes go straight in, so a service that does not speak HTTP fails at once as `protocol`.
The decoded size is counted as the body arrives and the read stops as soon as it passes
the check's cap (`prober.probes.decoding` never inflates past it). The protocol never
raises: every outcome is written to its fields and `waiter` resolves once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from typing import Final

import httptools

from prober.probes.decoding import DecodeError, Decoder, decoder_for
from prober.probes.failures import os_text, printable, ssl_text
from prober.probes.result import Reason
from prober.probes.timing import ProbeTiming, _now

# aiohttp's client defaults (ClientSession max_line_size, max_field_size, max_headers);
# `prober.probes.http` passes the same numbers to aiohttp.
MAX_FIELD_SIZE: Final = 8190
MAX_HEADERS: Final = 128
REDIRECT_CODES: Final = frozenset({301, 302, 303, 307, 308})
_HOLD_MAX: Final = 2 * MAX_FIELD_SIZE  # unterminated line bytes held back at most
_QUIET_MAX: Final = 64 * 1024  # chunk-line/trailer bytes in a row without any body
_CHARSET = re.compile(r"""charset\s*=\s*"?([^";\s]+)""", re.IGNORECASE)
_HEAD, _BODY, _DONE = 0, 1, 2


class _Stop(Exception):
    """Raised inside a parser callback to stop parsing once the outcome is known."""


class ResponseProtocol(asyncio.Protocol):
    """Reads one response; `waiter` resolves (to None) when it is complete or has failed."""

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
        self.state = _HEAD
        self.status: int | None = None
        self.location: str | None = None
        self.charset: str | None = None
        self.failure: tuple[Reason, str] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self._parser = httptools.HttpResponseParser(self)
        self._parser.set_dangerous_leniencies(
            lenient_headers=True,
            lenient_optional_cr_before_lf=True,
            lenient_spaces_after_chunk_size=True,
        )
        self._pending = bytearray()
        self._line_seen = False  # an LF has reached the parser: it speaks lines
        self._direct = False  # body framed by length or close: no line hold-back
        self._until_close = False
        self._decoder: Decoder | None = None
        self._headers = 0
        self._status_len = 0
        self._length: bytes | None = None
        self._chunked = False
        self._coded = False
        self._encoding = b""
        self._progress = False
        self._quiet = 0

    # --- asyncio.Protocol ------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.state == _DONE:
            return
        if self._direct:
            self._parse(data)
            return
        if not self._line_seen:
            self._line_seen = b"\n" in data
            self._parse(data)
            return
        pending = self._pending
        nl = data.rfind(b"\n")
        if nl < 0:
            pending += data
            if len(pending) > _HOLD_MAX:
                if self.state == _HEAD:
                    self._fail(
                        Reason.PROTOCOL,
                        f"protocol: response header line longer than {MAX_FIELD_SIZE} bytes",
                    )
                else:
                    chunk = bytes(pending)
                    pending.clear()
                    self._parse(chunk)
            return
        if pending:
            pending += data[: nl + 1]
            chunk = bytes(pending)
            pending.clear()
        else:
            chunk = data if nl == len(data) - 1 else data[: nl + 1]
        self._parse(chunk)
        if nl < len(data) - 1 and self.state != _DONE:
            if self._direct:
                self._parse(data[nl + 1 :])
            else:
                pending += data[nl + 1 :]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state == _DONE:
            return
        if self._pending and exc is None:
            chunk = bytes(self._pending)
            self._pending.clear()
            self._parse(chunk)
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
        elif self._until_close and exc is None:
            with contextlib.suppress(_Stop):
                self._complete()
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
        if self.state != _DONE:
            self.failure = (reason, detail)
        self._finish()

    def _stop(self, reason: Reason, detail: str) -> None:
        self._fail(reason, detail)
        raise _Stop

    def _parse(self, data: bytes) -> None:
        self._progress = False
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if self.state != _DONE:
                why = printable(str(exc)) or type(exc).__name__
                self._fail(Reason.PROTOCOL, f"protocol: {why.lower()}")
            return
        if self.state == _BODY and not self._direct:
            self._quiet = 0 if self._progress else self._quiet + len(data)
            if self._quiet > _QUIET_MAX:
                self._fail(
                    Reason.PROTOCOL,
                    f"protocol: chunk line or trailers longer than {_QUIET_MAX} bytes",
                )

    # --- llhttp callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.location = self.charset = None
        self._headers = self._status_len = 0
        self._length = None
        self._chunked = self._coded = False
        self._encoding = b""

    def on_status(self, reason: bytes) -> None:
        self._status_len += len(reason)  # the reason phrase may come in many pieces
        if self._status_len > MAX_FIELD_SIZE:
            self._stop(Reason.PROTOCOL, f"protocol: status line longer than {MAX_FIELD_SIZE} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        if self._headers > MAX_HEADERS:
            where = "trailers" if self.state == _BODY else "response headers"
            self._stop(Reason.PROTOCOL, f"protocol: more than {MAX_HEADERS} {where}")
        if len(name) + len(value) > MAX_FIELD_SIZE:
            self._stop(
                Reason.PROTOCOL, f"protocol: header field longer than {MAX_FIELD_SIZE} bytes"
            )
        if b"\x00" in value:  # RFC 9110 5.5: NUL in a field value is refused
            self._stop(Reason.PROTOCOL, "protocol: NUL character in a header value")
        if self.state == _BODY:
            self._progress = True
            return  # a trailer: counted, not used
        name = name.lower()
        if name == b"content-length":
            self._length = value.strip()
        elif name == b"transfer-encoding":
            self._coded = True
            self._chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
        elif name == b"content-encoding":
            self._encoding = value
        elif name == b"location":
            # an empty Location is no redirect target (aiohttp ignores it too)
            self.location = value.strip().decode("utf-8", "surrogateescape") or None
        elif name == b"content-type" and self.keep:
            found = _CHARSET.search(value.decode("latin-1"))
            self.charset = found.group(1) if found else None

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return  # informational (100 Continue, 103 Early Hints): the real head follows
        if not 100 <= status <= 999:
            self._stop(Reason.PROTOCOL, f"protocol: invalid status code {status}")
        self.status = status
        self.timing.headers_done(_now())
        self.state = _BODY
        self._headers = 0  # trailers are counted on their own
        if self.stop_at_redirect and status in REDIRECT_CODES and self.location is not None:
            self._finish()
            raise _Stop
        if not self.body_expected or status in (101, 204, 304):
            self._finish()
            raise _Stop
        try:
            self._decoder = decoder_for(self._encoding)
        except DecodeError as exc:
            self._stop(Reason.PROTOCOL, f"protocol: {exc}")
        self._direct = not self._chunked
        self._until_close = not self._chunked and (self._coded or self._length is None)
        length = self._length
        if (
            not self._until_close
            and self._decoder is None
            and length is not None
            and length.isdigit()
            and int(length) > self.limit
        ):
            self._stop(Reason.BODY_TOO_LARGE, f"body larger than {self.limit} bytes (decoded)")

    def on_chunk_header(self) -> None:
        self._progress = True

    def on_body(self, data: bytes) -> None:
        self._progress = True
        decoder = self._decoder
        if decoder is not None:
            try:
                data = decoder.feed(data, self.limit - self.size + 1)
            except DecodeError as exc:
                self._stop(Reason.PROTOCOL, f"protocol: incomplete or malformed body: {exc}")
        size = self.size = self.size + len(data)
        self.timing.body_bytes = size
        if size > self.limit:
            self._stop(Reason.BODY_TOO_LARGE, f"body larger than {self.limit} bytes (decoded)")
        if self.keep and data:
            self.chunks.append(data)

    def on_message_complete(self) -> None:
        if self.state == _BODY:
            self._complete()
            raise _Stop  # anything after the response is not read

    def _complete(self) -> None:
        if self._decoder is not None:
            try:
                self._decoder.finish()
            except DecodeError as exc:
                self._stop(Reason.PROTOCOL, f"protocol: incomplete or malformed body: {exc}")
        self._finish()
