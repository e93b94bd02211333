"""The top level of checks.yaml and its `defaults:`, declared once (see declare.py): the
sections' keys are in declared.py and declared_sections.py."""

from __future__ import annotations

from prober.config import declared
from prober.config.declare import Key
from prober.config.declared_sections import (
    COMPONENT,
    DISTRIBUTED,
    INCIDENT_TEMPLATE,
    INCIDENTS,
    MAINTENANCE,
    NETWORK,
    PAGE,
    WEBHOOK,
)

_STATUS_REF = {"$ref": "#/$defs/status_policy"}

DEFAULTS = (
    *declared.CHECK_SETTINGS,
    Key(
        "status",
        "custom",
        "The status policy of every component; see [status](#status-policy).",
        default_doc="built-in values",
        type_doc="mapping",
        schema=_STATUS_REF,
    ),
)

TOP = (
    Key("page", "mapping", "The status page itself.", default_doc="see below", keys=PAGE),
    Key(
        "defaults",
        "mapping",
        "Check settings every check inherits, and the default `status` policy.",
        keys=DEFAULTS,
    ),
    Key(
        "status",
        "custom",
        "The status policy of every component; the same as `defaults.status` (give one of "
        "the two). See [status](#status-policy).",
        default_doc="built-in values",
        type_doc="mapping",
        schema=_STATUS_REF,
    ),
    Key(
        "components",
        "list",
        "The components shown on the page; at least one.",
        required=True,
        items=COMPONENT,
        schema={"minItems": 1},
    ),
    Key(
        "checks",
        "list",
        "The probes; at least one; each belongs to one component.",
        required=True,
        items=declared.CHECK,
        schema={"minItems": 1},
    ),
    Key(
        "maintenances",
        "list",
        "Planned maintenance windows.",
        default_doc="`[]`",
        items=MAINTENANCE,
    ),
    Key(
        "incidents",
        "mapping",
        "How automatic incidents behave.",
        default_doc="see below",
        keys=INCIDENTS,
    ),
    Key(
        "webhooks",
        "list",
        "Where incident events are delivered.",
        default_doc="`[]`",
        items=WEBHOOK,
    ),
    Key(
        "incident_templates",
        "list",
        "Prepared human incidents.",
        items=INCIDENT_TEMPLATE,
    ),
    Key(
        "network",
        "mapping",
        "Canaries: evidence of prober's own connectivity. See [network](#network).",
        keys=NETWORK,
    ),
    Key(
        "distributed",
        "mapping",
        "Probe agents in several locations and the quorum across them. "
        "See [distributed](#distributed).",
        keys=DISTRIBUTED,
    ),
)
