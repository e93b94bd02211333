"""Parsing of durations (`500ms`, `15s`, `5m`, `1h`) and byte sizes (`1MiB`) in checks.yaml.

Both raise ValueError with a message that says what would be right; the validator turns it
into a ConfigIssue at the value's line.
"""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_SIZE = re.compile(r"(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?")
_SIZE_UNITS: dict[str, int] = {
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
}


def parse_duration(text: str) -> float:
    """`1m30s` -> 90.0 seconds. A unit is required on every number."""
    s = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        raise ValueError(f'duration {s!r} has no unit (write e.g. "{s}s" or "{s}ms")')
    pos = 0
    total = 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(
            f"invalid duration {s!r} (expected a number with a unit: ms, s, m, h, d; "
            'e.g. "500ms", "15s", "1m30s")'
        )
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of `seconds` in the config's own syntax."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def parse_size(text: str) -> int:
    """`1MiB` -> 1048576. A bare number is bytes."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(
            f"invalid size {text!r} (expected bytes or a number with a unit: "
            'B, KB, KiB, MB, MiB, GB, GiB; e.g. "1MiB")'
        )
    return int(m.group(1)) * _SIZE_UNITS[m.group(2) or "B"]
