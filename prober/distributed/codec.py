"""A round of probe results as compact bytes, for the RoundLog.

Round-trips `ProbeResult` exactly (every field; floats as IEEE doubles), given the check
id the row carries. Nothing else from the check is written: no URL, no header, no body;
a result's `detail` passes through the check's redactor first, so a secret a target
echoed back never reaches the database.

Layout (little-endian), version 1 (a regular round) or 2 (a confirmation round):
    B version, B count, [version 2: H confirmation index k >= 1], H len + component (UTF-8)
    per result: B reason, B flags, d at, d duration,
                [H status_code], [d cert_expiry], [B phase mask, d per phase],
                [H len + detail (UTF-8)]
A one-probe OK round is 24 bytes plus the component id, 65 with all five phases.
A confirmation round (the agent's k-th extra round since the start of the check's current
interval, prober/domain/quorum.py) carries k in two more bytes: regular rounds are
written as version 1, byte for byte as before.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from prober.probes.result import PHASES, ProbeResult, Reason

VERSION = 1
VERSION_CONFIRMATION = 2  # version 1 plus the confirmation index
# Wire numbers of the reasons: append only, never reorder.
REASONS: tuple[Reason, ...] = (
    Reason.OK,
    Reason.HTTP_5XX,
    Reason.UNEXPECTED_STATUS,
    Reason.TIMEOUT,
    Reason.CONNECT,
    Reason.DNS,
    Reason.TLS,
    Reason.PROTOCOL,
    Reason.BODY_TOO_LARGE,
    Reason.REDIRECTS,
    Reason.ASSERTION,
    Reason.LATENCY,
    Reason.TRAFFIC_5XX,
)
_CODE = {r: i for i, r in enumerate(REASONS)}
_STATUS, _EXPIRY, _PHASES, _DETAIL = 1, 2, 4, 8
_FIXED = struct.Struct("<BBdd")
_H = struct.Struct("<H")
_D = struct.Struct("<d")
_PHASE_BIT = {name: 1 << i for i, name in enumerate(PHASES)}
MAX_TEXT = 0xFFFF


class CodecError(ValueError):
    """A payload that is not a round this codec wrote."""


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > MAX_TEXT:  # cut on a character boundary
        raw = raw[:MAX_TEXT].decode("utf-8", "ignore").encode("utf-8")
    return _H.pack(len(raw)) + raw


def encode(
    results: Sequence[ProbeResult], redact: Callable[[str], str] = str, confirmation: int = 0
) -> bytes:
    """One round of one check. All results must share their check and component.
    `confirmation`: 0 for a regular round, else the confirmation index k (1 to 65535).

    Each result's fixed part, status, expiry and phases go through one `struct.pack` (the
    format strings are few, and `struct` keeps them compiled): this runs once per round on
    the agent's probing path."""
    count = len(results)
    if not count or count > 255:
        raise ValueError(f"a round holds 1 to 255 results, not {count}")
    first = results[0]
    check_id, component = first.check_id, first.component
    if confirmation:
        if not 0 < confirmation <= 0xFFFF:
            raise ValueError(f"a confirmation index is 1 to 65535, not {confirmation}")
        head = bytes((VERSION_CONFIRMATION, count)) + _H.pack(confirmation)
    else:
        head = bytes((VERSION, count))
    out = [head, _text(component)]
    for r in results:
        if r.check_id != check_id or r.component != component:
            raise ValueError("results of one round must share their check and component")
        fmt = "<BBdd"
        flags = 0
        values: list[float] = [r.at, r.duration]
        if r.status_code is not None:
            flags = _STATUS
            fmt += "H"
            values.append(r.status_code)
        if r.cert_expiry is not None:
            flags |= _EXPIRY
            fmt += "d"
            values.append(r.cert_expiry)
        phases = r.phases
        if phases:
            mask = 0
            for name in phases:
                bit = _PHASE_BIT.get(name)
                if bit is None:
                    raise ValueError(f"unknown phases {sorted(set(phases) - set(PHASES))}")
                mask |= bit
            flags |= _PHASES
            fmt += f"B{len(phases)}d"
            values.append(mask)
            values.extend([phases[name] for name in PHASES if name in phases])
        if r.detail:
            flags |= _DETAIL
        out.append(struct.pack(fmt, _CODE[r.reason], flags, *values))
        if r.detail:
            out.append(_text(redact(r.detail)))
    return b"".join(out)


def decode(payload: bytes, check_id: str) -> list[ProbeResult]:
    """The round `encode` wrote; CodecError when the payload is not one."""
    return decode_round(payload, check_id)[0]


def decode_round(payload: bytes, check_id: str) -> tuple[list[ProbeResult], int]:
    """The round `encode` wrote and its confirmation index (0: a regular round)."""
    try:
        return _decode(memoryview(payload), check_id)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CodecError(f"truncated or corrupt round payload: {exc}") from None


def _decode(buf: memoryview, check_id: str) -> tuple[list[ProbeResult], int]:
    version, count = buf[0], buf[1]
    pos = 2
    confirmation = 0
    if version == VERSION_CONFIRMATION:
        (confirmation,) = _H.unpack_from(buf, pos)
        pos += 2
        if confirmation == 0:
            raise CodecError("confirmation round payload with index 0")
    elif version != VERSION:
        raise CodecError(
            f"round payload version {version}, this prober reads {VERSION} and "
            f"{VERSION_CONFIRMATION}"
        )

    def text() -> str:
        nonlocal pos
        (n,) = _H.unpack_from(buf, pos)
        pos += 2
        if pos + n > len(buf):
            raise CodecError("text runs past the end of the round payload")
        value = bytes(buf[pos : pos + n]).decode("utf-8")
        pos += n
        return value

    def double() -> float:
        nonlocal pos
        (v,) = _D.unpack_from(buf, pos)
        pos += 8
        return float(v)

    component = text()
    out: list[ProbeResult] = []
    for _ in range(count):
        code, flags, at, duration = _FIXED.unpack_from(buf, pos)
        pos += _FIXED.size
        if code >= len(REASONS):
            raise CodecError(f"unknown reason number {code}")
        status = None
        if flags & _STATUS:
            (status,) = _H.unpack_from(buf, pos)
            pos += 2
        expiry = double() if flags & _EXPIRY else None
        phases: dict[str, float] = {}
        if flags & _PHASES:
            mask = buf[pos]
            pos += 1
            for i, name in enumerate(PHASES):
                if mask & (1 << i):
                    phases[name] = double()
        detail = text() if flags & _DETAIL else ""
        out.append(
            ProbeResult(
                check_id, component, at, REASONS[code], duration, status, detail, phases, expiry
            )
        )
    if pos != len(buf):
        raise CodecError(f"{len(buf) - pos} stray bytes after the round payload")
    return out, confirmation
