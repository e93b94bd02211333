"""json_schema(): a JSON Schema (draft 2020-12) of checks.yaml for editors and CI.

The key lists come from `keys`, the same lists the validator accepts, so the two cannot
disagree on which keys exist; the validator stays stricter (cross-field rules, references,
YAML 1.1 booleans) than a schema can express.
"""

from __future__ import annotations

from typing import Any

from prober.config import keys
from prober.config.model import (
    DEFAULT_FAILURE_REASONS,
    Check,
    IncidentPolicy,
    Page,
    StatusPolicy,
    TLSOptions,
    TrafficSignal,
    Webhook,
)
from prober.probes.result import Reason

Schema = dict[str, Any]

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
SIZE_PATTERN = r"^[0-9]+ *(B|KB|KiB|MB|MiB|GB|GiB)?$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _obj(
    props: dict[str, Schema],
    order: tuple[str, ...],
    required: tuple[str, ...] = (),
    description: str = "",
) -> Schema:
    assert set(props) == set(order), sorted(set(props) ^ set(order))
    out: Schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: props[k] for k in order},
    }
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def _d(schema: Schema, description: str, default: Any = None) -> Schema:
    out = dict(schema)
    out["description"] = description
    if default is not None:
        out["default"] = default
    return out


def _str(description: str, default: Any = None) -> Schema:
    return _d({"type": "string"}, description, default)


def _dur(description: str, default: float | None = None) -> Schema:
    from prober.config.durations import format_duration

    return _d(_ref("duration"), description, None if default is None else format_duration(default))


