"""The round codec: exact round-trips, compact, secrets redacted, corrupt input refused."""

from __future__ import annotations

import math

import pytest

from prober.config.secrets import Redactor
from prober.distributed.codec import REASONS, CodecError, decode, decode_round, encode
from prober.probes.result import PHASES, ProbeResult, Reason


def full(reason: Reason = Reason.HTTP_5XX, **kw: object) -> ProbeResult:
    base: dict[str, object] = {
        "check_id": "api-health",
        "component": "api",
        "at": 1_780_000_000.123456789,
        "reason": reason,
        "duration": 0.1 + 0.2,
        "status_code": 503,
        "detail": "status 503, expected 200-299 — ünïcode",
        "phases": {p: i / 7 for i, p in enumerate(PHASES)},
        "cert_expiry": 1_790_000_000.5,
    }
    base.update(kw)
    return ProbeResult(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_round_trips_exactly(reason: Reason) -> None:
    result = full(reason)
    assert decode(encode([result]), "api-health") == [result]


def test_every_reason_has_a_wire_number() -> None:
    assert set(REASONS) == set(Reason) and len(REASONS) == len(Reason)


def test_optional_fields_absent_round_trip_as_absent() -> None:
    bare = ProbeResult("c", "comp", 12.5, Reason.TIMEOUT, 5.0)
    partial = ProbeResult("c", "comp", 13.0, Reason.OK, 0.01, 200, "", {"connect": 0.002})
    (out,) = decode(encode([bare]), "c")
    assert out == bare and out.status_code is None and out.cert_expiry is None
    assert decode(encode([bare, partial]), "c") == [bare, partial]


def test_extreme_floats_round_trip_bit_for_bit() -> None:
    for value in (0.0, -0.0, 5e-324, 1.7976931348623157e308, math.inf):
        r = ProbeResult("c", "comp", value, Reason.OK, value)
        (out,) = decode(encode([r]), "c")
        assert math.copysign(1, out.at) == math.copysign(1, value) and out == r


def test_a_round_is_compact() -> None:
    r = ProbeResult("api-health", "api", 1.78e9, Reason.OK, 0.05, 200, "", {})
    assert len(encode([r])) <= 32
    assert len(encode([full()])) <= 128  # 5 phases, expiry and a 47-byte detail


def test_secrets_in_the_detail_never_reach_the_payload() -> None:
    secret = "s3cr3t-token-value"
    r = full(detail=f"status 401 echo {secret}")
    payload = encode([r], Redactor([secret]))
    assert secret.encode() not in payload
    (out,) = decode(payload, "api-health")
    assert secret not in out.detail and "<redacted>" in out.detail


def test_mixed_checks_or_empty_rounds_are_refused() -> None:
    with pytest.raises(ValueError, match="1 to 255"):
        encode([])
    with pytest.raises(ValueError, match="share"):
        encode([full(), full(check_id="other")])
    with pytest.raises(ValueError, match="unknown phases"):
        encode([full(phases={"warp": 1.0})])


@pytest.mark.parametrize("cut", [1, 5, 20, 40])
def test_truncated_payloads_are_refused(cut: int) -> None:
    payload = encode([full()])
    with pytest.raises(CodecError):
        decode(payload[:cut], "api-health")


def test_wrong_version_and_stray_bytes_are_refused() -> None:
    payload = encode([full()])
    with pytest.raises(CodecError, match="version"):
        decode(b"\x09" + payload[1:], "api-health")
    with pytest.raises(CodecError, match="stray"):
        decode(payload + b"\x00", "api-health")


def test_a_confirmation_round_carries_its_index_and_a_regular_round_is_unchanged() -> None:
    results = [full(), full(Reason.OK, status_code=200)]
    regular = encode(results)
    assert regular[0] == 1 and decode_round(regular, "api-health") == (results, 0)
    for k in (1, 13, 0xFFFF):
        payload = encode(results, confirmation=k)
        assert len(payload) == len(regular) + 2
        assert decode_round(payload, "api-health") == (results, k)
        assert decode(payload, "api-health") == results
    for bad in (-1, 0x10000):
        with pytest.raises(ValueError, match="confirmation index"):
            encode(results, confirmation=bad)
    zero = bytes((2, 2, 0, 0)) + regular[2:]
    with pytest.raises(CodecError, match="index 0"):
        decode_round(zero, "api-health")


def shapes() -> list[ProbeResult]:
    """Every combination of the optional fields, the fast shape among them."""
    five = {p: (i + 1) / 1000 for i, p in enumerate(PHASES)}
    out = []
    for status in (None, 200, 503):
        for expiry in (None, 1.8e9):
            for detail in ("", "status 503 ünï"):
                for phases in ({}, {"connect": 0.002}, five, dict(reversed(five.items()))):
                    for reason in (Reason.OK, Reason.HTTP_5XX):
                        out.append(
                            ProbeResult("c", "comp", 1.78e9, reason, 0.25, status, detail,
                                        phases, expiry)
                        )  # fmt: skip
    return out


def test_fastcodec_writes_the_plain_codecs_bytes_for_every_shape() -> None:
    from prober.distributed import fastcodec

    secret = "tok-0123456789abcdef"
    redact = Redactor([secret])
    fast_shapes = 0
    for r in shapes():
        assert fastcodec.encode([r], redact) == encode([r], redact), r
        assert decode(fastcodec.encode([r], redact), "c") == [r]
        fast_shapes += r.status_code is not None and r.cert_expiry is None and not r.detail
    assert fast_shapes >= 4  # the fast path itself was taken (and checked above)
    leaky = ProbeResult("c", "comp", 1.0, Reason.HTTP_5XX, 0.1, 503, f"echo {secret}")
    assert fastcodec.encode([leaky], redact) == encode([leaky], redact)
    assert secret.encode() not in fastcodec.encode([leaky], redact)
    two = shapes()[:2]
    assert fastcodec.encode(two) == encode(two)  # more than one result: the plain codec


def test_fastcodec_refuses_what_the_plain_codec_refuses() -> None:
    from prober.distributed import fastcodec

    odd = ProbeResult("c", "comp", 1.0, Reason.OK, 0.1, 200, "", {"x": 1.0})
    with pytest.raises(ValueError, match="unknown phases"):
        fastcodec.encode([odd])
    with pytest.raises(ValueError, match="1 to 255"):
        fastcodec.encode([])


def test_fastcodec_writes_the_plain_codecs_confirmation_rows() -> None:
    from prober.distributed import fastcodec

    for r in shapes():
        payload = fastcodec.encode([r], confirmation=7)
        assert payload == encode([r], confirmation=7), r
        assert decode_round(payload, "c") == ([r], 7)
