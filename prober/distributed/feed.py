"""The leader's side of the agents: read new rounds from the RoundLog by cursor, decode
them, merge the locations by quorum, and hand the engine one merged round per check round.

    feed = Feed(round_log, config)
    batch = await feed.poll(now)          # every poll_interval, on the leader only
    for (check_id, results), k in zip(batch.rounds, batch.confirmations):
        effects += engine.observe(results, now)   # k > 0: a confirmation round
    # batch.locations / batch.changed: per-location states for the API, metrics, alerts

The cursor is the id of the last row read; the leader keeps it (a new leader may start
from 0: rows older than `max_age` are skipped as stale, never fed twice into the status).
Locations are judged live or silent at poll time (`now`), so poll often (every second or
so): the quorum of a round is taken over the locations live when it is decided.
Extra detection latency over probing in-process: the agents' flush interval, plus the
write, plus up to one poll interval, plus waiting for the slowest reporting location
(at most the round's timeout + `distributed.settle` when a location misses the round).

Agents send confirmation rounds (prober/confirm.py) with their index k in the payload
(prober/distributed/codec.py); the quorum pairs confirmation k of a round across the
locations (prober/domain/quorum.py), and a merged confirmation round goes to the engine
as a confirmation round (`confirmations[i] > 0`: evidence, not a sample of time for
uptime, as in-process).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from prober.config.model import Config
from prober.confirm import CONFIRM_PROBES
from prober.distributed.codec import CodecError, decode_round
from prober.distributed.roundlog import RoundLog
from prober.domain.quorum import (
    CheckSpec,
    Decision,
    LocationState,
    Quorum,
    QuorumPolicy,
    key_of,
)
from prober.probes.result import ProbeResult

log = structlog.get_logger("prober.feed")
MAX_PAGES = 20  # rounds_after calls per poll: bounds one poll's work (20 x limit rows)


@dataclass(frozen=True, slots=True)
class FeedBatch:
    rounds: list[tuple[str, list[ProbeResult]]]  # (check id, merged round) for the engine
    decisions: list[Decision]  # every decided round, including no-data ones
    locations: list[LocationState]
    changed: list[LocationState]
    read: int = 0  # rows read from the log in this poll
    stale: int = 0  # rows skipped: their round started more than max_age ago
    undecodable: int = 0  # rows whose payload could not be read (logged, skipped)
    cursor: int = 0
    errors: list[str] = field(default_factory=list)
    # per merged round (same order as `rounds`): its confirmation index, 0 for a regular one
    confirmations: list[int] = field(default_factory=list)


def specs(config: Config) -> dict[str, CheckSpec]:
    out = {}
    for check in config.checks:
        policy = config.component(check.component).policy
        out[check.id] = CheckSpec(check.interval, check.timeout, policy.failure_reasons)
    return out


def policy(config: Config) -> QuorumPolicy:
    d = config.distributed
    return QuorumPolicy(d.quorum, d.location_timeout, d.settle, CONFIRM_PROBES)


class Feed:
    def __init__(
        self, rounds: RoundLog, config: Config, *, cursor: int = 0, limit: int = 5000
    ) -> None:
        self._log = rounds
        self.cursor = cursor
        self.limit = limit
        self.quorum = Quorum(specs(config), policy(config), config.distributed.locations)
        self.max_age = config.distributed.location_timeout
        self._expected = tuple(config.distributed.locations)
        # (check, round key) still undecided -> the cursor before the page it was read from
        self._origin: dict[tuple[str, tuple[int, int]], int] = {}
        self.fed = 0  # merged rounds fed to the engine, all leaders together (the caller counts)

    async def open(self) -> None:
        opener = getattr(self._log, "open", None)
        if opener is not None:
            await opener()

    async def close(self) -> None:
        closer = getattr(self._log, "close", None)
        if closer is not None:
            await closer()

    def state(self) -> dict[str, object]:
        """What a new leader needs to read every row exactly once: `replay` (the cursor
        before the oldest row of a round not yet decided), `decided` (check -> last
        round decided) and `confirmations` (check -> k when the last key decided is that
        round's confirmation k). Saved in the engine row, in the transaction of those rounds'
        effects (prober/service/role.py)."""
        replay = min(self._origin.values(), default=self.cursor)
        q = self.quorum
        return {
            "cursor": replay,
            "decided": q.decided(),
            "confirmations": q.decided_confirmations(),
            "fed": self.fed,
        }

    def resume(self, saved: object) -> None:
        """Start afresh where the saved `state()` says (None: from the start): rows after
        `replay` are read again; those of rounds already decided are dropped as late.
        What this feed held from an earlier leadership is forgotten."""
        q = self.quorum
        self.quorum = Quorum(q.checks, q.policy, self._expected)
        self._origin = {}
        self.cursor = self.fed = 0
        if not isinstance(saved, dict):
            return
        cursor, decided, fed = saved.get("cursor"), saved.get("decided"), saved.get("fed")
        if isinstance(fed, int):
            self.fed = fed
        if isinstance(cursor, int):
            self.cursor = cursor
        if isinstance(decided, dict):
            extra = saved.get("confirmations")
            confirmations = (
                {str(k): int(v) for k, v in extra.items()} if isinstance(extra, dict) else {}
            )
            self.quorum.resume({str(k): int(v) for k, v in decided.items()}, confirmations)

    def reconfigure(self, config: Config) -> None:
        self.quorum.reconfigure(specs(config), policy(config), config.distributed.locations)
        self.max_age = config.distributed.location_timeout
        self._expected = tuple(config.distributed.locations)

    async def prune(self, now: float, keep: float = 3600.0) -> int:
        """Delete rounds that started more than `keep` seconds ago (call now and then, on
        the leader): the feed skips rows older than `max_age` anyway."""
        return await self._log.prune_rounds(now - max(keep, self.max_age))

    async def poll(self, now: float) -> FeedBatch:
        """Read what the agents wrote since the last poll and decide what is due.

        A failing read leaves the cursor where it was (nothing is skipped) and still
        decides the rounds that became due."""
        read = stale = undecodable = 0
        errors: list[str] = []
        oldest = now - self.max_age
        for _ in range(MAX_PAGES):
            before = self.cursor
            try:
                rows, cursor = await self._log.rounds_after(self.cursor, self.limit)
            except Exception as exc:
                errors.append(type(exc).__name__)
                log.warning("feed_read_failed", error=type(exc).__name__)
                break
            for row in rows:
                read += 1
                if row.at < oldest:
                    stale += 1
                    continue
                try:
                    results, k = decode_round(row.payload, row.check_id)
                except CodecError as exc:
                    undecodable += 1
                    log.warning("feed_round_undecodable", id=row.id, error=str(exc))
                    continue
                if self.quorum.observe(row.location, row.check_id, results, k):
                    spec = self.quorum.checks[row.check_id]
                    at = min(r.at for r in results)
                    key = (row.check_id, key_of(row.check_id, spec.interval, at, k))
                    self._origin.setdefault(key, before)
            self.cursor = cursor
            if len(rows) < self.limit:
                break
        out = self.quorum.decide(now)
        for d in out.decisions:
            self._origin.pop((d.check_id, (d.round, d.confirmation)), None)
        if len(self._origin) > 100_000:  # rounds of removed checks are never decided
            live = self.quorum.checks
            self._origin = {k: v for k, v in self._origin.items() if k[0] in live}
        fed = [d for d in out.decisions if d.results]
        merged = [(d.check_id, list(d.results)) for d in fed]
        return FeedBatch(
            merged,
            out.decisions,
            out.locations,
            out.changed,
            read,
            stale,
            undecodable,
            self.cursor,
            errors,
            [d.confirmation for d in fed],
        )
