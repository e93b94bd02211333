"""Shards: every check in exactly one shard, stable, independent of order; I/N parsing."""

from __future__ import annotations

import random

import pytest

from prober.config.model import Check
from prober.distributed.shard import parse_shard, select, shard_of


def checks(n: int) -> list[Check]:
    return [Check(f"check-{i}", "api", f"http://127.0.0.1:1/{i}") for i in range(n)]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
def test_every_check_is_in_exactly_one_shard(count: int) -> None:
    every = checks(10_000)
    parts = [select(every, i, count) for i in range(count)]
    ids = [c.id for part in parts for c in part]
    assert sorted(ids) == sorted(c.id for c in every)  # none lost, none twice
    # and the split is even (a fixed hash of fixed ids: no flake; 5 sigma at 16 shards)
    assert all(abs(len(p) - 10_000 / count) <= 0.2 * 10_000 / count for p in parts)


def test_shard_does_not_depend_on_order_or_on_other_checks() -> None:
    every = checks(300)
    shuffled = every[:]
    random.Random(7).shuffle(shuffled)
    assert {c.id for c in select(every, 1, 3)} == {c.id for c in select(shuffled, 1, 3)}
    before = {c.id for c in select(every, 0, 3)}
    after = {c.id for c in select([*every, *checks(400)[300:]], 0, 3)}
    assert before <= after  # adding checks moves none of the existing ones


def test_shard_is_a_fixed_function_of_the_id() -> None:
    # Pinned values: the hash must never change between versions (agents of different
    # versions during a rollout must agree on who probes what).
    assert [shard_of(f"check-{i}", 5) for i in range(8)] == [0, 1, 3, 3, 3, 4, 2, 4]
    assert shard_of("api-health", 1) == 0


@pytest.mark.parametrize(("text", "value"), [("0/1", (0, 1)), ("2/3", (2, 3)), (" 0/16 ", (0, 16))])
def test_parse_shard(text: str, value: tuple[int, int]) -> None:
    assert parse_shard(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3/2", "shard index must be 0 to 1 for 2 shards"),
        ("2/2", "shard index must be 0 to 1"),
        ("0/0", "shard count must be 1 to 1024"),
        ("1", "expected I/N"),
        ("-1/2", "expected I/N"),
        ("a/b", "expected I/N"),
    ],
)
def test_bad_shards_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard(text)
