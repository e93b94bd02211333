"""Every setting of the sections other than checks and the status policy, declared once
(see declare.py); the file's top level is in declared_top.py."""

from __future__ import annotations

from prober.config import declared
from prober.config.declare import ID_PATTERN, Key
from prober.domain.policy import (
    Distributed,
    IncidentPolicy,
    IncidentTemplate,
    Page,
    TrafficSignal,
    Webhook,
    WeeklyRecurrence,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TITLE_FIELDS = ("reason", "components", "count", "group")
CANARY_INTERVAL = 10.0
CANARY_TIMEOUT = 5.0
TEMPLATE_STATUSES = ("investigating", "identified", "monitoring")
TEMPLATE_IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)

_PAGE = Page()
_TRAFFIC = TrafficSignal("", "", "")
_INCIDENTS = IncidentPolicy()
_WEBHOOK = Webhook(id="", url="")
_ID_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": ID_PATTERN}}
_TIME = {"type": "string", "format": "date-time"}

PAGE = (
    Key(
        "name",
        "string",
        "Title of the status page and of the Statuspage-compatible API.",
        default=_PAGE.name,
    ),
    Key("url", "url", "Public base URL of the page (for links in feeds and webhooks)."),
    Key(
        "time_zone",
        "time_zone",
        "Time zone of the times written on the page; each time also carries its UTC offset "
        "and a machine-readable `<time datetime>`.",
        default=_PAGE.time_zone,
    ),
    Key(
        "refresh",
        "duration",
        "How often the page reloads itself for a reader who asks for it (the footer's "
        '"Reload this page every 1 min" link opens `/?refresh=on`, which carries `<meta '
        'http-equiv="refresh">`; no script); 0s: no such option. The default page never '
        "reloads by itself (WCAG 2.2.1: a timed reload is the reader's choice). The page's "
        "ETag changes only when what it shows changes, so a reload of an unchanged page is "
        "a 304.",
        default=_PAGE.refresh,
        low=0.0,
        high=3600.0,
    ),
)

TRAFFIC = (
    Key(
        "prometheus",
        "url",
        "Base URL of the Prometheus HTTP API (`http://prometheus.monitoring.svc:9090`); no "
        "credentials in it.",
        required=True,
    ),
    Key(
        "ratio",
        "custom",
        "The share of the component's requests that failed, 0 to 1.",
        required=True,
        type_doc="PromQL",
        schema={"type": "string"},
    ),
    Key(
        "requests",
        "custom",
        "The component's requests per second.",
        required=True,
        type_doc="PromQL",
        schema={"type": "string"},
    ),
    Key(
        "interval",
        "duration",
        "How often both queries run.",
        default=_TRAFFIC.interval,
        low=1.0,
        high=3600.0,
    ),
    Key(
        "min_request_rate",
        "number",
        'Requests per second below which the signal says "no data".',
        default=_TRAFFIC.min_request_rate,
        low=0.0,
        high=1e9,
    ),
    Key(
        "mode",
        "enum",
        "How probe and traffic statuses make the component's status "
        "([below](#real-traffic-signals)).",
        default=_TRAFFIC.mode,
        choices=("worst", "traffic_only"),
        what="traffic mode",
    ),
)

COMPONENT = (
    Key("id", "id", "Stable unique id (`platform-api`).", required=True),
    Key("name", "string", "Display name (`Platform API`).", required=True, nonempty=True),
    Key(
        "group",
        "string",
        "Group heading on the page (`Core`); also the unit of `incidents.per_group`.",
    ),
    Key("description", "string", "Shown on the page."),
    Key(
        "status",
        "custom",
        "Status policy overrides for this component; same keys as [status](#status-policy).",
        default_doc="`defaults.status`",
        type_doc="mapping",
        schema={"$ref": "#/$defs/status_policy"},
    ),
    Key(
        "traffic",
        "mapping",
        "A real-traffic 5xx share from Prometheus ([below](#real-traffic-signals)).",
        keys=TRAFFIC,
    ),
)

