"""The agent in-process: probes its shard on schedule, writes each round (decodable, no
secret), exposes its metrics and readiness, and flushes everything on stop."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from prober.clock import VirtualClock
from prober.config.loader import parse_config
from prober.config.model import Check
from prober.confirm import CONFIRM_PROBES
from prober.distributed.agent import Agent
from prober.distributed.codec import decode_round
from prober.distributed.shard import shard_of
from prober.distributed.writer import WriterSettings
from prober.probes.result import ProbeResult, Reason

from .memlog import MemoryRoundLog

SECRET = "tok-0123456789abcdef"
CONFIG = """
components: [{id: api, name: API}]
checks:
""" + "".join(
    f'  - {{id: c{i}, component: api, url: "http://127.0.0.1:9/{i}", interval: 10s,'
    f' headers: {{Authorization: "Bearer ${{TOKEN}}"}}}}\n'
    for i in range(12)
)


def config():  # type: ignore[no-untyped-def]
    return parse_config(CONFIG, env={"TOKEN": SECRET})


class FakeProbe:
    """Every probe fails with a 503 (or, `ok`, passes: no confirmation rounds then)."""

    def __init__(self, clock: VirtualClock, ok: bool = False) -> None:
        self.clock = clock
        self.ok = ok
        self.calls: list[str] = []

    async def __call__(self, check: Check) -> ProbeResult:
        self.calls.append(check.id)
        at = self.clock.now().timestamp()
        if self.ok:
            return ProbeResult(check.id, check.component, at, Reason.OK, 0.05, 200)
        return ProbeResult(
            check.id, check.component, at, Reason.HTTP_5XX, 0.05, 503, f"echo {SECRET}"
        )


async def test_agent_writes_every_round_of_its_shard_and_nothing_else() -> None:
    clock = VirtualClock()
    log = MemoryRoundLog()
    probe = FakeProbe(clock)
    agent = Agent(config(), log, "eu-west", (1, 3), clock=clock, name="a1", probe=probe)
    mine = {c.id for c in agent.checks}
    assert mine == {f"c{i}" for i in range(12) if shard_of(f"c{i}", 3) == 1} and mine
    await agent.start()
    await clock.advance(30.0)
    left = await agent.stop()
    assert left == 0
    assert len(log.rows) == agent.rounds == agent.writer.written
    assert {r.check_id for r in log.rows} == mine
    kinds: dict[str, list[int]] = {c: [] for c in mine}
    for row in log.rows:
        assert (row.location, row.agent) == ("eu-west", "a1")
        assert SECRET.encode() not in row.payload
        (result,), k = decode_round(row.payload, row.check_id)
        kinds[row.check_id].append(k)
        assert result.reason is Reason.HTTP_5XX and result.status_code == 503
        assert result.at == row.at and "<redacted>" in result.detail
    # 30 s at a 10 s interval: three regular rounds; the first failing one (a change from
    # the presumed-up start) is followed by its 13 confirmation rounds, labelled 1 to 13
    for labels in kinds.values():
        assert labels.count(0) == 3
        assert [k for k in labels if k] == list(range(1, CONFIRM_PROBES + 1))


async def test_metrics_and_readiness_follow_the_database() -> None:
    clock = VirtualClock()
    log = MemoryRoundLog()
    agent = Agent(
        config(),
        log,
        "eu-west",
        clock=clock,
        probe=FakeProbe(clock, ok=True),
        writer=WriterSettings(flush_interval=0.1),
    )
    assert agent.ready() == (False, "Not started.")
    await agent.start()
    await clock.advance(10.0)
    ok, _ = agent.ready()
    assert ok
    text = agent.render_metrics().decode()
    written = re.search(
        r'^prober_agent_rounds_written_total\{location="eu-west",shard="0/1"\} (\S+)$',
        text,
        re.M,
    )
    assert written and float(written.group(1)) == agent.writer.written == 12
    assert 'prober_agent_batch_duration_seconds_count{location="eu-west",shard="0/1"}' in text
    assert 'prober_probes_total{check="c0"' in text  # the probe metrics too
    assert SECRET not in text
    log.down = True
    await clock.advance(10.0)
    ok, why = agent.ready()
    assert not ok and "unreachable" in why
    assert agent.writer.buffered == 12 and agent.writer.written == 12
    log.down = False
    assert await agent.stop() == 0
    assert len(log.rows) == 24 == agent.rounds


async def test_promtool_accepts_the_agent_exposition() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    clock = VirtualClock()
    agent = Agent(config(), MemoryRoundLog(), "eu", (0, 2), clock=clock, probe=FakeProbe(clock))
    await agent.start()
    await clock.advance(10.0)
    text = agent.render_metrics()
    await agent.stop()
    checked = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=text, capture_output=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == b"" and checked.stderr == b""  # no lint complaint either


DOC = (Path(__file__).resolve().parents[2] / "docs" / "METRICS.md").read_text()


async def test_metrics_doc_lists_exactly_the_agent_families() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    doc = DOC
    section = doc.split("## prober agent", 1)[1]
    listed = dict(re.findall(r"^- `(prober_agent_[a-z_]+)` \((\w+)\)", section, re.M))
    clock = VirtualClock()
    agent = Agent(config(), MemoryRoundLog(), "eu", clock=clock, probe=FakeProbe(clock))
    await agent.start()
    await clock.advance(10.0)
    text = agent.render_metrics().decode()
    await agent.stop()
    exposed = {}
    for fam in text_string_to_metric_families(text):
        if fam.name.startswith("prober_agent_"):
            name = fam.name + "_total" if fam.type == "counter" else fam.name
            exposed[name] = fam.type
            assert all(set(s.labels) >= {"location", "shard"} for s in fam.samples)
    assert listed == exposed


async def test_reload_keeps_the_shard_and_drops_removed_checks() -> None:
    clock = VirtualClock()
    log = MemoryRoundLog()
    probe = FakeProbe(clock)
    agent = Agent(config(), log, "eu", (1, 2), clock=clock, probe=probe)
    await agent.start()
    await clock.advance(10.0)
    before = {c.id for c in agent.checks}
    assert "c0" in before  # c0 and c0x both hash to shard 1 of 2
    smaller = parse_config(CONFIG.replace("  - {id: c0,", "  - {id: c0x,"), env={"TOKEN": SECRET})
    agent.reload(smaller)
    after = {c.id for c in agent.checks}
    assert after == {c.id for c in smaller.checks if shard_of(c.id, 2) == 1}
    assert "c0" not in after and "c0x" in after
    assert before - {"c0"} == after - {"c0x"}
    probe.calls.clear()
    await clock.advance(10.0)
    assert set(probe.calls) == after
    assert await agent.stop() == 0


class BadPhaseProbe(FakeProbe):
    """Check c0's result carries a phase the codec has no number for (a bug upstream)."""

    async def __call__(self, check: Check) -> ProbeResult:
        good = await super().__call__(check)
        if check.id != "c0":
            return good
        return ProbeResult(check.id, check.component, good.at, Reason.OK, 0.01, 200, "", {"x": 1})


async def test_a_round_that_cannot_be_encoded_is_left_out_and_the_others_written() -> None:
    clock = VirtualClock()
    log = MemoryRoundLog()
    agent = Agent(config(), log, "eu", clock=clock, name="a1", probe=BadPhaseProbe(clock))
    await agent.start()
    await clock.advance(10.0)
    assert await agent.stop() == 0
    assert agent.rounds >= 12
    assert {r.check_id for r in log.rows} == {f"c{i}" for i in range(1, 12)}
    assert agent.writer.written == len(log.rows) < agent.rounds and agent.writer.buffered == 0
