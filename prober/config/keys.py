"""The keys each mapping of checks.yaml accepts: one list shared by validator and schema."""

from __future__ import annotations

TOP = (
    "page",
    "defaults",
    "status",
    "components",
    "checks",
    "maintenances",
    "incidents",
    "webhooks",
    "incident_templates",
    "network",
    "distributed",
)
PAGE = ("name", "url", "time_zone", "refresh")
# Keys a check may set that `defaults:` may also set.
CHECK_SETTINGS = (
    "method",
    "headers",
    "body",
    "interval",
    "timeout",
    "expect",
    "tls",
    "follow_redirects",
    "max_redirects",
    "max_body_size",
    "requests_per_round",
    "fresh_connection",
    "egress",
    "proxy",
)
CHECK = ("id", "component", "url", *CHECK_SETTINGS)
DEFAULTS = (*CHECK_SETTINGS, "status")
EXPECT = ("status", "body_contains", "body_regex", "json", "max_latency")
JSON_EXPECT = ("path", "equals")
EGRESS = ("allow", "deny")
TLS = ("ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify")
STATUS = (
    "window",
    "min_samples",
    "degraded",
    "partial",
    "major",
    "exit_factor",
    "recovery_time",
    "failing_rounds_for_major",
    "failure_reasons",
    "latency_percentile",
    "latency_threshold",
)
COMPONENT = ("id", "name", "group", "description", "status", "traffic")
TRAFFIC = ("prometheus", "ratio", "requests", "interval", "min_request_rate", "mode")
TRAFFIC_MODES = ("worst", "traffic_only")
MAINTENANCE = ("id", "name", "components", "start", "end", "weekly", "description")
WEEKLY = ("days", "start", "duration", "timezone")
INCIDENTS = ("quiet_period", "min_update_spacing", "per_group", "title_template")
INCIDENT_TEMPLATE = ("id", "name", "body", "status", "impact", "components")
NETWORK = ("canaries", "interval", "timeout")
DISTRIBUTED = ("locations", "quorum", "location_timeout", "settle")
WEBHOOK = ("id", "url", "kind", "secret", "headers", "timeout", "max_attempts")

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEBHOOK_KINDS = ("json", "slack")
TITLE_FIELDS = ("reason", "components", "count", "group")
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