def _fraction(description: str, default: float) -> Schema:
    return _d({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, description, default)


def _one_or_many(item: Schema) -> Schema:
    return {"oneOf": [item, {"type": "array", "items": item}]}


def _traffic() -> Schema:
    t = TrafficSignal("", "", "")
    return _obj(
        {
            "prometheus": _d(
                _ref("url"),
                "Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring.svc:9090.",
            ),
            "ratio": _str(
                "PromQL: the share of the component's requests that failed (0 to 1), "
                'e.g. sum(rate(http_requests_total{code=~"5.."}[5m])) / '
                "sum(rate(http_requests_total[5m])). Checked by a PromQL parser."
            ),
            "requests": _str(
                "PromQL: the component's requests per second, e.g. "
                "sum(rate(http_requests_total[5m])). Checked by a PromQL parser."
            ),
            "interval": _dur("How often both queries are evaluated.", t.interval),
            "min_request_rate": _d(
                {"type": "number", "minimum": 0},
                "Requests per second below "
                "which the signal says no data (a quiet night is not an "
                "outage).",
                t.min_request_rate,
            ),
            "mode": _d(
                {"enum": list(keys.TRAFFIC_MODES)},
                "worst: probes and traffic are judged "
                "apart and the worse status shows; traffic_only: the component's probes "
                "do not count towards its status.",
                t.mode,
            ),
        },
        keys.TRAFFIC,
        required=("prometheus", "ratio", "requests"),
        description="Real-traffic 5xx share from Prometheus (docs/CONFIGURATION.md, "
        '"Real-traffic signals").',
    )


def _status_policy() -> Schema:
    p = StatusPolicy()
    reasons = [r.value for r in Reason if r is not Reason.OK]
    props: dict[str, Schema] = {
        "window": _dur(
            "Sliding window of probe results the failure ratio is computed over.", p.window
        ),
        "min_samples": _d(
            {"type": "integer", "minimum": 1},
            "Samples a trailing window needs before it can show a level is left (and "
            "before the latency percentile counts).",
            p.min_samples,
        ),
        "degraded": _fraction(
            "Failure ratio from which the component is degraded_performance.", p.degraded
        ),
        "partial": _fraction("Failure ratio from which it is partial_outage.", p.partial),
        "major": _fraction("Failure ratio from which it is major_outage.", p.major),
        "exit_factor": _fraction(
            "No effect since exits became symmetric (kept so that older files load).", p.exit_factor
        ),
        "recovery_time": _dur(
            "How long the rate must have been below a level's threshold "
            "(from the start of that evidence) before it is left.",
            p.recovery_time,
        ),
        "failing_rounds_for_major": _d(
            {"type": "integer", "minimum": 1},
            "Consecutive all-failing rounds that give major_outage "
            "(when their failed probes are evidence on their own).",
            p.failing_rounds_for_major,
        ),
        "failure_reasons": _d(
            {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": reasons}},
            "Probe reasons counted as failures.",
            sorted(DEFAULT_FAILURE_REASONS),
        ),
        "latency_percentile": _fraction(
            "Latency percentile compared with latency_threshold.", p.latency_percentile
        ),
        "latency_threshold": _dur(
            "Sustained rounds slower than it make the component degraded_performance."
        ),
    }
    return _obj(props, keys.STATUS, description="How failure ratios become statuses.")


def _check_settings() -> dict[str, Schema]:
    c, t = Check, TLSOptions()
    status_item: Schema = {
        "oneOf": [
            {"type": "integer", "minimum": 100, "maximum": 599},
            {"type": "string", "pattern": r"^([1-5][0-9][0-9]( *- *[1-5][0-9][0-9])?|[1-5]xx)$"},
        ]
    }
    expect = _obj(
        {
            "status": _d(
                _one_or_many(status_item), "Accepted status codes and ranges.", ["200-299"]
            ),
            "body_contains": _d(
                _one_or_many({"type": "string"}), "Substrings the body must contain."
            ),
            "body_regex": _d(
                _one_or_many({"type": "string", "format": "regex"}),
                "Regular expressions the body must match.",
            ),
            "json": _d(
                {
                    "type": "array",
                    "items": _obj(
                        {
                            "path": _str(
                                "Dotted path into the JSON body, e.g. data.items.0.state."
                            ),
                            "equals": {"description": "The value expected at path."},
                        },
                        keys.JSON_EXPECT,
                        required=keys.JSON_EXPECT,
                    ),
                },
                "JSON field expectations.",
            ),
            "max_latency": _dur("Slower responses fail with reason latency."),
        },
        keys.EXPECT,
        description="What a successful response looks like.",
    )
    tls = _obj(
        {
            "ca_file": _str("PEM bundle of CAs to trust instead of the system store."),
            "cert_file": _str("Client certificate (PEM)."),
            "key_file": _str("Client key (PEM); needs cert_file."),
            "server_name": _str("SNI and verification host name."),
            "insecure_skip_verify": _d(
                {"type": "boolean"}, "Do not verify the certificate.", t.insecure_skip_verify
            ),
        },
        keys.TLS,
        description="TLS options.",
    )
    return {
        "method": _d({"enum": list(keys.METHODS)}, "HTTP method.", c.method),
        "headers": _d(_ref("headers"), "Request headers; values may use ${VAR}."),
        "body": _str("Request body."),
        "interval": _d(_ref("duration"), "Time between rounds (at least 1s).", "15s"),
        "timeout": _d(
            _ref("duration"),
            "Deadline of one probe; below interval. Default: "
            "the lesser of 5s and 80% of the interval.",
            "5s",
        ),
        "expect": expect,
        "tls": tls,
        "follow_redirects": _d({"type": "boolean"}, "Follow 3xx redirects.", c.follow_redirects),
        "max_redirects": _d(
            {"type": "integer", "minimum": 0, "maximum": 100},
            "Maximum redirect hops.",
            c.max_redirects,
        ),
        "max_body_size": _d(_ref("size"), "Limit on the decoded body.", "1MiB"),
        "requests_per_round": _d(
            {"type": "integer", "minimum": 1, "maximum": 1000},
            "Requests sent per round.",
            c.requests_per_round,
        ),
        "fresh_connection": _d(
            {"type": "boolean"}, "New connection for every request.", c.fresh_connection
        ),
        "egress": _obj(
            {
                "allow": _d(
                    _one_or_many({"type": "string"}),
                    "Only these networks (CIDRs or named sets) may be connected to.",
                ),
                "deny": _d(
                    _one_or_many({"type": "string"}),
                    "Networks (CIDRs or named sets) never connected to.",
                ),
            },
            keys.EGRESS,
            description="Networks the probe may connect to, for the target and every redirect hop.",
        ),
        "proxy": _str('"env" (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) or an http:// proxy URL.'),
    }


def json_schema() -> Schema:
    """The JSON Schema of checks.yaml (draft 2020-12)."""
    settings = _check_settings()
    ident: Schema = {"type": "string", "pattern": keys.ID_PATTERN}
    inc, hook = IncidentPolicy(), Webhook(id="x", url="http://x")
    defaults = _obj(
        {**settings, "status": _ref("status_policy")},
        keys.DEFAULTS,
        description="Settings every check and component inherits.",
    )
    check = _obj(
        {
            "id": _d(ident, "Stable unique id of the check."),
            "component": _d(ident, "Id of the component the check belongs to."),
            "url": _d(_ref("url"), "http or https URL to probe."),
            **settings,
        },
        keys.CHECK,
        required=("id", "component", "url"),
    )
    component = _obj(
        {
            "id": _d(ident, "Stable unique id."),
            "name": _str("Display name."),
            "group": _str("Group on the page."),
            "description": _str("Shown on the page."),
            "status": _ref("status_policy"),
            "traffic": _traffic(),
        },
        keys.COMPONENT,
        required=("id", "name"),
    )
    weekly = _obj(
        {
            "days": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": list(keys.DAYS)},
            },
            "start": {"type": "string", "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"},
            "duration": _ref("duration"),
            "timezone": _str("IANA time zone of start.", "UTC"),
        },
        keys.WEEKLY,
        required=("days", "start", "duration"),
    )
    timestamp: Schema = {"type": "string", "format": "date-time"}
    maintenance = _obj(
        {
            "id": ident,
            "name": _str("Shown on the page."),
            "components": {"type": "array", "minItems": 1, "items": ident},
            "start": _d(timestamp, "One-off start (RFC 3339 with offset)."),
            "end": _d(timestamp, "One-off end, after start."),
            "weekly": weekly,
            "description": _str("Shown on the page."),
        },
        keys.MAINTENANCE,
        required=("id", "name", "components"),
    )
    maintenance["oneOf"] = [{"required": ["start", "end"]}, {"required": ["weekly"]}]
    incidents = _obj(
        {
            "quiet_period": _dur("Monitoring to resolved after this long.", inc.quiet_period),
            "min_update_spacing": _dur(
                "Minimum time between automatic updates.", inc.min_update_spacing
            ),
            "per_group": _d(
                {"type": "boolean"}, "One incident per component group.", inc.per_group
            ),
            "title_template": _str(
                "Title; placeholders {reason}, {components}, {count}, {group}.", inc.title_template
            ),
        },
        keys.INCIDENTS,
        description="Automatic incident behaviour.",
    )
    webhook = _obj(
        {
            "id": ident,
            "url": _ref("url"),
            "kind": _d({"enum": list(keys.WEBHOOK_KINDS)}, "Payload format.", hook.kind),
            "secret": _str("HMAC-SHA256 key for json webhooks; use ${VAR}."),
            "headers": _ref("headers"),
            "timeout": _dur("Deadline of one delivery attempt.", hook.timeout),
            "max_attempts": _d(
                {"type": "integer", "minimum": 1, "maximum": 100},
                "Attempts before giving up.",
                hook.max_attempts,
            ),
        },
        keys.WEBHOOK,
        required=("id", "url"),
    )
    network = _obj(
        {
            "canaries": {
                "type": "array",
                "items": _ref("url"),
                "description": "Reference URLs on other networks, probed only as "
                "evidence of prober's own connectivity.",
            },
            "interval": _dur("How often each canary is probed.", 10.0),
            "timeout": _dur("Deadline of one canary probe.", 5.0),
        },
        keys.NETWORK,
        description="Telling prober's own network loss from a total outage.",
    )
    distributed = _obj(
        {
            "locations": {
                "type": "array",
                "items": ident,
                "description": "Locations agents are expected in (shown as no data until "
                "they report).",
            },
            "quorum": _d(
                {"oneOf": [{"const": "majority"}, {"type": "integer", "minimum": 1}]},
                "Locations that must see a failure for it to count.",
                "majority",
            ),
            "location_timeout": _dur("A location silent this long is no data.", 60.0),
            "settle": _dur("How long past a round's timeout late locations are awaited.", 2.0),
        },
        keys.DISTRIBUTED,
        description="Probe agents in several locations and their quorum.",
    )
    page = _obj(
        {
            "name": _str("Title of the status page.", "Status"),
            "url": _d(_ref("url"), "Public base URL of the page."),
            "time_zone": _str("IANA time zone for displayed times.", "UTC"),
            "refresh": _dur(
                "How often the page reloads itself (no script); 0s: never.", Page.refresh
            ),
        },
        keys.PAGE,
    )
    template = _obj(
        {
            "id": ident,
            "name": _str("Title of the incident."),
            "body": _str("Text of its first update."),
            "status": _d(
                {"enum": ["investigating", "identified", "monitoring"]},
                "Status it opens with.",
                "investigating",
            ),
            "impact": _d(
                {"enum": ["none", "minor", "major", "critical"]},
                "Impact; default: from the worst component status.",
            ),
            "components": _d(
                {
                    "type": "object",
                    "additionalProperties": {
                        "enum": [
                            "operational",
                            "degraded_performance",
                            "partial_outage",
                            "major_outage",
                            "under_maintenance",
                        ]
                    },
                },
                "Affected component ids and the status each is in.",
            ),
        },
        keys.INCIDENT_TEMPLATE,
        required=("id", "name", "body"),
    )
    top = _obj(
        {
            "page": page,
            "defaults": defaults,
            "status": _d(
                _ref("status_policy"), "Status policy of every component (or use defaults.status)."
            ),
            "components": {"type": "array", "minItems": 1, "items": component},
            "checks": {"type": "array", "minItems": 1, "items": check},
            "maintenances": {"type": "array", "items": maintenance},
            "incidents": incidents,
            "webhooks": {"type": "array", "items": webhook},
            "incident_templates": {"type": "array", "items": template},
            "network": network,
            "distributed": distributed,
        },
        keys.TOP,
        required=("components", "checks"),
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "prober checks.yaml",
        **top,
        "$defs": {
            "duration": {
                "type": "string",
                "pattern": DURATION_PATTERN,
                "description": "A duration with units: 500ms, 15s, 5m, 1h, 1m30s.",
            },
            "size": {
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {"type": "string", "pattern": SIZE_PATTERN},
                ]
            },
            "url": {"type": "string", "pattern": r"^https?://"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "propertyNames": {"pattern": r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
            },
            "status_policy": _status_policy(),
        },
    }
