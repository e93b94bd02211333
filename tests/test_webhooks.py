"""Webhook outbox delivery against a real local receiver."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from prober.clock import FakeClock
from prober.config.model import Webhook
from prober.domain.effects import IncidentOpened, IncidentResolved
from prober.domain.incident import AffectedComponent, Incident, IncidentUpdate
from prober.domain.status import ComponentStatus as S
from prober.domain.status import Impact, IncidentStatus
from prober.errors import StoreError
from prober.store.memory import MemoryStore
from prober.webhooks import WebhookSender, backoff, deliveries_for


def incident(status: IncidentStatus = IncidentStatus.INVESTIGATING) -> Incident:
    first = IncidentUpdate(
        "u1",
        "inc1",
        IncidentStatus.INVESTIGATING,
        "Elevated 500s",
        100.0,
        (AffectedComponent("api", "Platform API", S.OPERATIONAL, S.PARTIAL_OUTAGE),),
    )
    updates: tuple[IncidentUpdate, ...] = (first,)
    if status is IncidentStatus.RESOLVED:
        updates += (IncidentUpdate("u2", "inc1", IncidentStatus.RESOLVED, "Fixed", 700.0),)
    return Incident(
        "inc1",
        "Elevated 500 rates on Platform API",
        status,
        Impact.MAJOR,
        90.0,
        100.0,
        700.0,
        components=(("api", S.PARTIAL_OUTAGE),),
        updates=updates,
    )


def view(inc: Incident) -> dict[str, Any]:
    return {"id": inc.id, "name": inc.name, "status": inc.status.value}


class Receiver:
    def __init__(self, fail_first: int = 0, hang: bool = False) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.attempts: list[dict[str, str]] = []  # headers of every request, failed or not
        self.fail_first = fail_first
        self.hang = hang
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts.append(dict(request.headers))
        if self.hang:
            await asyncio.sleep(2)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=503)
        self.bodies.append((dict(request.headers), body))
        return web.Response(status=204)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))


async def setup(
    receiver: Receiver, **hook: Any
) -> tuple[MemoryStore, WebhookSender, FakeClock, list[tuple[str, str]]]:
    await receiver.server.start_server()
    store = MemoryStore()
    await store.open()
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    sender = WebhookSender(store, clock, lambda w, o: outcomes.append((w, o)))
    sender.configure([Webhook(id="ops", url=receiver.url, **hook)])
    return store, sender, clock, outcomes


async def test_signed_json_delivered_once_even_when_effects_are_applied_twice() -> None:
    receiver = Receiver()
    store, sender, clock, outcomes = await setup(receiver, secret="k3y-value")
    hooks = [Webhook(id="ops", url=receiver.url, secret="k3y-value")]
    effects = [IncidentOpened(incident())]
    rows = deliveries_for(effects, hooks, view, {"name": "Acme"})
    now = clock.now().timestamp()
    await store.apply(effects, None, rows, now)
    await store.apply(effects, None, rows, now)  # a restart re-applying the same step
    try:
        assert await sender.run_once() == 1
        await sender.idle()
        assert await sender.run_once() == 0
    finally:
        await sender.close()
        await receiver.server.close()
    ((headers, body),) = receiver.bodies
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(b"k3y-value", signed, hashlib.sha256).digest())
    assert headers["webhook-signature"] == "v1," + expected.decode()
    payload = json.loads(body)
    assert payload["event"] == "incident.opened"
    assert payload["incident"]["id"] == "inc1"
    assert b"k3y-value" not in body
    assert outcomes == [("ops", "delivered")]


async def test_failures_back_off_then_deliver() -> None:
    receiver = Receiver(fail_first=2)
    store, sender, clock, outcomes = await setup(receiver)
    hooks = [Webhook(id="ops", url=receiver.url, kind="slack")]
    inc = incident(IncidentStatus.RESOLVED)
    effects = [IncidentResolved(inc, inc.updates[-1])]
    await store.apply(
        effects, None, deliveries_for(effects, hooks, view, {}), clock.now().timestamp()
    )
    try:
        assert await sender.run_once() == 1  # 503
        await sender.idle()
        assert await sender.run_once() == 0  # not due yet: backing off
        clock.advance(backoff(1))
        assert await sender.run_once() == 1  # 503 again
        await sender.idle()
        clock.advance(backoff(2))
        assert await sender.run_once() == 1
        await sender.idle()
    finally:
        await sender.close()
        await receiver.server.close()
    assert outcomes == [("ops", "failed"), ("ops", "failed"), ("ops", "delivered")]
    ((_, body),) = receiver.bodies
    text = json.loads(body)["text"]
    assert "resolved" in text and "Platform API" in text


async def test_hanging_endpoint_times_out_and_gives_up_after_max_attempts() -> None:
    receiver = Receiver(hang=True)
    store, sender, clock, outcomes = await setup(receiver, timeout=0.2, max_attempts=2)
    hooks = [Webhook(id="ops", url=receiver.url, timeout=0.2, max_attempts=2)]
    effects = [IncidentOpened(incident())]
    await store.apply(
        effects, None, deliveries_for(effects, hooks, view, {}), clock.now().timestamp()
    )
    try:
        await sender.run_once()
        await asyncio.wait_for(sender.idle(), 5)
        clock.advance(backoff(1))
        await sender.run_once()
        await asyncio.wait_for(sender.idle(), 5)
        clock.advance(3600)
        assert await sender.run_once() == 0  # dropped: never retried again
    finally:
        await sender.close()
        await receiver.server.close()
    assert outcomes == [("ops", "failed"), ("ops", "dropped")]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff(30) == 600.0


async def test_a_hanging_endpoint_does_not_hold_up_another_webhook() -> None:
    hanging, good = Receiver(hang=True), Receiver()
    await hanging.server.start_server()
    store, sender, clock, outcomes = await setup(good)
    hooks = [Webhook(id="slow", url=hanging.url, timeout=1.5), Webhook(id="ops", url=good.url)]
    sender.configure(hooks)
    effects = [IncidentOpened(incident())]
    await store.apply(
        effects, None, deliveries_for(effects, hooks, view, {}), clock.now().timestamp()
    )
    try:
        assert await sender.run_once() == 2
        for _ in range(200):  # bounded: the good one lands while the slow one still hangs
            if good.bodies:
                break
            await asyncio.sleep(0.01)
        assert good.bodies and outcomes == [("ops", "delivered")]
        assert await sender.run_once() == 0  # the hanging send is not started twice
        await sender.idle()
        assert ("slow", "failed") in outcomes
    finally:
        await sender.close()
        await good.server.close()
        await hanging.server.close()


# ---- Standard Webhooks (https://www.standardwebhooks.com/): one test per rule ---------------

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()


async def delivered(
    receiver: Receiver, clock: FakeClock | None = None, fail_first: int = 0, **hook: Any
) -> list[tuple[dict[str, str], bytes]]:
    """Deliver one `incident.opened` (retrying past `fail_first` 503s); what arrived."""
    receiver.fail_first = fail_first
    store, sender, fake, _ = await setup(receiver, **hook)
    if clock is not None:
        sender._clock = clock
        fake = clock
    hooks = [Webhook(id="ops", url=receiver.url, **hook)]
    effects = [IncidentOpened(incident())]
    await store.apply(
        effects,
        None,
        deliveries_for(effects, hooks, view, {"url": "https://s.x"}),
        fake.now().timestamp(),
    )
    try:
        for attempt in range(fail_first + 1):
            assert await sender.run_once() == 1
            await sender.idle()
            fake.advance(backoff(attempt + 1))
    finally:
        await sender.close()
        await receiver.server.close()
    return receiver.bodies


async def test_standard_webhooks_webhook_id_is_unique_per_event_and_the_same_on_retries() -> None:
    receiver = Receiver()
    await delivered(receiver, fail_first=2, secret=SECRET)
    ids = [h["webhook-id"] for h in receiver.attempts]
    assert len(ids) == 3 and len(set(ids)) == 1
    assert ids[0] == "ops:inc1:u1"


async def test_standard_webhooks_webhook_timestamp_is_integer_unix_seconds_of_the_attempt() -> None:
    receiver = Receiver()
    clock = FakeClock()
    await delivered(receiver, clock=clock, fail_first=1, secret=SECRET)
    stamps = [h["webhook-timestamp"] for h in receiver.attempts]
    assert all(s.isdigit() for s in stamps)
    assert int(stamps[1]) - int(stamps[0]) == int(backoff(1)), "each attempt is stamped anew"


async def test_standard_webhooks_signature_is_v1_base64_hmac_sha256_of_id_timestamp_body() -> None:
    receiver = Receiver()
    ((headers, body),) = await delivered(receiver, secret=SECRET)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{digest}"


async def test_standard_webhooks_signature_verifies_with_the_reference_library() -> None:
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook as Verifier

    receiver = Receiver()
    now = FakeClock(datetime.now(UTC))  # the reference checks the 5-minute tolerance
    ((headers, body),) = await delivered(receiver, clock=now, secret=SECRET)
    payload = Verifier(SECRET).verify(body, headers)
    assert payload["event"] == "incident.opened"


async def test_standard_webhooks_several_secrets_give_space_delimited_signatures_for_rotation() -> (
    None
):
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook as Verifier

    receiver = Receiver()
    now = FakeClock(datetime.now(UTC))
    ((headers, body),) = await delivered(receiver, clock=now, secret=f"{SECRET} {OLD_SECRET}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(sig.startswith("v1,") for sig in headers["webhook-signature"].split(" "))
    Verifier(SECRET).verify(body, headers)  # receivers on either key accept it
    Verifier(OLD_SECRET).verify(body, headers)


async def test_standard_webhooks_timestamp_outside_the_tolerance_is_rejected_by_receivers() -> None:
    from standardwebhooks.webhooks import Webhook as Verifier
    from standardwebhooks.webhooks import WebhookVerificationError

    receiver = Receiver()  # FakeClock is months from now: a replayed message's age
    ((headers, body),) = await delivered(receiver, secret=SECRET)
    try:
        Verifier(SECRET).verify(body, headers)
    except WebhookVerificationError as exc:
        assert "too old" in str(exc) or "too new" in str(exc)
    else:
        raise AssertionError("a stale timestamp must not verify")


async def test_standard_webhooks_without_a_secret_id_and_timestamp_are_still_sent() -> None:
    receiver = Receiver()
    ((headers, _),) = await delivered(receiver)
    assert headers["webhook-id"] and headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in headers


# ---- ordering, dead letters, size, marking -------------------------------------------------


async def test_events_of_one_incident_arrive_in_order_after_a_retry() -> None:
    receiver = Receiver(fail_first=1)
    store, sender, clock, _ = await setup(receiver)
    hooks = [Webhook(id="ops", url=receiver.url)]
    opened_inc = incident()
    resolved_inc = incident(IncidentStatus.RESOLVED)
    first = [IncidentOpened(opened_inc)]
    await store.apply(first, None, deliveries_for(first, hooks, view, {}), clock.now().timestamp())
    try:
        assert await sender.run_once() == 1  # opened: 503, retried later
        await sender.idle()
        later = [IncidentResolved(resolved_inc, resolved_inc.updates[-1])]
        await store.apply(
            later, None, deliveries_for(later, hooks, view, {}), clock.now().timestamp()
        )
        assert await sender.run_once() == 0, "resolved waits behind the opened retry"
        clock.advance(backoff(1))
        for _ in range(3):  # bounded
            await sender.run_once()
            await sender.idle()
    finally:
        await sender.close()
        await receiver.server.close()
    events = [json.loads(b)["event"] for _, b in receiver.bodies]
    assert events == ["incident.opened", "incident.resolved"]


async def test_the_payload_carries_the_event_and_a_link_not_the_whole_history() -> None:
    receiver = Receiver()
    inc = incident(IncidentStatus.RESOLVED)
    store, sender, clock, _ = await setup(receiver)
    hooks = [Webhook(id="ops", url=receiver.url)]
    effects = [IncidentResolved(inc, inc.updates[-1])]

    def full_view(i: Incident) -> dict[str, Any]:
        return {
            **view(i),
            "shortlink": "https://status.example.com/incidents/inc1",
            "incident_updates": [{"body": "x" * 10_000}] * 50,
        }

    await store.apply(
        effects,
        None,
        deliveries_for(effects, hooks, full_view, {"url": "u"}),
        clock.now().timestamp(),
    )
    try:
        await sender.run_once()
        await sender.idle()
    finally:
        await sender.close()
        await receiver.server.close()
    ((_, body),) = receiver.bodies
    payload = json.loads(body)
    assert len(body) < 2000
    assert "incident_updates" not in payload["incident"]
    assert payload["incident_update"]["id"] == "u2"
    # the update in the Statuspage shape, its times ISO 8601 like the incident summary's
    assert payload["incident_update"]["created_at"].endswith("Z")
    assert payload["incident_update"]["incident_id"] == inc.id
    assert payload["url"] == "https://status.example.com/incidents/inc1"


def test_the_payload_summary_is_built_without_the_update_history() -> None:
    from prober.api.statuspage import incident_json
    from tests.api.fake import after_snapshot

    snap = after_snapshot()
    inc = snap.incidents[0]
    summary = incident_json(inc, snap, with_updates=False)
    assert "incident_updates" not in summary
    assert {k: v for k, v in incident_json(inc, snap).items() if k != "incident_updates"} == (
        summary
    )


class MarkFails(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.full = False

    async def delivery_done(self, delivery_id: int) -> None:
        if self.full:
            raise StoreError("database or disk is full")
        await super().delivery_done(delivery_id)


async def test_a_delivery_that_succeeded_but_could_not_be_marked_is_not_resent() -> None:
    receiver = Receiver()
    await receiver.server.start_server()
    store = MarkFails()
    await store.open()
    clock = FakeClock()
    sender = WebhookSender(store, clock, lambda w, o: None)
    sender.configure([Webhook(id="ops", url=receiver.url)])
    effects = [IncidentOpened(incident())]
    await store.apply(
        effects,
        None,
        deliveries_for(effects, sender._hooks.values(), view, {}),
        clock.now().timestamp(),
    )
    store.full = True
    try:
        for _ in range(20):  # twenty passes while the disk is full
            with contextlib.suppress(StoreError):  # the store failing is the point here
                await sender.run_once()
            await sender.idle()
            clock.advance(1)
        assert len(receiver.bodies) == 1
        store.full = False
        await sender.run_once()  # marks it done, sends nothing
        await sender.idle()
        assert len(receiver.bodies) == 1
        assert await store.due_deliveries(clock.now().timestamp() + 10**6) == []
    finally:
        await sender.close()
        await receiver.server.close()


async def test_delivered_rows_lose_their_payload_and_are_pruned_after_a_day() -> None:
    import sqlite3
    import tempfile
    from pathlib import Path

    from prober.store.sqlite import SqliteStore

    receiver = Receiver()
    await receiver.server.start_server()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "p.db")
        store = SqliteStore(db)
        await store.open()
        clock = FakeClock()
        sender = WebhookSender(store, clock, lambda w, o: None)
        hooks = [Webhook(id="ops", url=receiver.url)]
        sender.configure(hooks)
        effects = [IncidentOpened(incident())]
        now = clock.now().timestamp()
        await store.apply(effects, None, deliveries_for(effects, hooks, view, {}), now)
        try:
            await sender.run_once()
            await sender.idle()
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT length(payload) FROM outbox").fetchall() == [(0,)]
            await store.prune(now + 2 * 86400, 100 * 86400.0)
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        finally:
            await sender.close()
            await store.close()
            await receiver.server.close()
