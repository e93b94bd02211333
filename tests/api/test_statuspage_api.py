"""Every Statuspage v2 endpoint validates against schemas written from the public docs."""

from __future__ import annotations

import pytest

from tests.api.fake import (
    INCIDENT_ID,
    INCIDENT_NAME,
    after_snapshot,
    during_snapshot,
)
from tests.api.schemas import assert_valid, validator

ENDPOINTS = {
    "/api/v2/summary.json": "summary.json",
    "/api/v2/status.json": "status.json",
    "/api/v2/components.json": "components.json",
    "/api/v2/incidents.json": "incidents.json",
    "/api/v2/incidents/unresolved.json": "incidents.json",
    "/api/v2/scheduled-maintenances.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json": "scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/active.json": "scheduled-maintenances.json",
}


@pytest.mark.parametrize("make", [during_snapshot, after_snapshot], ids=["during", "after"])
@pytest.mark.parametrize(("path", "schema"), list(ENDPOINTS.items()))
async def test_endpoint_matches_schema(client, backend, make, path, schema):
    backend.set_snapshot(make())
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert_valid(schema, await resp.json())


def test_schemas_reject_wrong_values():
    """The schemas can fail: a wrong enum value and an invented field are caught."""
    body = {
        "page": {
            "id": "x",
            "name": "n",
            "url": "https://status.example.com",
            "time_zone": "UTC",
            "updated_at": "2026-05-26T21:19:00Z",
        },
        "status": {"indicator": "red", "description": "d"},
    }
    assert list(validator("status.json").iter_errors(body))
    body["status"] = {"indicator": "none", "description": "d", "colour": "green"}
    assert list(validator("status.json").iter_errors(body))
    body["status"] = {"indicator": "none", "description": "d"}
    assert not list(validator("status.json").iter_errors(body))
    body["page"]["url"] = "/"  # Statuspage's page.url is absolute
    assert list(validator("status.json").iter_errors(body))


async def test_summary_during_incident(client):
    body = await (await client.get("/api/v2/summary.json")).json()
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert body["page"]["name"] == "Acme Status"
    assert body["page"]["url"] == "https://status.example.com"
    [incident] = body["incidents"]
    assert incident["id"] == INCIDENT_ID
    assert incident["name"] == INCIDENT_NAME
    assert incident["status"] == "investigating"
    assert incident["impact"] == "major"
    assert incident["shortlink"] == f"https://status.example.com/incidents/{INCIDENT_ID}"
    assert incident["started_at"] == "2026-05-26T21:17:30.000Z"
    assert incident["created_at"] == "2026-05-26T21:19:00.000Z"
    assert incident["resolved_at"] is None
    # newest update first, as Statuspage orders them
    first, second = incident["incident_updates"]
    assert first["body"].startswith("We are deploying a mitigation")
    assert {
        "code": "dashboard",
        "name": "Dashboard",
        "old_status": "operational",
        "new_status": "partial_outage",
    } in first["affected_components"]
    assert {  # unchanged components are listed too, with old_status == new_status
        "code": "billing",
        "name": "Billing",
        "old_status": "degraded_performance",
        "new_status": "degraded_performance",
    } in first["affected_components"]
    assert len(first["affected_components"]) == 12
    assert len(second["affected_components"]) == 11
    assert len(incident["components"]) == 12
    # the upcoming and the in-progress maintenance, not completed ones
    assert {m["status"] for m in body["scheduled_maintenances"]} == {"scheduled", "in_progress"}


async def test_components_groups(client):
    comps = (await (await client.get("/api/v2/components.json")).json())["components"]
    groups = [c for c in comps if c["group"]]
    assert [g["name"] for g in groups] == ["Core", "Product", "Delivery"]
    core = groups[0]
    assert core["components"] == [
        "platform-api",
        "user-auth",
        "session-management",
        "machine-auth",
        "scim",
    ]
    assert core["status"] == "partial_outage"  # the worst of its members
    by_id = {c["id"]: c for c in comps}
    assert by_id["dashboard"]["status"] == "partial_outage"
    assert by_id["dashboard"]["group_id"] == groups[1]["id"]
    assert by_id["platform-api"]["description"] == "Core REST API"
    assert by_id["email-delivery"]["status"] == "degraded_performance"
    assert [c["position"] for c in comps] == list(range(1, len(comps) + 1))
    assert len(comps) == 12 + 3


