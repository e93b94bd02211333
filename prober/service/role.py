"""Leader or follower: several `prober run` replicas on one PostgreSQL database (issue 14).

Every replica opens the (fenced) store and serves the API and the page. Exactly one, the
leader (prober/store/postgres_lease.py), runs the incident engine, writes and sends
webhooks; the others follow: they rebuild their snapshot from the database every second.

    contend (every second)  follower: try to acquire; leader: renew (each bounded, 5 s)
    take_over               under the engine lock: load the state, rebuild the engine;
                            resume the feed cursor, start the writer, the leader's jobs,
                            probing or the feed, the real-traffic signals
    step_down               renew failed, a write was fenced, the database was lost:
                            stop the engine's jobs, the writer and the sender at once,
                            drop what was queued (the new leader carries on from the
                            saved state) and follow

Evidence: with `distributed.locations` the leader reads the agents' rounds from the round
log (`Feed.poll`, every second) and feeds the merged rounds to the engine in one step whose
state row carries the feed's position (`Feed.state()`: same transaction as the effects),
so a new leader reads every round once. Without locations the leader probes in-process.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from prober.distributed.feed import Feed
from prober.errors import StoreError
from prober.logs import Throttle, get_logger
from prober.rescue import engine_from
from prober.service.agents import AgentRounds
from prober.service.follower import DUTY, follow
from prober.service.jobs import Job, Scheduler
from prober.signals.traffic import engine_config
from prober.store.lease import FencedError, Leadership

if TYPE_CHECKING:
    from prober.service.core import Service

log = get_logger("prober.service")
CONTEND_INTERVAL = 1.0  # a follower tries to take over this often (bounds the failover)
REFRESH_INTERVAL = 1.0  # a follower re-reads the state this often
# The leader reads the agents' rounds this often: part of the extra detection latency of
# the agent path (issue 14's bar: p99 at most 1 s; `python -m bench.distributed`).
FEED_INTERVAL = 0.25


class Role:
    def __init__(self, service: Service, leadership: Leadership, feed: Feed | None) -> None:
        self.service = service
        self.leadership = leadership
        self.feed = feed
        self.leading = False
        self.term = 0
        self.holder = ""
        self.agents = AgentRounds(service, feed) if feed is not None else None
        self._jobs = Scheduler(service.clock)  # the leader's
        self._writer: asyncio.Task[None] | None = None
        self._switch = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._throttle = Throttle(60.0)
        self._next_refresh = 0.0
        service.keeper.on_fenced = self._fenced

    # ---- the follower's jobs (every replica runs them) -----------------------------------
    def jobs(self) -> list[Job]:
        return [
            Job("contend", CONTEND_INTERVAL, self.contend),
            Job("refresh", REFRESH_INTERVAL, self.refresh),
            # A finding of the integrity check stays until a check passes, led or not.
            Job(
                "recheck_integrity",
                self.service.settings.integrity_recheck_interval,
                self.service.upkeep.recheck_integrity,
            ),
        ]

    async def contend(self) -> None:
        async with self._switch:
            if self.leading:
                if not await self.leadership.renew():
                    await self._step_down("renew failed")
                return
            try:
                # Bounded (PgLeadership: `timeout`, 5 s): a database that stops answering
                # leaves this replica a follower that tries again at the next contend.
                won = await self.leadership.acquire()
            except StoreError as exc:
                if self._throttle.allow("acquire", time.monotonic()) is not None:
                    log.warning("leader_contend_failed", error=str(exc))
                return  # no leader to read either: the database did not answer
            if won:
                await self._take_over()
            else:
                await self._note_leader()

    async def _note_leader(self) -> None:
        try:
            info = await self.leadership.current()
        except StoreError:
            return
        self.term, self.holder = info.term, info.holder
        self.service.exporter.leader(False, info.term, info.elected_at)
        self._describe()

    def _describe(self) -> None:
        role = "leader" if self.leading else "follower"
        self.service.live.role = f"role={role}; term={self.term}; leader={self.holder}"
        self.service.live.leader = self.holder
        self.service.pipeline.publish()

    # ---- follower: the page from the database ---------------------------------------------
    async def refresh(self) -> None:
        """Follow the leader's saved state: components, open and recent incidents, the
        agents' locations; uptime every minute. A failed read keeps the last page."""
        if not self.leading:  # not under the lock: a rebuild must not delay a take-over
            await self._refresh()

    async def _refresh(self) -> None:
        clock = self.service.clock
        if clock.monotonic() < self._next_refresh:
            return
        began = time.perf_counter()
        await follow(self.service, lambda: self.service.live.follower)
        self._next_refresh = clock.monotonic() + DUTY * (time.perf_counter() - began)

    # ---- leader --------------------------------------------------------------------------
    async def _take_over(self) -> None:
        """Never half a leader: a take-over that fails part way steps down again."""
        try:
            await self._lead()
        except Exception as exc:  # StoreError (the database went), or a bug
            log.exception("leader_take_over_failed", error=str(exc))
            self.leading = True  # so that everything started is stopped
            self.term, self.holder = self.leadership.term or self.term, "(this replica)"
            await self._step_down(f"take over failed: {type(exc).__name__}")
        except asyncio.CancelledError:  # shutdown mid take-over: nothing started runs on
            await self._stop_leading()
            async with self.service.live.lock:
                self.service.keeper.discard()  # never written: the next leader recomputes
                self.service.live.follower = True
            raise

    async def _lead(self) -> None:
        s, term = self.service, self.leadership.term
        # Under the engine lock from before `follower` drops until the engine is rebuilt:
        # a person's write (or a reload) arriving meanwhile waits for the engine made from
        # what the last leader saved; on the follower's copy (up to a refresh old) it would
        # write over the last leader's final writes, in this replica's valid term.
        async with s.live.lock:
            s.live.follower = False  # from here a follower's refresh in flight changes nothing
            state = await s.keeper.open()  # what the last leader saved, read after winning
            s.keeper.discard()
            s.live.engine = await engine_from(engine_config(s.config), state, s.keeper)
        saved_feed = (s.keeper.saved_engine or {}).get("feed")
        # Saved again as it was until the first poll: never a position this replica held
        # when it led before (the rows since would be fed twice).
        s.pipeline.engine_extra = {"feed": saved_feed} if saved_feed else {}
        if self.feed is not None:
            self.feed.resume(saved_feed)
        info = await self.leadership.current()
        now = s.live.time.now()
        await s.pipeline.step(lambda e, t: e.reconfigure(engine_config(s.config), t), now)
        self._writer = asyncio.create_task(s.keeper.run())
        await s._seed_incidents()
        s.sender.store = s.keeper.store
        s.sender.configure(s.config.webhooks)
        # Leading from here on, whole: the flag, metrics, readiness, log, then the work.
        self.leading = True
        self.term, self.holder = info.term, info.holder
        s.exporter.leader(True, info.term, info.elected_at)
        self._describe()
        log.info("leader_elected", term=term, holder=info.holder)
        jobs = [j for j in s.upkeep.jobs(s.reloader.watch) if j.name in LEADER_JOBS]
        if self.feed is not None and s.config.distributed.locations:
            jobs.append(Job("feed", FEED_INTERVAL, self._poll))
        else:
            s.runner.start(s.config.probed)
        # Real-traffic signals are the leader's evidence whichever way probes come in
        # (in-process or from the agents); `_stop_leading` stops them.
        s.intake.configure_traffic(s.config)
        self._jobs.start(jobs)
        s.pipeline.rebuild(now)

    async def _poll(self) -> None:
        if self.agents is not None:
            await self.agents.poll(lambda: self.leading)

    @property
    def rounds_fed(self) -> int:
        return 0 if self.agents is None else self.agents.rounds_fed

    def _fenced(self, exc: FencedError) -> None:
        """From the keeper (maybe inside the writer task): step down from a task of its own."""
        task = asyncio.create_task(self.step_down(f"fenced: {exc}"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def step_down(self, reason: str) -> None:
        async with self._switch:
            await self._step_down(reason)

    async def _step_down(self, reason: str) -> None:
        if not self.leading:
            return
        s = self.service
        self.leading = False
        s.live.follower = True  # no write is queued or acknowledged from here on
        await self._stop_leading()
        # A person's write under way holds the engine lock and reads the term only when
        # its transaction starts: let it end (fenced, or committed in the term it was made
        # in) before leadership can be taken again, or it would commit in this replica's
        # next term, over the state a new leader may have written meanwhile.
        async with s.live.lock:
            s.keeper.discard()
        await self.leadership.release()
        s.exporter.leader(False, self.term, None)
        self._describe()
        log.warning("leader_lost", term=self.term, holder=self.holder, reason=reason)
        self._next_refresh = 0.0  # follow at once
        await self._refresh()

    async def _stop_leading(self) -> None:
        s = self.service
        await self._jobs.stop()
        await s.runner.stop()
        await s.intake.traffic.stop()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await s.sender.close()

    async def open(self) -> None:
        if self.feed is not None:
            await self.feed.open()

    async def stop(self) -> None:
        """Shutting down: a leader saves, then steps down so the next one takes over now."""
        async with self._switch:
            if self.leading:
                await self._stop_leading()
                await s_flush(self.service)
                self.leading = False
                log.info("leader_stepped_down", term=self.term, holder=self.holder)
            await self.leadership.release()
            if self.feed is not None:
                await self.feed.close()
        await self.service.sender.close()


LEADER_JOBS = frozenset({"tick", "send_webhooks", "minutely", "save_state", "check_integrity"})


async def s_flush(service: Service) -> None:
    """A leader's last save before it releases the lock (the next leader reads it)."""
    await service.upkeep.flush_aggregates()
    await service.upkeep.save_state()
    if not await service.keeper.flush():  # said, as on a single node: never silently
        log.error("store_unsaved_at_exit", pending_effects=service.keeper.pending_effects)
