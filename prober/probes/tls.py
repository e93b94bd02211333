"""TLS for HTTP probes: one SSLContext per distinct TLSOptions, and the leaf certificate's
expiry.

Contexts are built once and cached (building one reads the CA bundle, milliseconds of
CPU). Each context's SSLObject class notes when a handshake starts, which splits a
connection's set-up time into TCP connect and TLS (see `prober.probes.timing`).
The expiry is read from the DER certificate itself, so it is known even when
verification is skipped (`insecure_skip_verify`), where Python's parsed view is empty.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from typing import Any

from prober.config.model import TLSOptions
from prober.probes.timing import _now, current_timing


class _TimedSSLObject(ssl.SSLObject):
    @classmethod
    def _create(cls, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        obj: ssl.SSLObject = super()._create(*args, **kwargs)  # type: ignore[misc]
        timing = current_timing.get()
        if timing is not None:
            timing.tls_start = _now()
            timing.ssl_object = obj
        return obj


def build_context(options: TLSOptions) -> ssl.SSLContext:
    """A client context for these options; raises OSError/ssl.SSLError on bad files."""
    ctx = ssl.create_default_context(cafile=options.ca_file)
    if options.cert_file:
        ctx.load_cert_chain(options.cert_file, options.key_file)
    if options.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.sslobject_class = _TimedSSLObject
    return ctx


class ContextCache:
    """SSLContexts keyed by TLSOptions; a failed build is retried on the next probe."""

    def __init__(self) -> None:
        self._contexts: dict[TLSOptions, ssl.SSLContext] = {}

    def get(self, options: TLSOptions) -> ssl.SSLContext:
        ctx = self._contexts.get(options)
        if ctx is None:
            ctx = build_context(options)
            self._contexts[options] = ctx
        return ctx

    def __len__(self) -> int:
        return len(self._contexts)


def cert_expiry(der: bytes) -> float | None:
    """Epoch seconds of a DER certificate's notAfter, or None if it cannot be read."""
    try:
        return der_not_after(der)
    except (ValueError, IndexError):
        return None


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """Tag, start of value, end of value of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


def der_not_after(der: bytes) -> float:
    """notAfter of an X.509 certificate in DER form, as epoch seconds."""
    _, cert, _ = _tlv(der, 0)  # Certificate SEQUENCE
    _, pos, tbs_end = _tlv(der, cert)  # TBSCertificate SEQUENCE
    tag, _, end = _tlv(der, pos)
    if tag == 0xA0:  # [0] explicit version
        pos = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, pos = _tlv(der, pos)
    tag, vpos, _ = _tlv(der, pos)  # validity SEQUENCE
    if tag != 0x30 or pos >= tbs_end:
        raise ValueError("no validity")
    _, _, after_pos = _tlv(der, vpos)  # skip notBefore
    tag, start, end = _tlv(der, after_pos)
    text = der[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("bad time tag")
    when = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return when.timestamp()
