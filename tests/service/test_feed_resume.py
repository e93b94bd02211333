"""The feed's position saved with the engine state (role.py): a new leader that resumes it
feeds every agent round exactly once, none twice and none skipped."""

from __future__ import annotations

import json
from pathlib import Path

from prober.config.loader import load_config
from prober.distributed.feed import Feed
from prober.store.rounds import MemoryRoundLog
from tests.service.test_replicas import LOCATIONS, round_rows
from tests.service.test_service_inprocess import START, config_text

T0 = START.timestamp()


async def test_a_resumed_feed_neither_refeeds_a_decided_round_nor_skips_a_pending_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(config_text() + LOCATIONS)
    config = load_config(path)
    log = MemoryRoundLog()
    for loc in ("eu", "us", "ap"):  # round 1: every location
        await log.append_rounds(round_rows(loc, "api-check", T0, ok=True))
    for loc in ("eu", "us"):  # round 2: ap has not reported yet
        await log.append_rounds(round_rows(loc, "api-check", T0 + 5, ok=False))
    old = Feed(log, config)
    batch = await old.poll(T0 + 6)
    assert [(d.check_id, len(d.results)) for d in batch.decisions] == [("api-check", 5)]
    saved = json.loads(json.dumps(old.state()))  # as the engine row stores it
    assert saved["cursor"] == 0  # round 2's rows were read on the first page
    await log.append_rounds(round_rows("ap", "api-check", T0 + 5, ok=False))
    new = Feed(log, config)
    new.resume(saved)
    batch = await new.poll(T0 + 6.5)
    # round 1 re-read but dropped as decided; round 2 decided with all three locations
    assert len(batch.decisions) == 1
    (decision,) = batch.decisions
    assert decision.round == old.quorum.decided()["api-check"] + 1
    assert sorted(decision.failing) == ["ap", "eu", "us"] and decision.counted
    assert new.quorum.late == 3
    assert (await new.poll(T0 + 30)).decisions == []  # nothing more, ever


async def test_a_feed_that_led_before_forgets_its_own_position(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(config_text() + LOCATIONS)
    config = load_config(path)
    log = MemoryRoundLog()
    for loc in ("eu", "us", "ap"):
        await log.append_rounds(round_rows(loc, "api-check", T0, ok=True))
    feed = Feed(log, config)
    assert len((await feed.poll(T0 + 1)).decisions) == 1
    feed.resume(None)  # a fresh database: from the start, nothing held over
    assert feed.cursor == 0 and feed.quorum.decided() == {}
    assert len((await feed.poll(T0 + 2)).decisions) == 1
