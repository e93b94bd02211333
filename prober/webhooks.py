"""Incident notifications: payloads built from effects, delivered from the store's outbox.

Delivery is at least once and never duplicated by a restart: each (webhook, incident update)
has a unique event key in the outbox, written in the same transaction as the update. The
sender runs in its own task with its own timeouts, so a hanging endpoint never slows probing.
Generic webhooks get JSON signed with HMAC-SHA256 (`X-Prober-Signature: sha256=<hex>`);
`kind: slack` gets Slack-compatible `{"text": ...}`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from prober.clock import Clock
from prober.config.model import Webhook
from prober.domain.effects import Effect, IncidentOpened, IncidentResolved, IncidentUpdated
from prober.domain.incident import Incident, IncidentUpdate
from prober.errors import StoreError
from prober.logs import get_logger
from prober.store.base import Delivery, Store

log = get_logger("prober.webhooks")

EVENT_NAMES = {
    IncidentOpened: "incident.opened",
    IncidentUpdated: "incident.updated",
    IncidentResolved: "incident.resolved",
}

IncidentView = Callable[[Incident], Mapping[str, Any]]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_text(event: str, incident: Incident, update: IncidentUpdate) -> str:
    lines = [f"*{incident.name}* — {update.status.value} ({incident.impact.value} impact)"]
    if update.body:
        lines.append(update.body)
    for a in update.affected_components:
        lines.append(f"• {a.name}: {a.old_status.label} → {a.new_status.label}")
    return "\n".join(lines)


def deliveries_for(
    effects: Sequence[Effect],
    webhooks: Sequence[Webhook],
    incident_view: IncidentView,
    page: Mapping[str, Any],
) -> list[tuple[str, str, bytes]]:
    """Outbox rows (webhook id, event key, payload) for the incident effects in `effects`."""
    rows: list[tuple[str, str, bytes]] = []
    if not webhooks:
        return rows
    for effect in effects:
        if isinstance(effect, IncidentOpened):
            incident, update = effect.incident, effect.incident.updates[-1]
        elif isinstance(effect, IncidentUpdated | IncidentResolved):
            incident, update = effect.incident, effect.update
        else:
            continue
        event = EVENT_NAMES[type(effect)]
        for hook in webhooks:
            if hook.kind == "slack":
                body: Mapping[str, Any] = {"text": slack_text(event, incident, update)}
            else:
                body = {
                    "event": event,
                    "event_id": update.id,
                    "page": page,
                    "incident": incident_view(incident),
                }
            rows.append((hook.id, f"{hook.id}:{update.id}", orjson.dumps(body)))
    return rows


def backoff(attempts: int, base: float = 2.0, cap: float = 600.0) -> float:
    """Seconds before the next attempt after `attempts` failures: 2, 4, 8 ... up to 10 min."""
    return float(min(cap, base ** max(1, attempts)))


class WebhookSender:
    """Drains the outbox: POSTs due deliveries, records the outcome, backs off on failure."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        on_outcome: Callable[[str, str], None],
    ) -> None:
        self.store = store
        self._clock = clock
        self._on_outcome = on_outcome
        self._hooks: dict[str, Webhook] = {}
        self._session: aiohttp.ClientSession | None = None
        # One send at a time per webhook: its events arrive in order, and a hanging
        # endpoint holds up only its own queue.
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def configure(self, webhooks: Sequence[Webhook]) -> None:
        self._hooks = {h.id: h for h in webhooks}

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_once(self) -> int:
        """Start sending every due delivery that is not already under way; returns how many
        were started. Sends run as their own tasks, so a slow endpoint holds up nothing."""
        now = self._clock.now().timestamp()
        due = [d for d in await self.store.due_deliveries(now) if d.id not in self._tasks]
        if not due:
            return 0
        if self._session is None:
            self._session = aiohttp.ClientSession()
        for delivery in due:
            task = asyncio.create_task(self._send_logged(delivery))
            self._tasks[delivery.id] = task
            task.add_done_callback(functools.partial(self._done, delivery.id))
        return len(due)

    def _done(self, delivery_id: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(delivery_id, None)

    async def idle(self) -> None:
        """Wait until every send under way has finished (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _send_logged(self, delivery: Delivery) -> None:
        lock = self._locks.setdefault(delivery.webhook, asyncio.Lock())
        try:
            async with lock:
                await self._send(delivery)
        except StoreError as exc:  # the row stays due; the next pass tries again
            log.error("webhook_outbox_failed", webhook=delivery.webhook, error=str(exc))

    async def _send(self, delivery: Delivery) -> None:
        hook = self._hooks.get(delivery.webhook)
        if hook is None:  # removed from the config: give up on it
            await self.store.delivery_failed(delivery.id, None)
            self._on_outcome(delivery.webhook, "dropped")
            return
        headers = {"Content-Type": "application/json", "User-Agent": "prober-webhook"}
        headers.update(dict(hook.headers))
        headers["X-Prober-Event-Key"] = delivery.event_key
        if hook.secret and hook.kind != "slack":
            headers["X-Prober-Signature"] = sign(hook.secret, delivery.payload)
        assert self._session is not None
        try:
            async with self._session.post(
                hook.url,
                data=delivery.payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=hook.timeout),
                allow_redirects=False,
            ) as resp:
                resp.release()  # the answer's body is not needed (nor trusted to be small)
                ok = 200 <= resp.status < 300
                detail = f"status {resp.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            ok, detail = False, type(exc).__name__
        if ok:
            await self.store.delivery_done(delivery.id)
            self._on_outcome(hook.id, "delivered")
            return
        attempts = delivery.attempts + 1
        if attempts >= hook.max_attempts:
            await self.store.delivery_failed(delivery.id, None)
            self._on_outcome(hook.id, "dropped")
            log.warning("webhook_dropped", webhook=hook.id, attempts=attempts, detail=detail)
            return
        next_at = self._clock.now().timestamp() + backoff(attempts)
        await self.store.delivery_failed(delivery.id, next_at)
        self._on_outcome(hook.id, "failed")
        log.info("webhook_failed", webhook=hook.id, attempts=attempts, detail=detail)