async def test_after_incident(client, backend):
    backend.set_snapshot(after_snapshot())
    status = await (await client.get("/api/v2/status.json")).json()
    assert status["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert (await (await client.get("/api/v2/incidents/unresolved.json")).json())["incidents"] == []
    incidents = (await (await client.get("/api/v2/incidents.json")).json())["incidents"]
    assert [i["id"] for i in incidents] == [INCIDENT_ID, "inc-old"]  # newest first
    resolved = incidents[0]
    assert resolved["status"] == "resolved"
    assert resolved["monitoring_at"] == "2026-05-26T22:08:00.000Z"
    assert resolved["resolved_at"] == "2026-05-26T22:26:00.000Z"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "monitoring",
        "investigating",
        "investigating",
    ]
    comps = (await (await client.get("/api/v2/components.json")).json())["components"]
    assert {c["status"] for c in comps} == {"operational"}


async def test_maintenance_endpoints(client):
    upcoming = await (await client.get("/api/v2/scheduled-maintenances/upcoming.json")).json()
    active = await (await client.get("/api/v2/scheduled-maintenances/active.json")).json()
    every = await (await client.get("/api/v2/scheduled-maintenances.json")).json()
    [up] = upcoming["scheduled_maintenances"]
    [act] = active["scheduled_maintenances"]
    assert up["id"] == "db-upgrade" and up["status"] == "scheduled"
    assert up["impact"] == "maintenance"
    assert [c["id"] for c in up["components"]] == ["billing", "dashboard"]
    assert up["incident_updates"][0]["body"] == "Planned upgrade of the billing database."
    assert act["id"] == "sms-vendor" and act["status"] == "in_progress"
    assert {m["id"] for m in every["scheduled_maintenances"]} == {"db-upgrade", "sms-vendor"}


async def test_maintenance_indicator(client, backend):
    import dataclasses

    from prober.domain.status import ComponentStatus

    snap = after_snapshot()
    comps = tuple(
        dataclasses.replace(c, status=ComponentStatus.UNDER_MAINTENANCE)
        if c.id == "sms-delivery"
        else c
        for c in snap.components
    )
    backend.set_snapshot(dataclasses.replace(snap, components=comps))
    status = (await (await client.get("/api/v2/status.json")).json())["status"]
    assert status == {"indicator": "maintenance", "description": "Service Under Maintenance"}
    comps = (await (await client.get("/api/v2/components.json")).json())["components"]
    delivery = next(c for c in comps if c["name"] == "Delivery")
    assert delivery["status"] == "under_maintenance"


async def test_maintenance_times_are_never_in_the_future(client):
    from prober.api.statuspage import iso

    snap = during_snapshot()
    now = iso(snap.generated_at)
    body = await (await client.get("/api/v2/scheduled-maintenances.json")).json()
    by_id = {m["id"]: m for m in body["scheduled_maintenances"]}
    upcoming, active = by_id["db-upgrade"], by_id["sms-vendor"]
    # ISO 8601 UTC with a fixed width: string order is time order
    for m in (upcoming, active):
        assert m["created_at"] <= now and m["updated_at"] <= now
        assert m["incident_updates"][0]["created_at"] <= now
        assert m["incident_updates"][0]["display_at"] == m["updated_at"]
    assert upcoming["scheduled_for"] > now
    assert upcoming["created_at"] == upcoming["updated_at"] == now
    assert active["created_at"] == active["updated_at"] == active["scheduled_for"]


def test_completed_maintenance_updated_at_its_end():
    from prober.api.statuspage import maintenance_times
    from prober.domain.snapshot import MaintenanceWindow

    window = MaintenanceWindow("w", "W", (), starts_at=1000.0, ends_at=2000.0)
    assert maintenance_times(window, 500.0) == (500.0, 500.0)
    assert maintenance_times(window, 1500.0) == (1000.0, 1000.0)
    assert maintenance_times(window, 2500.0) == (1000.0, 2000.0)
