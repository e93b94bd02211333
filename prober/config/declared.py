"""Every setting of a check and of the status policy, declared once (see declare.py).

The reader's bounds and choices, the JSON Schema and the key tables of
docs/CONFIGURATION.md are generated from these declarations; the defaults are the model's
(prober/domain/policy.py). The other sections are in declared_sections.py.
"""

from __future__ import annotations

from prober.config.declare import Key
from prober.domain.observation import Reason
from prober.domain.policy import (
    DEFAULT_FAILURE_REASONS,
    Check,
    StatusPolicy,
    TLSOptions,
)

DAY = 86400.0
WEEK = 7 * DAY
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
FAILURE_REASONS = tuple(r.value for r in Reason if r is not Reason.OK)

_CHECK = Check(id="", component="", url="")
_TLS = TLSOptions()
_POLICY = StatusPolicy()

_ONE_OR_MANY_STRINGS = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
}
_STATUS_ITEM = {
    "oneOf": [
        {"type": "integer", "minimum": 100, "maximum": 599},
        {"type": "string", "pattern": r"^([1-5][0-9][0-9]( *- *[1-5][0-9][0-9])?|[1-5]xx)$"},
    ]
}

EXPECT = (
    Key(
        "status",
        "custom",
        'Accepted status codes: `200`, `"200-299"`, `"2xx"`, or a list of them; codes 100 to 599.',
        default=("200-299",),
        default_doc='`["200-299"]`',
        type_doc="code, range or list",
        schema={"oneOf": [_STATUS_ITEM, {"type": "array", "items": _STATUS_ITEM}]},
    ),
    Key(
        "body_contains",
        "custom",
        "Substrings the body must contain.",
        type_doc="string or list",
        schema=_ONE_OR_MANY_STRINGS,
    ),
    Key(
        "body_regex",
        "custom",
        "Python regular expressions the body must match (searched, not anchored).",
        type_doc="regex or list",
        schema={
            "oneOf": [
                {"type": "string", "format": "regex"},
                {"type": "array", "items": {"type": "string", "format": "regex"}},
            ]
        },
    ),
    Key(
        "json",
        "list",
        "JSON fields the body must carry.",
        items=(
            Key(
                "path",
                "string",
                "Dotted path into the JSON body; list items by index: `data.items.0.state`.",
                required=True,
            ),
            Key(
                "equals",
                "custom",
                "Expected value: string, number, `true`/`false`, `null`, list or mapping.",
                required=True,
                type_doc="any",
                schema={},
            ),
        ),
    ),
    Key(
        "max_latency",
        "duration",
        "A slower response fails with reason `latency`.",
        low=0.001,
        high=WEEK,
    ),
)

TLS = (
    Key("ca_file", "path", "PEM bundle of CAs to trust instead of the system store.", secret=False),
    Key("cert_file", "path", "Client certificate (PEM) for mutual TLS.", secret=False),
    Key("key_file", "path", "Client key (PEM); needs `cert_file`.", secret=False),
    Key(
        "server_name",
        "string",
        "Host name for SNI and certificate verification, when it differs from the URL's.",
        secret=False,
    ),
    Key(
        "insecure_skip_verify",
        "boolean",
        "Do not verify the certificate (for self-signed test targets only).",
        default=_TLS.insecure_skip_verify,
    ),
)

EGRESS = (
    Key(
        "allow",
        "custom",
        "When given, only addresses in these networks are connected to.",
        type_doc="string or list",
        schema=_ONE_OR_MANY_STRINGS,
    ),
    Key(
        "deny",
        "custom",
        "Addresses in these networks are never connected to (wins over `allow`).",
        type_doc="string or list",
        schema=_ONE_OR_MANY_STRINGS,
    ),
)

