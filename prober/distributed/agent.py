"""`prober agent`: probe one shard of the checks from one location and write every round
to the RoundLog. No incident state: the leader judges (prober.distributed.feed).

The agent uses the same Runner and probes as `prober run`. Each round becomes one
RoundRow (location, agent, check id, start, payload from prober.distributed.codec); the
RoundWriter batches and retries them (see there for what happens when the database is
away). Network canaries are not probed by agents: a location's own network loss is told
from its checks by the quorum (prober.domain.quorum).

Agents send confirmation rounds (prober/confirm.py) as `prober run` does. Each is
labelled with its index k: the k-th confirmation round this agent started within the
check's current interval (`confirmation_round` of its start), so that the leader's quorum
pairs confirmation k of a round across the locations (codec version 2).
"""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Awaitable, Callable, Iterable

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from prober.clock import Clock, SystemClock
from prober.config.model import Check, Config
from prober.config.secrets import Redactor
from prober.confirm import in_confirmation
from prober.distributed.fastcodec import encode
from prober.distributed.roundlog import RoundLog, RoundRow
from prober.distributed.shard import select
from prober.distributed.writer import RoundWriter, WriterSettings
from prober.domain.quorum import confirmation_round
from prober.metrics.fastexpo import CheckSeriesTable
from prober.metrics.servicestate import Hist
from prober.probes.result import ProbeResult
from prober.runner import Runner

