"""The write API for people: every endpoint with and without a valid token, incidents
opened, renamed, re-scoped, resolved and given a post-mortem, templates, maintenances
scheduled, changed, cancelled and completed; all through a real Service and store, and
read back through the Statuspage endpoints (validated against their JSON Schemas)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prober.api import make_app
from prober.api.manage import ROUTES
from tests.api.schemas import assert_valid
from tests.api.service import TOKEN, healthy_target, running_service

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def at(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Any]:
    async with healthy_target() as target, running_service(tmp_path, target) as service:
        c = await aiohttp_client(make_app(service))
        c.service = service
        yield c


async def write(client: Any, method: str, path: str, body: Any = None, expect: int = 201) -> Any:
    resp = await client.request(method, path, json=body, headers=AUTH)
    data = await resp.json()
    assert resp.status == expect, data
    return data


async def open_one(client: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Payments delayed",
        "body": "Card payments are taking minutes.",
        "components": {"billing": "partial_outage"},
        **extra,
    }
    return (await write(client, "POST", "/api/prober/v1/incidents", body))["incident"]


def _concrete(path: str) -> str:
    return path.replace("{id}", "some-id")


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, *_ in ROUTES], ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
async def test_every_write_endpoint_refuses_a_missing_or_wrong_token(client, method, path):
    url = _concrete(path)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eA=="}):
        resp = await client.request(method, url, json={"name": "x"}, headers=headers)
        assert resp.status == 401, (headers, await resp.text())
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="prober"'
        assert (await resp.json())["error"]["code"] == "unauthorized"
    # nothing was written
    assert not (await (await client.get("/api/v2/incidents.json")).json())["incidents"]
    assert not (await (await client.get("/api/v2/scheduled-maintenances.json")).json())[
        "scheduled_maintenances"
    ]


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, *_ in ROUTES], ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
async def test_every_write_endpoint_works_with_a_valid_token(client, method, path):
    """Each endpoint, given the token and a valid request for its kind, succeeds."""
    now = client.service.clock.now().timestamp()
    incident = await open_one(client)
    if "postmortem" in path:
        await write(
            client,
            "PATCH",
            f"/api/prober/v1/incidents/{incident['id']}",
            {"status": "resolved", "body": "Fixed."},
            200,
        )
    window = (
        await write(
            client,
            "POST",
            "/api/prober/v1/maintenances",
            {
                "name": "DB upgrade",
                "components": ["billing"],
                "starts_at": at(now - 60),
                "ends_at": at(now + 3600),
            },
        )
    )["scheduled_maintenance"]
    ident = window["id"] if "maintenances/{id}" in path else incident["id"]
    bodies = {
        "/api/prober/v1/incidents": {"name": "Second", "body": "b"},
        "/api/prober/v1/incidents/{id}": {"name": "Renamed"},
        "/api/prober/v1/incidents/{id}/postmortem": {"body": "# Root cause\nA bad deploy."},
        "/api/prober/v1/maintenances": {
            "name": "M",
            "components": ["api"],
            "starts_at": at(now + 60),
            "ends_at": at(now + 120),
        },
        "/api/prober/v1/maintenances/{id}": {"name": "DB upgrade, part 2"},
    }
    [ok] = [r[5] for r in ROUTES if r[0] == method and r[1] == path]
    data = await write(client, method, path.replace("{id}", ident), bodies.get(path), ok)
    assert "incident" in data or "scheduled_maintenance" in data


async def test_writes_disabled_without_a_configured_token(aiohttp_client, tmp_path):
    async with healthy_target() as target, running_service(tmp_path, target, token=None) as service:
        c = await aiohttp_client(make_app(service))
        for method, path, *_ in ROUTES:
            resp = await c.request(method, _concrete(path), json={}, headers=AUTH)
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "writes_disabled"


async def test_open_a_human_incident_shows_everywhere(client):
    incident = await open_one(client, impact="major", status="identified")
    assert incident["name"] == "Payments delayed" and incident["status"] == "identified"
    assert incident["impact"] == "major"
    [update] = incident["incident_updates"]
    assert update["body"] == "Card payments are taking minutes."
    assert update["affected_components"] == [
        {
            "code": "billing",
            "name": "Billing",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    unresolved = await (await client.get("/api/v2/incidents/unresolved.json")).json()
    assert [i["id"] for i in unresolved["incidents"]] == [incident["id"]]
    comps = {
        c["id"]: c["status"]
        for c in (await (await client.get("/api/v2/components.json")).json())["components"]
    }
    assert comps["billing"] == "partial_outage"  # declared by a person, probes are fine
    assert comps["api"] == "operational"
    page = await (await client.get("/")).text()
    assert "Payments delayed" in page and "Partial System Outage" in page


async def test_rename_impact_and_components_then_resolve_and_postmortem(client):
    incident = await open_one(client)
    url = f"/api/prober/v1/incidents/{incident['id']}"
    renamed = await write(client, "PATCH", url, {"name": "Card payments delayed"}, 200)
    assert renamed["incident"]["name"] == "Card payments delayed"
    assert len(renamed["incident"]["incident_updates"]) == 1  # a rename writes no update
    changed = (
        await write(
            client,
            "PATCH",
            url,
            {
                "impact": "critical",
                "components": {"billing": "major_outage", "api": "degraded_performance"},
                "body": "Now failing outright; the API is slow too.",
            },
            200,
        )
    )["incident"]
    assert changed["impact"] == "critical" and changed["name"] == "Card payments delayed"
    latest = changed["incident_updates"][0]
    assert latest["body"] == "Now failing outright; the API is slow too."
    assert {
        (a["code"], a["old_status"], a["new_status"]) for a in latest["affected_components"]
    } == {
        ("billing", "partial_outage", "major_outage"),
        ("api", "operational", "degraded_performance"),
    }
    resolved = await write(
        client, "PATCH", url, {"status": "resolved", "body": "Payments flow again."}, 200
    )
    assert resolved["incident"]["status"] == "resolved"
    comps = {
        c["id"]: c["status"]
        for c in (await (await client.get("/api/v2/components.json")).json())["components"]
    }
    assert comps["billing"] == "operational"  # the declaration ends with the incident
    refused = await client.patch(url, json={"body": "more"}, headers=AUTH)
    assert refused.status == 409
    pm_url = f"{url}/postmortem"
    md = (
        "# Root cause\n\nA config push **dropped** the card route.\n\n"
        "<script>alert(1)</script> [x](javascript:alert(1))"
    )
    pm = (await write(client, "POST", pm_url, {"body": md}))["incident"]
    assert pm["status"] == "postmortem"
    assert pm["incident_updates"][0]["status"] == "postmortem"
    page = await (await client.get(f"/incidents/{incident['id']}")).text()
    assert "<h1>Root cause</h1>" in page and "<strong>dropped</strong>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'href="javascript:' not in page
    history = await (await client.get("/api/v2/incidents.json")).json()
    assert_valid("incidents.json", history)
    assert history["incidents"][0]["status"] == "postmortem"


async def test_postmortem_needs_a_resolved_incident(client):
    incident = await open_one(client)
    resp = await client.post(
        f"/api/prober/v1/incidents/{incident['id']}/postmortem",
        json={"body": "too early"},
        headers=AUTH,
    )
    assert resp.status == 409
    assert "resolve it first" in (await resp.json())["error"]["message"]
    missing = await client.post(
        "/api/prober/v1/incidents/nope/postmortem", json={"body": "x"}, headers=AUTH
    )
    assert missing.status == 404


async def test_template_opens_a_prepared_incident_and_fields_override_it(client):
    incident = (
        await write(client, "POST", "/api/prober/v1/incidents", {"template": "db-failover"})
    )["incident"]
    assert incident["name"] == "Database failover in progress"
    assert incident["status"] == "identified" and incident["impact"] == "major"
    assert {c["id"] for c in incident["components"]} == {"billing", "dashboard"}
    other = await write(
        client,
        "POST",
        "/api/prober/v1/incidents",
        {"template": "db-failover", "name": "Failover, second try"},
    )
    assert other["incident"]["name"] == "Failover, second try"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"template": "nope"}, 422, "unknown_reference"),
        (
            {"name": "x", "body": "y", "components": {"nope": "major_outage"}},
            422,
            "unknown_reference",
        ),
        ({"name": "x", "body": "y", "components": {"api": "down"}}, 400, "invalid_field"),
        ({"name": "x"}, 400, "invalid_field"),
        ({"name": "x", "body": "y", "status": "resolved"}, 400, "invalid_field"),
        ({"name": "x", "body": "y", "impact": "maintenance"}, 400, "invalid_field"),
        ({"name": "x", "body": "y", "colour": "red"}, 400, "unknown_field"),
        ([1, 2], 400, "invalid_body"),
    ],
)
async def test_bad_incident_requests_are_refused_precisely(client, body, status, code):
    resp = await client.post("/api/prober/v1/incidents", json=body, headers=AUTH)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_malformed_json_is_a_400(client):
    resp = await client.post("/api/prober/v1/incidents", data=b"{nope", headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "malformed_json"


async def test_unknown_incident_is_a_404(client):
    resp = await client.patch("/api/prober/v1/incidents/nope", json={"name": "x"}, headers=AUTH)
    assert resp.status == 404


async def test_maintenance_lifecycle(client):
    now = client.service.clock.now().timestamp()
    created = (
        await write(
            client,
            "POST",
            "/api/prober/v1/maintenances",
            {
                "name": "Database upgrade",
                "components": ["billing", "dashboard"],
                "starts_at": at(now - 60),
                "ends_at": at(now + 3600),
                "description": "Planned upgrade of the billing database.",
            },
        )
    )["scheduled_maintenance"]
    assert created["status"] == "in_progress" and created["impact"] == "maintenance"
    mid = created["id"]
    comps = {
        c["id"]: c["status"]
        for c in (await (await client.get("/api/v2/components.json")).json())["components"]
    }
    assert comps["billing"] == "under_maintenance" and comps["api"] == "operational"
    active = await (await client.get("/api/v2/scheduled-maintenances/active.json")).json()
    assert [m["id"] for m in active["scheduled_maintenances"]] == [mid]
    page = await (await client.get("/")).text()
    assert "Database upgrade" in page and "In progress" in page

    changed = (
        await write(
            client,
            "PATCH",
            f"/api/prober/v1/maintenances/{mid}",
            {"name": "Database upgrade (extended)", "ends_at": at(now + 7200)},
            200,
        )
    )["scheduled_maintenance"]
    assert changed["name"] == "Database upgrade (extended)"
    refused = await client.patch(
        f"/api/prober/v1/maintenances/{mid}", json={"starts_at": at(now + 60)}, headers=AUTH
    )
    assert refused.status == 409  # in progress: its start is history
    done = (await write(client, "POST", f"/api/prober/v1/maintenances/{mid}/complete", None, 200))[
        "scheduled_maintenance"
    ]
    assert done["status"] == "completed"
    comps = {
        c["id"]: c["status"]
        for c in (await (await client.get("/api/v2/components.json")).json())["components"]
    }
    assert comps["billing"] == "operational"
    again = await client.post(f"/api/prober/v1/maintenances/{mid}/complete", headers=AUTH)
    assert again.status == 409

    later = (
        await write(
            client,
            "POST",
            "/api/prober/v1/maintenances",
            {
                "name": "Network work",
                "components": ["api"],
                "starts_at": at(now + 86400),
                "ends_at": at(now + 90000),
            },
        )
    )["scheduled_maintenance"]
    assert later["status"] == "scheduled"
    upcoming = await (await client.get("/api/v2/scheduled-maintenances/upcoming.json")).json()
    assert [m["id"] for m in upcoming["scheduled_maintenances"]] == [later["id"]]
    early = await client.post(f"/api/prober/v1/maintenances/{later['id']}/complete", headers=AUTH)
    assert early.status == 409
    await write(client, "POST", f"/api/prober/v1/maintenances/{later['id']}/cancel", None, 200)
    upcoming = await (await client.get("/api/v2/scheduled-maintenances/upcoming.json")).json()
    assert upcoming["scheduled_maintenances"] == []
    gone = await client.post(f"/api/prober/v1/maintenances/{later['id']}/cancel", headers=AUTH)
    assert gone.status == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"name": "x", "components": ["api"], "starts_at": "tomorrow", "ends_at": "later"},
            "invalid_field",
        ),
        (
            {
                "name": "x",
                "components": ["api"],
                "starts_at": "2030-01-01T10:00:00",
                "ends_at": "2030-01-01T11:00:00",
            },
            "invalid_field",
        ),  # no offset
        (
            {
                "name": "x",
                "components": [],
                "starts_at": "2030-01-01T10:00:00Z",
                "ends_at": "2030-01-01T11:00:00Z",
            },
            "invalid_field",
        ),
        ({"name": "x", "components": ["api"]}, "invalid_field"),
    ],
)
async def test_bad_maintenance_requests_are_400(client, body, code):
    resp = await client.post("/api/prober/v1/maintenances", json=body, headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == code


async def test_maintenance_refusals(client):
    ends_first = {
        "name": "x",
        "components": ["api"],
        "starts_at": "2030-01-01T11:00:00Z",
        "ends_at": "2030-01-01T10:00:00Z",
    }
    resp = await client.post("/api/prober/v1/maintenances", json=ends_first, headers=AUTH)
    assert resp.status == 409 and "after starts_at" in (await resp.json())["error"]["message"]
    unknown = {**ends_first, "components": ["nope"], "ends_at": "2030-01-01T12:00:00Z"}
    resp = await client.post("/api/prober/v1/maintenances", json=unknown, headers=AUTH)
    assert resp.status == 422


STATUSPAGE = {
    "/api/v2/summary.json": "summary.json",
    "/api/v2/status.json": "status.json",
    "/api/v2/components.json": "components.json",
    "/api/v2/incidents.json": "incidents.json",
    "/api/v2/incidents/unresolved.json": "incidents.json",
    "/api/v2/scheduled-maintenances.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/active.json": "scheduled-maintenances.json",
}


async def test_statuspage_endpoints_validate_with_human_incidents_and_maintenances(client):
    now = client.service.clock.now().timestamp()
    open_inc = await open_one(client, status="identified")
    closed = await open_one(client, name="Old issue")
    url = f"/api/prober/v1/incidents/{closed['id']}"
    await write(client, "PATCH", url, {"status": "resolved", "body": "Fixed."}, 200)
    await write(client, "POST", f"{url}/postmortem", {"body": "## What happened\nA bug."})
    await write(
        client,
        "POST",
        "/api/prober/v1/maintenances",
        {
            "name": "Now",
            "components": ["api"],
            "starts_at": at(now - 60),
            "ends_at": at(now + 600),
            "description": "In progress.",
        },
    )
    await write(
        client,
        "POST",
        "/api/prober/v1/maintenances",
        {
            "name": "Later",
            "components": ["dashboard"],
            "starts_at": at(now + 3600),
            "ends_at": at(now + 7200),
        },
    )
    for path, schema in STATUSPAGE.items():
        resp = await client.get(path)
        assert resp.status == 200
        body = await resp.json()
        assert_valid(schema, body)
    summary = await (await client.get("/api/v2/summary.json")).json()
    assert [i["id"] for i in summary["incidents"]] == [open_inc["id"]]
    assert {m["name"] for m in summary["scheduled_maintenances"]} == {"Now", "Later"}
    assert summary["status"]["indicator"] in ("major", "maintenance")


async def test_human_incident_and_maintenance_survive_a_restart(aiohttp_client, tmp_path):
    db = str(tmp_path / "prober.db")
    async with healthy_target() as target:
        async with running_service(tmp_path, target, db=db) as service:
            c = await aiohttp_client(make_app(service))
            now = service.clock.now().timestamp()
            incident = await open_one(c)
            window = (
                await write(
                    c,
                    "POST",
                    "/api/prober/v1/maintenances",
                    {
                        "name": "Soon",
                        "components": ["api"],
                        "starts_at": at(now + 3600),
                        "ends_at": at(now + 7200),
                    },
                )
            )["scheduled_maintenance"]
            await c.close()
        async with running_service(tmp_path, target, db=db) as service:
            c = await aiohttp_client(make_app(service))
            unresolved = await (await c.get("/api/v2/incidents/unresolved.json")).json()
            assert [i["id"] for i in unresolved["incidents"]] == [incident["id"]]
            maint = await (await c.get("/api/v2/scheduled-maintenances.json")).json()
            assert [m["id"] for m in maint["scheduled_maintenances"]] == [window["id"]]
            # and it can still be resolved after the restart
            await write(
                c,
                "PATCH",
                f"/api/prober/v1/incidents/{incident['id']}",
                {"status": "resolved", "body": "done"},
                200,
            )
            assert re.search(r"Payments delayed", await (await c.get("/")).text())


async def test_a_write_is_acknowledged_only_once_stored(client):
    """A store that fails: every write that cannot be stored is a 503 and changes nothing
    (the engine is rolled back, so the change is neither shown nor saved later); once the
    store works again, writes are accepted and stored."""
    from prober.errors import StoreError

    store = client.service.keeper.store
    real_apply = store.apply

    async def failing_apply(*args: Any, **kwargs: Any) -> None:
        raise StoreError("disk full")

    store.apply = failing_apply
    try:
        before = len(client.service.engine.book.records)
        for name in ("A", "B"):
            refused = await client.post(
                "/api/prober/v1/incidents", headers=AUTH, json={"name": name, "body": name.lower()}
            )
            assert refused.status == 503 and refused.headers["Retry-After"] == "30"
            assert (await refused.json())["error"]["code"] == "store_unavailable"
            assert len(client.service.engine.book.records) == before
    finally:
        store.apply = real_apply
    assert [i.name for i in await store.incidents()] == []
    accepted = await client.post(
        "/api/prober/v1/incidents", headers=AUTH, json={"name": "C", "body": "c"}
    )
    assert accepted.status == 201, await accepted.text()
    assert [i.name for i in await store.incidents()] == ["C"]
    await open_one(client)