# The keys a check may set that `defaults:` may also set.
CHECK_SETTINGS = (
    Key(
        "method",
        "enum",
        f"One of {', '.join(f'`{m}`' for m in METHODS)} (case-insensitive).",
        default=_CHECK.method,
        choices=METHODS,
        what="method",
        upper=True,
        type_doc="string",
    ),
    Key(
        "headers",
        "custom",
        "Request headers. Names are case-insensitive and unique; values are strings (quote "
        '`"NO"`, `"1.10"`) without line breaks.',
        type_doc="mapping of strings",
        schema={"$ref": "#/$defs/headers"},
    ),
    Key("body", "string", "Request body."),
    Key(
        "interval",
        "duration",
        "Time between rounds.",
        default=_CHECK.interval,
        low=1.0,
        high=DAY,
    ),
    Key(
        "timeout",
        "duration",
        "One deadline per probe covering DNS, connect, TLS, headers and body; must be below "
        "`interval`. When neither the check nor `defaults` sets it, it is the lesser of 5s "
        "and 80% of the interval (`interval: 5s` alone gives `timeout: 4s`; `interval: 2s` "
        "gives `1.6s`).",
        default=_CHECK.timeout,
        low=0.01,
        high=3600.0,
    ),
    Key(
        "expect",
        "mapping",
        "What a successful response looks like.",
        default_doc="see below",
        keys=EXPECT,
    ),
    Key("tls", "mapping", "TLS options for `https://` URLs.", default_doc="see below", keys=TLS),
    Key(
        "follow_redirects",
        "boolean",
        "Follow 3xx responses. When false, a 3xx is judged by `expect.status`.",
        default=_CHECK.follow_redirects,
    ),
    Key(
        "max_redirects",
        "integer",
        "Maximum redirect hops; more fail with reason `redirects`.",
        default=_CHECK.max_redirects,
        low=0,
        high=100,
    ),
    Key(
        "max_body_size",
        "size",
        "Limit on the decoded body (after gzip); a larger body fails with reason `body_too_large`.",
        default=_CHECK.max_body_bytes,
        low=1,
        high=1024**3,
    ),
    Key(
        "requests_per_round",
        "integer",
        "Requests sent each round, so that a 500 rate is measured from many samples.",
        default=_CHECK.requests_per_round,
        low=1,
        high=1000,
    ),
    Key(
        "fresh_connection",
        "boolean",
        "Open a new connection for every request, so connect and TLS time count as users "
        "feel them.",
        default=_CHECK.fresh_connection,
    ),
    Key(
        "egress",
        "mapping",
        "Networks the probe may connect to, for the target and every redirect hop; see "
        "[egress](#egress).",
        keys=EGRESS,
    ),
    Key(
        "proxy",
        "custom",
        "`env` to use the `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` environment variables, "
        "or an `http://host:port` proxy URL. Without it, requests go direct and those "
        "variables are ignored.",
        type_doc="string",
        schema={"type": "string"},
    ),
)

CHECK = (
    Key("id", "id", "Stable unique id (`platform-api-health`).", required=True),
    Key(
        "component",
        "id",
        "The component this check measures; must be defined under `components`.",
        required=True,
    ),
    Key(
        "url",
        "url",
        "`http://` or `https://` URL. No `user:pass@` inside: send credentials in a header "
        "with `${VAR}`.",
        required=True,
    ),
    *CHECK_SETTINGS,
)

STATUS = (
    Key(
        "window",
        "duration",
        "Sliding window the failure ratio is computed over.",
        default=_POLICY.window,
        low=1.0,
        high=DAY,
    ),
    Key(
        "min_samples",
        "integer",
        "Probes a trailing window needs before it can show that a level is left, and before "
        "the latency percentile counts; capped at the probes `status.window` can hold at "
        "the component's probe rate (one probe every 30 s in a 5-minute window: 10), so a "
        "level can always be left.",
        default=_POLICY.min_samples,
        low=1,
        high=1_000_000,
    ),
    Key(
        "degraded",
        "fraction",
        "Failure ratio from which the component is `degraded_performance`.",
        default=_POLICY.degraded,
    ),
    Key(
        "partial",
        "fraction",
        "Failure ratio from which it is `partial_outage`.",
        default=_POLICY.partial,
    ),
    Key(
        "major",
        "fraction",
        "Failure ratio from which it is `major_outage`. Must hold 0 < degraded < partial < "
        "major <= 1.",
        default=_POLICY.major,
    ),
    Key(
        "exit_factor",
        "fraction",
        "No effect since exits became symmetric; accepted so that older files load.",
        default=_POLICY.exit_factor,
    ),
    Key(
        "recovery_time",
        "duration",
        "A level is left once the episode has ended, or the rate has been below its "
        "threshold (with 99% confidence), this long, counted from the start of that calm.",
        default=_POLICY.recovery_time,
        low=0.0,
        high=DAY,
    ),
    Key(
        "failing_rounds_for_major",
        "integer",
        "This many consecutive rounds where every probe of every check fails give "
        "`major_outage` at once (fast escalation), provided the failed probes are evidence "
        "on their own, against noise and against a partial outage: two rounds of 10 "
        "requests are; single probes need fourteen (the first failing round and its "
        "confirmation rounds, within seconds).",
        default=_POLICY.failing_rounds_for_major,
        low=1,
        high=1000,
    ),
    Key(
        "failure_reasons",
        "custom",
        "Probe reasons that count as failures; any of "
        + ", ".join(f"`{r}`" for r in FAILURE_REASONS)
        + ". Real-traffic samples fail on `traffic_5xx` whether or not it is listed (a list "
        "without it never turns a traffic signal off).",
        default=DEFAULT_FAILURE_REASONS,
        type_doc="list of reasons",
        schema={
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(FAILURE_REASONS)},
        },
    ),
    Key(
        "latency_percentile",
        "fraction",
        "Percentile of probe latency over the window compared with `latency_threshold`.",
        default=_POLICY.latency_percentile,
    ),
    Key(
        "latency_threshold",
        "duration",
        "When rounds are slower than it, sustained (about ten rounds), the component is at "
        "least `degraded_performance`; it stays so while the window's percentile is above "
        "it.",
        default=_POLICY.latency_threshold,
        low=0.001,
        high=3600.0,
    ),
)
