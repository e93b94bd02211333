"""Webhook outbox delivery against a real local receiver."""

from __future__ import annotations

import asyncio
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
from prober.store.memory import MemoryStore
from prober.webhooks import WebhookSender, backoff, deliveries_for


def incident(status: IncidentStatus = IncidentStatus.INVESTIGATING) -> Incident:
    first = IncidentUpdate(
        "u1", "inc1", IncidentStatus.INVESTIGATING, "Elevated 500s", 100.0,
        (AffectedComponent("api", "Platform API", S.OPERATIONAL, S.PARTIAL_OUTAGE),),
    )
    updates: tuple[IncidentUpdate, ...] = (first,)
    if status is IncidentStatus.RESOLVED:
        updates += (IncidentUpdate("u2", "inc1", IncidentStatus.RESOLVED, "Fixed", 700.0),)
    return Incident("inc1", "Elevated 500 rates on Platform API", status, Impact.MAJOR,
                    90.0, 100.0, 700.0, components=(("api", S.PARTIAL_OUTAGE),),
                    updates=updates)


def view(inc: Incident) -> dict[str, Any]:
    return {"id": inc.id, "name": inc.name, "status": inc.status.value}


class Receiver:
    def __init__(self, fail_first: int = 0, hang: bool = False) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.hang = hang
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
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


async def setup(receiver: Receiver, **hook: Any) -> tuple[MemoryStore, WebhookSender,
                                                         FakeClock, list[tuple[str, str]]]:
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
    await store.apply(effects, {}, rows, now)
    await store.apply(effects, {}, rows, now)  # a restart re-applying the same step
    try:
        assert await sender.run_once() == 1
        await sender.idle()
        assert await sender.run_once() == 0
    finally:
        await sender.close()
        await receiver.server.close()
    (headers, body), = receiver.bodies
    expected = "sha256=" + hmac.new(b"k3y-value", body, hashlib.sha256).hexdigest()
    assert headers["X-Prober-Signature"] == expected
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
    await store.apply(effects, {}, deliveries_for(effects, hooks, view, {}),
                      clock.now().timestamp())
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
    (_, body), = receiver.bodies
    text = json.loads(body)["text"]
    assert "resolved" in text and "Platform API" in text


async def test_hanging_endpoint_times_out_and_gives_up_after_max_attempts() -> None:
    receiver = Receiver(hang=True)
    store, sender, clock, outcomes = await setup(receiver, timeout=0.2, max_attempts=2)
    hooks = [Webhook(id="ops", url=receiver.url, timeout=0.2, max_attempts=2)]
    effects = [IncidentOpened(incident())]
    await store.apply(effects, {}, deliveries_for(effects, hooks, view, {}),
                      clock.now().timestamp())
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
    await store.apply(effects, {}, deliveries_for(effects, hooks, view, {}),
                      clock.now().timestamp())
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
