"""Incident notifications: payloads built from effects, delivered from the store's outbox.

Delivery is at least once and never duplicated by a restart: each (webhook, incident update)
has a unique event key `<webhook>:<incident>:<update>` in the outbox, written in the same
transaction as the update. Events of one incident go out in order (the store hands out only
the oldest pending one of each incident); a delivery is attempted at most `max_attempts`
times with backoff, then dead-lettered (`dropped`: counted in
`prober_webhook_deliveries_total{outcome="dropped"}`, logged, alerted on). A delivery that
succeeded but could not be marked done (full disk) is remembered and only marked again,
never resent. The sender runs in its own task with its own timeouts, so a hanging endpoint
never slows probing.

Generic webhooks get a small JSON event (the incident's summary, this update and a link,
not its whole history) signed as Standard Webhooks: `webhook-id` (the event key, the same
on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,` and the
base64 HMAC-SHA256 of `id.timestamp.body`, one per secret, separated by spaces. `secret`
may list several secrets separated by spaces, for rotation; a `whsec_` secret is base64 as
the spec describes. `kind: slack` gets Slack-compatible `{"text": ...}`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from prober.api.statuspage import update_json
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


SENT_UNMARKED_MAX = 10_000  # deliveries sent but not yet marked done, remembered at most


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: base64 after `whsec_` (Standard Webhooks), else its bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign(secrets: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64>` per secret (space-separated list)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets.split()
    )


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
        summary = {k: v for k, v in incident_view(incident).items() if k != "incident_updates"}
        for hook in webhooks:
            if hook.kind == "slack":
                body: Mapping[str, Any] = {"text": slack_text(event, incident, update)}
            else:
                body = {
                    "type": event,
                    "event": event,
                    "event_id": update.id,
                    "timestamp": update.created_at,
                    "page": {k: page[k] for k in ("id", "name", "url") if k in page},
                    "url": summary.get("shortlink"),
                    "incident": summary,
                    "incident_update": update_json(update),
                }
            key = f"{hook.id}:{incident.id}:{update.id}"
            rows.append((hook.id, key, orjson.dumps(body)))
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
        # Sent and answered 2xx, but the store could not mark them done: mark, never resend.
        self._unmarked: dict[int, str] = {}

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
        for delivery_id, hook_id in list(self._unmarked.items()):
            await self.store.delivery_done(delivery_id)  # StoreError: still unmarked, kept
            del self._unmarked[delivery_id]
            log.info("webhook_marked_done", webhook=hook_id)
        due = [
            d
            for d in await self.store.due_deliveries(now)
            if d.id not in self._tasks and d.id not in self._unmarked
        ]
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
        if hook.kind != "slack":
            timestamp = int(self._clock.now().timestamp())
            headers["webhook-id"] = delivery.event_key
            headers["webhook-timestamp"] = str(timestamp)
            if hook.secret:
                headers["webhook-signature"] = sign(
                    hook.secret, delivery.event_key, timestamp, delivery.payload
                )
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
            self._on_outcome(hook.id, "delivered")
            try:
                await self.store.delivery_done(delivery.id)
            except StoreError:
                if len(self._unmarked) < SENT_UNMARKED_MAX:
                    self._unmarked[delivery.id] = hook.id  # marked later, not sent again
                raise
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
