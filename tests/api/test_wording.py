"""Automatic update bodies: one short sentence each; the affected list carries the detail."""

from __future__ import annotations

from prober.domain import wording
from prober.domain.incident import AffectedComponent
from prober.domain.status import ComponentStatus as CS

DEG, PART, OK = CS.DEGRADED_PERFORMANCE, CS.PARTIAL_OUTAGE, CS.OPERATIONAL
STILL = [AffectedComponent(f"c{i}", f"Component {i}", DEG, DEG) for i in range(11)]


def test_opened_body_counts_components_instead_of_listing_them():
    affected = [AffectedComponent(f"c{i}", f"Component {i}", OK, DEG) for i in range(3)]
    body = wording.opened_body(affected, {"http_5xx": 30})
    assert body == "We are investigating elevated 500 rates on 3 components."
    one = wording.opened_body(affected[:1], {"timeout": 3})
    assert one == "We are investigating elevated timeouts on Component 0."


def test_changed_body_names_only_the_change():
    affected = [AffectedComponent("dashboard", "Dashboard", OK, PART), *STILL]
    body = wording.changed_body(affected, relapse=False)
    assert body == "Dashboard is now in partial outage; 12 components affected."
    assert "Component 3" not in body and "->" not in body and "(" not in body


def test_changed_body_worst_change_first_and_relapse():
    affected = [
        AffectedComponent("b", "Billing", OK, DEG),
        AffectedComponent("d", "Dashboard", OK, PART),
        AffectedComponent("u", "Users", DEG, PART),
        AffectedComponent("x", "Webhooks", DEG, OK),
    ]
    body = wording.changed_body(affected, relapse=True)
    assert body == (
        "The problem has returned. Dashboard and Users are now in partial outage; "
        "Billing is now degraded; Webhooks is operational again; 3 components affected."
    )
    assert wording.changed_body(STILL[:1], relapse=False) == (
        "We are still investigating; 1 component affected."
    )


def test_monitoring_and_resolved_bodies():
    assert wording.monitoring_body() == (
        "All affected components are operational again; we are monitoring."
    )
    assert wording.resolved_body(600) == "Resolved: no failures for 10 minutes."
    assert wording.resolved_body(60) == "Resolved: no failures for 1 minute."
    assert wording.resolved_body(30) == "Resolved: no failures for 30 seconds."
