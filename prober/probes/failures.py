"""Map what went wrong during an HTTP request to a Reason and a short human detail.

Details are built here from the exception's kind and OS error, never from request
headers, so secrets cannot leak into them; target-supplied text (a garbled status line)
is cut short and made printable.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl

import aiohttp

from prober.probes.egress import EgressRefused
from prober.probes.result import Reason

_SHOWN = 120


def classify(exc: Exception) -> tuple[Reason, str]:
    """The Reason and detail for an exception raised while probing (never re-raises)."""
    if isinstance(exc, TimeoutError):
        return Reason.TIMEOUT, "timeout"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return Reason.REDIRECTS, "too many redirects"
    if isinstance(exc, aiohttp.RedirectClientError):
        return Reason.REDIRECTS, f"redirect to an invalid or non-HTTP URL ({type(exc).__name__})"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return Reason.TLS, f"tls: certificate: {_ssl_text(exc.certificate_error)}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
        inner = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
        return Reason.TLS, f"tls: {_ssl_text(inner)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(
            os_error, socket.gaierror
        ):
            return Reason.DNS, f"dns: {_os_text(os_error)}"
        return Reason.CONNECT, f"connect: {_os_text(os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Reason.PROTOCOL, "protocol: server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return Reason.PROTOCOL, f"protocol: incomplete or malformed body: {_cause_text(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return Reason.PROTOCOL, f"protocol: {_printable(exc.message)}"
    if isinstance(exc, aiohttp.ClientOSError | ConnectionError):
        return Reason.CONNECT, f"connect: {_os_text(exc)}"
    if isinstance(exc, aiohttp.InvalidURL):
        return Reason.PROTOCOL, "invalid URL"
    if isinstance(exc, aiohttp.ClientError | OSError | ValueError):
        return Reason.PROTOCOL, f"protocol: {type(exc).__name__}"
    return Reason.PROTOCOL, f"unexpected error: {type(exc).__name__}"


def classify_os(exc: OSError) -> tuple[Reason, str]:
    """The Reason and detail for an OSError from name resolution, connect or the TLS
    handshake (the lean client's errors, which aiohttp would have wrapped)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason.TLS, f"tls: certificate: {_ssl_text(exc)}"
    if isinstance(exc, ssl.SSLError):
        return Reason.TLS, f"tls: {_ssl_text(exc)}"
    if isinstance(exc, socket.gaierror):
        return Reason.DNS, f"dns: {_os_text(exc)}"
    return Reason.CONNECT, f"connect: {_os_text(exc)}"


def _os_text(exc: BaseException | None) -> str:
    if isinstance(exc, EgressRefused):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return _printable(exc.strerror or "name resolution failed").lower()
    if isinstance(exc, OSError):
        if exc.errno is not None and exc.errno in errno.errorcode:
            return os.strerror(exc.errno).lower()
        if exc.strerror:
            return _printable(exc.strerror).lower()
        # aiohttp sometimes wraps another OSError as the message
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        if inner is not None and inner is not exc:
            return _os_text(inner)
    return type(exc).__name__ if exc is not None else "failed"


def _ssl_text(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return _printable(exc.verify_message)
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return _printable(str(exc.reason)).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return _printable(exc.strerror)
    return type(exc).__name__


def _cause_text(exc: aiohttp.ClientPayloadError) -> str:
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ != "ClientPayloadError":
        message = getattr(cause, "message", None)
        text = message if isinstance(message, str) and message else str(cause)
        text = text or type(cause).__name__
    else:
        text = str(exc) or "payload error"
    return _printable(text)


def _printable(text: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return clean if len(clean) <= _SHOWN else clean[:_SHOWN] + "..."


# Public names for the lean client's parser (`prober.probes.response`).
os_text = _os_text
ssl_text = _ssl_text
printable = _printable
