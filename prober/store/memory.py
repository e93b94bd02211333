"""MemoryStore: the Store protocol in process memory, for tests and `--db` less runs.

Semantics match SqliteStore exactly (the same contract tests run on both): `apply` is
all-or-nothing, updates are upserted by id, the outbox is unique per (webhook, event_key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from prober.domain.codec import StateDelta
from prober.domain.effects import Effect
from prober.domain.incident import Incident, IncidentUpdate
from prober.domain.status import ComponentStatus
from prober.errors import StoreError
from prober.store import codec
from prober.store.base import Delivery, ProbeAggregate, SavedState, StatusChange


@dataclass
class _Change:
    id: int
    component: str
    at: float
    old: ComponentStatus
    new: ComponentStatus


@dataclass
class _Outbox:
    id: int
    webhook: str
    event_key: str
    payload: bytes
    attempts: int
    next_attempt_at: float
    state: str  # pending, done, dropped
    created_at: float


class MemoryStore:
    """A Store kept in dicts; nothing survives the process."""

    def __init__(self) -> None:
        self._open = False
        self._engine: str | None = None  # the engine row's JSON (kept as text, like SQLite)
        self._components: dict[str, str] = {}  # component id -> its row's JSON
        self.row_writes = 0  # component rows written so far (what the contract tests count)
        self._incidents: dict[str, Incident] = {}  # without updates
        self._updates: dict[str, tuple[int, IncidentUpdate]] = {}  # id -> (seq, update)
        self._changes: list[_Change] = []
        self._aggregates: dict[tuple[str, int], ProbeAggregate] = {}
        self._outbox: dict[int, _Outbox] = {}
        self._seq = 0
        self._change_keys: set[tuple[str, float, ComponentStatus]] = set()
        self._outbox_keys: set[tuple[str, str]] = set()

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("store is not open")

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def load_state(self) -> SavedState | None:
        self._check_open()
        if self._engine is None:
            return None
        components = {cid: codec.load_state(text) for cid, text in self._components.items()}
        still_open = [self._with_updates(i) for i in self._incidents.values() if i.is_open]
        return SavedState(codec.load_state(self._engine), components, still_open)

    async def apply(
        self,
        effects: Sequence[Effect],
        state: StateDelta | None,
        deliveries: Sequence[tuple[str, str, bytes]] = (),
        now: float = 0.0,
    ) -> None:
        self._check_open()
        # Everything that can fail is checked before the first mutation: all or nothing.
        engine = None if state is None else codec.dump_state(state.engine)
        comps = {} if state is None else state.components
        rows = {cid: codec.dump_state(row) for cid, row in comps.items()}
        writes = codec.expand(effects)
        known = set(self._incidents) | {i.id for i in writes.incidents}
        for upd in writes.updates:
            if upd.incident_id not in known:
                raise StoreError(f"update {upd.id} refers to unknown incident {upd.incident_id}")
        for inc in writes.incidents:
            self._incidents[inc.id] = inc
        for upd in writes.updates:
            old = self._updates.get(upd.id)
            self._updates[upd.id] = (old[0] if old else self._next(), upd)
        seen = self._change_keys
        for ch in writes.status_changes:
            if (ch.component, ch.at, ch.new) not in seen:
                seen.add((ch.component, ch.at, ch.new))
                self._changes.append(_Change(self._next(), ch.component, ch.at, ch.old, ch.new))
        if state is not None:
            if state.complete:
                self._components = {}
            self._components.update(rows)
            self.row_writes += len(rows)
            self._engine = engine
        keys = self._outbox_keys
        for webhook, key, payload in deliveries:
            if (webhook, key) not in keys:
                keys.add((webhook, key))
                row_id = self._next()
                self._outbox[row_id] = _Outbox(
                    row_id, webhook, key, bytes(payload), 0, now, "pending", now
                )

    def _with_updates(self, inc: Incident) -> Incident:
        ups = sorted(
            (u for u in self._updates.values() if u[1].incident_id == inc.id),
            key=lambda su: (su[1].created_at, su[0]),
        )
        return replace(inc, updates=tuple(u for _, u in ups))

    async def incidents(self, limit: int = 50, since: float | None = None) -> list[Incident]:
        self._check_open()
        rows = sorted(
            (i for i in self._incidents.values() if codec.listed(i, since)), key=codec.order_key
        )
        return [self._with_updates(i) for i in rows[: max(limit, 0)]]

    async def incidents_started(
        self, since: float, until: float, limit: int = 1000
    ) -> list[Incident]:
        self._check_open()
        rows = sorted(
            (i for i in self._incidents.values() if since <= i.started_at < until),
            key=lambda i: (i.started_at, i.id),
        )
        return [self._with_updates(i) for i in rows[: max(limit, 0)]]

    async def incident(self, incident_id: str) -> Incident | None:
        self._check_open()
        inc = self._incidents.get(incident_id)
        return None if inc is None else self._with_updates(inc)

    async def status_changes(self, since: float) -> list[StatusChange]:
        self._check_open()
        ordered = sorted(self._changes, key=lambda c: (c.at, c.id))
        baseline: dict[str, ComponentStatus] = {}
        for c in ordered:
            if c.at <= since:
                baseline[c.component] = c.new
        after = [(c.component, c.at, c.old, c.new) for c in ordered if c.at > since]
        return codec.timeline(since, baseline, after)

    async def add_probe_aggregates(self, rows: Sequence[ProbeAggregate]) -> None:
        self._check_open()
        for row in rows:
            key = (row.check_id, row.minute)
            old = self._aggregates.get(key)
            if old is not None:
                row = ProbeAggregate(
                    row.check_id,
                    row.component,
                    row.minute,
                    old.total + row.total,
                    old.failures + row.failures,
                    old.latency_sum + row.latency_sum,
                    max(old.latency_max, row.latency_max),
                )
            self._aggregates[key] = row

    async def probe_aggregates(self, check_id: str, since: float) -> list[ProbeAggregate]:
        self._check_open()
        rows = [
            a for a in self._aggregates.values() if a.check_id == check_id and a.minute >= since
        ]
        return sorted(rows, key=lambda a: a.minute)

    async def probe_days(self, since: float) -> list[tuple[str, int, int, int]]:
        self._check_open()
        days: dict[tuple[str, int], list[int]] = {}
        for a in self._aggregates.values():
            if a.minute >= since:
                sums = days.setdefault((a.component, a.minute // 86400 * 86400), [0, 0])
                sums[0] += a.total
                sums[1] += a.failures
        return [(c, d, t, f) for (c, d), (t, f) in days.items()]

    async def due_deliveries(self, now: float, limit: int = 100) -> list[Delivery]:
        self._check_open()
        heads: dict[tuple[str, str], _Outbox] = {}
        for o in sorted(self._outbox.values(), key=lambda o: o.id):
            if o.state == "pending":
                heads.setdefault((o.webhook, codec.ordering(o.event_key)), o)
        due = sorted(
            (o for o in heads.values() if o.next_attempt_at <= now),
            key=lambda o: (o.next_attempt_at, o.id),
        )
        return [
            Delivery(o.id, o.webhook, o.event_key, o.payload, o.attempts, o.next_attempt_at)
            for o in due[: max(limit, 0)]
        ]

    async def delivery_done(self, delivery_id: int) -> None:
        self._check_open()
        row = self._outbox.get(delivery_id)
        if row is not None and row.state == "pending":
            row.attempts += 1
            row.state = "done"
            row.payload = b""

    async def delivery_failed(self, delivery_id: int, next_attempt_at: float | None) -> None:
        self._check_open()
        row = self._outbox.get(delivery_id)
        if row is None or row.state != "pending":
            return
        row.attempts += 1
        if next_attempt_at is None:
            row.state = "dropped"
        else:
            row.next_attempt_at = next_attempt_at

    async def check(self, full: bool = False) -> str | None:
        return None  # nothing on disk to corrupt

    async def prune(self, now: float, retention: float) -> None:
        self._check_open()
        cutoff = now - retention
        self._aggregates = {k: a for k, a in self._aggregates.items() if a.minute >= cutoff}
        gone = {
            i.id
            for i in self._incidents.values()
            if not i.is_open and i.resolved_at is not None and i.resolved_at < cutoff
        }
        for iid in gone:
            del self._incidents[iid]
        self._updates = {k: v for k, v in self._updates.items() if v[1].incident_id not in gone}
        # Keep each component's last change before the cutoff: uptime needs its baseline.
        last: dict[str, _Change] = {}
        for c in sorted(self._changes, key=lambda c: (c.at, c.id)):
            if c.at <= cutoff:
                last[c.component] = c
        keep = {c.id for c in last.values()}
        self._changes = [c for c in self._changes if c.at >= cutoff or c.id in keep]
        self._change_keys = {(c.component, c.at, c.new) for c in self._changes}
        done_cutoff = now - min(retention, codec.DONE_KEPT)
        self._outbox = {
            k: o
            for k, o in self._outbox.items()
            if o.state == "pending"
            or o.created_at >= (done_cutoff if o.state == "done" else cutoff)
        }
        self._outbox_keys = {(o.webhook, o.event_key) for o in self._outbox.values()}
