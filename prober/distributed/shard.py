"""Shards: which checks one agent of a location probes.

Shard `I/N` (0 <= I < N, I the StatefulSet ordinal, N its replicas) holds the checks whose
stable hash is I modulo N: every check is in exactly one shard, the split does not depend
on the order of checks.yaml, and adding a check never moves another one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from prober.config.model import Check

_SHARD = re.compile(r"^(\d{1,4})/(\d{1,4})$")
MAX_SHARDS = 1024


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N); ValueError with a one-line explanation otherwise."""
    m = _SHARD.match(text.strip())
    if m is None:
        raise ValueError(f"expected I/N such as 0/3 (shard I of N, I from 0), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shard count must be 1 to {MAX_SHARDS}, got {text!r}")
    if index >= count:
        raise ValueError(f"shard index must be 0 to {count - 1} for {count} shards, got {text!r}")
    return index, count


def shard_of(check_id: str, count: int) -> int:
    """The shard of a check among `count`: a hash of its id (not Python's salted hash)."""
    digest = hashlib.blake2b(check_id.encode("utf-8"), digest_size=8, person=b"prober-shard")
    return int.from_bytes(digest.digest(), "big") % count


def select(checks: Iterable[Check], index: int, count: int) -> tuple[Check, ...]:
    return tuple(c for c in checks if shard_of(c.id, count) == index)
