"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fastcodec"): the round codec's
`encode` with one precompiled struct for the shape nearly every round has; the plain
alternative is `prober.distributed.codec.encode` (`python -m bench.agent_codec` runs both
side by side).

The shape: one result with a status code, all five phases, no certificate expiry and no
detail (an HTTP probe that got an answer and passed). Its payload is the component's header
(cached per component) and one `struct.pack` of fixed layout; any other round goes to the
plain codec. The bytes are the plain codec's, bit for bit (tests/distributed/test_codec.py
checks both on every shape), so `codec.decode` reads them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from prober.distributed import codec
from prober.probes.result import PHASES, ProbeResult

_SHAPE = struct.Struct("<BBddHB5d")  # reason, flags, at, duration, status, mask, 5 phases
_FLAGS = codec._STATUS | codec._PHASES
_ALL_PHASES = (1 << len(PHASES)) - 1
_CODE = codec._CODE
_HEADS_MAX = 10_000  # components; the cache starts over past this (reloads)
_heads: dict[str, bytes] = {}

if PHASES != ("dns", "connect", "tls", "processing", "transfer"):  # the layout below
    raise ImportError(f"fastcodec is written for five phases in order, not {PHASES}")


def _head(component: str) -> bytes:
    if len(_heads) >= _HEADS_MAX:
        _heads.clear()
    head = _heads[component] = bytes((codec.VERSION, 1)) + codec._text(component)
    return head


def encode(
    results: Sequence[ProbeResult], redact: Callable[[str], str] = str, confirmation: int = 0
) -> bytes:
    """`codec.encode`, faster for the common shape of a one-result regular round
    (a confirmation round, version 2, takes the plain encoder)."""
    if len(results) == 1 and not confirmation:
        r = results[0]
        p = r.phases
        if (
            r.status_code is not None
            and r.cert_expiry is None
            and not r.detail
            and len(p) == 5
            and "dns" in p
            and "connect" in p
            and "tls" in p
            and "processing" in p
            and "transfer" in p
        ):
            head = _heads.get(r.component) or _head(r.component)
            return head + _SHAPE.pack(
                _CODE[r.reason],
                _FLAGS,
                r.at,
                r.duration,
                r.status_code,
                _ALL_PHASES,
                p["dns"],
                p["connect"],
                p["tls"],
                p["processing"],
                p["transfer"],
            )
    return codec.encode(results, redact, confirmation)