WEEKLY = (
    Key(
        "days",
        "custom",
        ", ".join(f"`{d}`" for d in DAYS) + "; each at most once.",
        required=True,
        type_doc="list of days",
        schema={"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(DAYS)}},
    ),
    Key(
        "start",
        "custom",
        "Local start time in `timezone` (quote it).",
        required=True,
        type_doc='`"HH:MM"`',
        schema={"type": "string", "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"},
    ),
    Key(
        "duration", "duration", "Length of the window.", required=True, low=60.0, high=declared.WEEK
    ),
    Key(
        "timezone",
        "time_zone",
        "Time zone of `start`; daylight saving time is honoured.",
        default=WeeklyRecurrence.timezone,
    ),
)

MAINTENANCE = (
    Key("id", "id", "Stable unique id.", required=True),
    Key("name", "string", "Shown on the page.", required=True, nonempty=True),
    Key(
        "components",
        "custom",
        "Components under maintenance; at least one.",
        required=True,
        type_doc="list of ids",
        schema=_ID_LIST,
    ),
    Key(
        "start",
        "custom",
        "One-off start with an offset: `2026-06-01T02:00:00Z`, `2026-06-01T04:00:00+02:00`.",
        type_doc="RFC 3339 time",
        schema=_TIME,
    ),
    Key(
        "end",
        "custom",
        "One-off end with an offset; after `start`.",
        type_doc="RFC 3339 time",
        schema=_TIME,
    ),
    Key("weekly", "mapping", "A recurring window.", keys=WEEKLY),
    Key("description", "string", "Shown on the page."),
)

INCIDENTS = (
    Key(
        "quiet_period",
        "duration",
        "An incident in `monitoring` becomes `resolved` after this long without a relapse.",
        default=_INCIDENTS.quiet_period,
        low=0.0,
        high=declared.WEEK,
    ),
    Key(
        "min_update_spacing",
        "duration",
        "Automatic updates closer together than this are coalesced into one.",
        default=_INCIDENTS.min_update_spacing,
        low=0.0,
        high=declared.DAY,
    ),
    Key(
        "per_group",
        "boolean",
        "One incident per component group instead of one per episode.",
        default=_INCIDENTS.per_group,
    ),
    Key(
        "title_template",
        "custom",
        'Title of automatic incidents. Placeholders: `{reason}` ("500 rates", "timeouts", '
        '...), `{components}` ("Platform API and 3 more"), `{count}`, `{group}`; `{{`/`}}` '
        "for literal braces.",
        default=_INCIDENTS.title_template,
        type_doc="string",
        schema={"type": "string"},
    ),
)

WEBHOOK = (
    Key("id", "id", "Stable unique id (used in delivery metrics).", required=True),
    Key(
        "url",
        "url",
        "`http://` or `https://` endpoint; no credentials inside (use `headers` with `${VAR}`).",
        required=True,
    ),
    Key(
        "kind",
        "enum",
        "`json`: a generic JSON event; `slack`: a Slack-compatible text message.",
        default=_WEBHOOK.kind,
        choices=("json", "slack"),
        what="kind",
    ),
    Key(
        "secret",
        "string",
        "Standard Webhooks signing secret (`whsec_` + base64, or any string used as is); "
        "several separated by spaces sign with each, for key rotation. A secret, so use "
        "`${VAR}`.",
    ),
    Key(
        "headers",
        "custom",
        "Extra request headers, as for checks.",
        type_doc="mapping of strings",
        schema={"$ref": "#/$defs/headers"},
    ),
    Key(
        "timeout",
        "duration",
        "Deadline of one delivery attempt.",
        default=_WEBHOOK.timeout,
        low=0.1,
        high=300.0,
    ),
    Key(
        "max_attempts",
        "integer",
        "Attempts before a delivery is given up.",
        default=_WEBHOOK.max_attempts,
        low=1,
        high=100,
    ),
)

INCIDENT_TEMPLATE = (
    Key("id", "id", "Stable unique id, used by the API.", required=True),
    Key("name", "string", "Title of the incident.", required=True, nonempty=True),
    Key("body", "string", "Text of its first update.", required=True, nonempty=True),
    Key(
        "status",
        "enum",
        "Status it opens with.",
        default=IncidentTemplate.status,
        choices=TEMPLATE_STATUSES,
    ),
    Key(
        "impact",
        "enum",
        "Impact; when unset, from the worst component status (degraded: minor, partial "
        "outage: major, major outage: critical).",
        choices=TEMPLATE_IMPACTS,
    ),
    Key(
        "components",
        "custom",
        "Affected components and the status each is declared in (`degraded_performance`, "
        "`partial_outage`, `major_outage`, ...). The page shows a component in the worse of "
        "this and what the probes find.",
        type_doc="mapping of component id to status",
        schema={"type": "object", "additionalProperties": {"enum": list(COMPONENT_STATUSES)}},
    ),
)

NETWORK = (
    Key(
        "canaries",
        "custom",
        "Reference URLs probed only to tell prober's own network loss from a total outage.",
        default_doc="`[]`",
        type_doc="list of URLs",
        schema={"type": "array", "items": {"$ref": "#/$defs/url"}},
    ),
    Key(
        "interval",
        "duration",
        "How often each canary is probed.",
        default=CANARY_INTERVAL,
        low=1.0,
        high=3600.0,
    ),
    Key(
        "timeout",
        "duration",
        "Deadline of one canary probe; at most `interval`.",
        default=CANARY_TIMEOUT,
        low=0.1,
        high=60.0,
    ),
)

DISTRIBUTED = (
    Key(
        "locations",
        "custom",
        "Locations agents are expected in; a listed location that never reports is shown as "
        "no data. Agents of unlisted locations are accepted too.",
        default_doc="`[]`",
        type_doc="list of ids",
        schema={"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}},
    ),
    Key(
        "quorum",
        "custom",
        "How many locations must see a check's round fail for the failure to count; "
        "`majority`: more than half of the locations reporting that check at that moment "
        "(2 of 3, 2 of 2, 1 of 1). At most the number of listed locations.",
        default_doc="`majority`",
        type_doc="`majority` or integer",
        schema={
            "oneOf": [
                {"const": "majority"},
                {"type": "integer", "minimum": 1, "maximum": 99},
            ]
        },
    ),
    Key(
        "location_timeout",
        "duration",
        "A location whose latest round started longer ago than this is no data, and leaves "
        "the quorum's denominator.",
        default=Distributed.location_timeout,
        low=1.0,
        high=3600.0,
    ),
    Key(
        "settle",
        "duration",
        "How long past a round's timeout the locations that have not reported it yet are "
        "waited for (cover the agents' write batching).",
        default=Distributed.settle,
        low=0.0,
        high=60.0,
    ),
)