ProbeFn = Callable[[Check], Awaitable[ProbeResult]]
_Staged = tuple[str, list[ProbeResult], Callable[[str], str], int]  # check, round, redactor, k
log = structlog.get_logger("prober.agent")
# A full garbage collection on this timer: the CLI turns the automatic ones off
# (prober/fastgc.py, as `prober run` does; GC_FULL_INTERVAL of prober/service/upkeep.py).
GC_FULL_INTERVAL = 600.0
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _AgentCollector:
    """The writer's counters, read at scrape time (never counted twice)."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    def collect(self) -> Iterable[Metric]:
        a = self._agent
        w = a.writer
        labels = ["location", "shard"]
        values = [a.location, a.shard_label]

        def counter(name: str, doc: str, value: float) -> Metric:
            m = CounterMetricFamily(name, doc, labels=labels)
            m.add_metric(values, value)
            return m

        def gauge(name: str, doc: str, value: float) -> Metric:
            m = GaugeMetricFamily(name, doc, labels=labels)
            m.add_metric(values, value)
            return m

        batch = a.batch_seconds
        hist = HistogramMetricFamily(
            "prober_agent_batch_duration_seconds",
            "Time to write one batch of rounds to the round log.",
            labels=labels,
        )
        cum = 0
        buckets: list[tuple[str, float]] = []
        for bound, n in zip((*batch.bounds, float("inf")), batch.counts, strict=True):
            cum += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cum))
        hist.add_metric(values, buckets, batch.total)
        yield hist
        yield counter(
            "prober_agent_rounds_written",
            "Rounds stored durably in the round log.",
            w.written,
        )
        yield counter(
            "prober_agent_rounds_dropped",
            "Rounds dropped unwritten because the buffer was full while the database was away.",
            w.dropped,
        )
        yield counter(
            "prober_agent_write_errors", "Failed writes to the round log (retried).", w.errors
        )
        yield gauge("prober_agent_buffered_rounds", "Rounds waiting to be written.", w.buffered)
        yield gauge("prober_agent_checks", "Checks in this agent's shard.", len(a.checks))
        yield gauge(
            "prober_agent_database_healthy",
            "1 when the last write to the round log succeeded.",
            1.0 if w.healthy else 0.0,
        )


class Agent:
    def __init__(
        self,
        config: Config,
        rounds: RoundLog,
        location: str,
        shard: tuple[int, int] = (0, 1),
        *,
        clock: Clock | None = None,
        name: str | None = None,
        probe: ProbeFn | None = None,
        writer: WriterSettings | None = None,
        max_concurrency: int = 512,
        grace: float = 10.0,
    ) -> None:
        self.location = location
        self.shard = shard
        self.shard_label = f"{shard[0]}/{shard[1]}"
        self.name = name or socket.gethostname()
        self.clock: Clock = clock or SystemClock()
        self.checks = select(config.checks, *shard)
        self._redact = Redactor(config.secret_values)
        self._probe = probe
        self._close_probe: Callable[[], Awaitable[None]] | None = None
        self._max_concurrency = max_concurrency
        self._grace = grace
        self.registry = CollectorRegistry(auto_describe=True)
        self.batch_seconds = Hist(BATCH_BUCKETS)
        self.writer = RoundWriter(rounds, self.clock, writer, self._on_batch, self._encode_rounds)
        self.registry.register(_AgentCollector(self))
        self.series = CheckSeriesTable()
        self.series.set_checks(self.checks)
        self.runner: Runner | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._gc_task: asyncio.Task[None] | None = None
        self.rounds = 0
        self._confirmed: dict[str, tuple[int, int]] = {}  # check -> (round n, last k)

    def _on_batch(self, rows: int, seconds: float) -> None:
        self.batch_seconds.observe(seconds)

    async def _on_round(self, check: Check, results: list[ProbeResult], lag: float) -> None:
        if not results:
            return
        self.rounds += 1
        self.series.record(check, results)
        k = 0
        if in_confirmation():  # the k-th confirmation round within the check's interval
            at = min(r.at for r in results)
            n = confirmation_round(check.id, check.interval, at)
            last_n, last_k = self._confirmed.get(check.id, (n, 0))
            k = min(last_k + 1 if last_n == n else 1, 0xFFFF)
            self._confirmed[check.id] = (n, k)
        # Encoded later with the other staged rounds (`_encode_rounds`): the Runner hands
        # over a fresh list each round and never touches it again. The redactor goes with
        # the round, so a reload's new secrets do not change what an older round may hold.
        self.writer.stage((check.id, results, self._redact, k))

    def _encode_rounds(self, staged: list[_Staged]) -> list[RoundRow]:
        location, name = self.location, self.name
        rows: list[RoundRow] = []
        for check_id, results, redact, k in staged:
            try:
                payload = encode(results, redact, k)
            except ValueError as exc:  # a bug, not the target: keep the other rounds
                log.error("agent_round_not_encoded", check=check_id, error=str(exc))
                continue
            at = results[0].at if len(results) == 1 else min(r.at for r in results)
            rows.append(RoundRow(location, name, check_id, at, payload))
        return rows

    async def start(self) -> None:
        probe = self._probe
        if probe is None:
            from prober.probes.http import HttpProber

            prober = HttpProber(self.clock)
            probe = prober.probe
            self._close_probe = prober.close
        # Confirmation rounds as in-process (labelled in _on_round); no adaptive-evidence
        # rounds: they follow the leader's engine, which an agent does not have.
        self.runner = Runner(probe, self._on_round, self.clock, self._max_concurrency, self._grace)
        self.runner.start(self.checks)
        loop = asyncio.get_running_loop()
        self._writer_task = loop.create_task(self.writer.run())
        self._gc_task = loop.create_task(self._collect_garbage())

    async def _collect_garbage(self) -> None:
        """Full collections on a timer (automatic ones are off in the agent process: at
        each, the oldest generation holds every buffered round and the loop stalls)."""
        while True:
            await self.clock.sleep(GC_FULL_INTERVAL)
            gc.collect()

    async def stop(self, flush_timeout: float = 10.0) -> int:
        """Stop probing (rounds under way get the grace), write what is buffered; the
        number of rounds that could not be written within `flush_timeout`."""
        if self.runner is not None:
            await self.runner.stop()
        if self._gc_task is not None:
            self._gc_task.cancel()
            await asyncio.gather(self._gc_task, return_exceptions=True)
        if self._writer_task is not None:
            # Let a batch under way finish (a write cancelled midway may have committed,
            # and drain() would then store it twice), within the flush timeout.
            lock = self.writer.lock
            try:
                await asyncio.wait_for(lock.acquire(), flush_timeout)
                held = True
            except TimeoutError:
                held = False
            self._writer_task.cancel()
            await asyncio.gather(self._writer_task, return_exceptions=True)
            if held:
                lock.release()
        left = await self.writer.drain(self.clock.monotonic() + flush_timeout)
        if self._close_probe is not None:
            await self._close_probe()
        return left

    def reload(self, config: Config) -> None:
        """Swap in a new config (SIGHUP): the shard's unchanged checks keep their schedule."""
        self.checks = select(config.checks, *self.shard)
        self._redact = Redactor(config.secret_values)
        self.series.set_checks(self.checks)
        kept = {c.id for c in self.checks}
        self._confirmed = {c: v for c, v in self._confirmed.items() if c in kept}
        if self.runner is not None:
            self.runner.update(self.checks)

    def ready(self) -> tuple[bool, str]:
        if self.runner is None:
            return False, "Not started."
        if not self.writer.healthy:
            return False, "Round log unreachable; rounds are buffered."
        return True, f"Ready: {len(self.checks)} checks, location {self.location}."

    def render_metrics(self) -> bytes:
        return generate_latest(self.registry) + b"".join(self.series.render())
