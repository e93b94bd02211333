"""One fixture per validation rule in tests/config/invalid/, with the exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from prober.config.loader import parse_config
from prober.errors import ConfigError

INVALID = Path(__file__).parent / "invalid"

CASES: list[tuple[str, list[str]]] = [
    (
        "duplicate_check_id",
        [
            (
                "duplicate_check_id.yaml:8:9: checks[1].id: duplicate check id 'api-health' "
                "(first defined on line 5; ids must be unique)"
            ),
        ],
    ),
    (
        "duplicate_component_id",
        [
            (
                "duplicate_component_id.yaml:4:9: components[1].id: duplicate component id "
                "'api' (first defined on line 2; ids must be unique)"
            ),
        ],
    ),
    (
        "duplicate_header",
        [
            (
                "duplicate_header.yaml:10:18: checks[0].headers.x-api-key: header "
                "'x-api-key' is given twice (header names are case-insensitive)"
            ),
        ],
    ),
    (
        "duplicate_key",
        [
            (
                "duplicate_key.yaml:8:5: checks[0].url: duplicate key 'url' (first defined "
                "on line 7; YAML would silently keep the last one)"
            ),
        ],
    ),
    (
        "duration_invalid",
        [
            (
                "duration_invalid.yaml:8:15: checks[0].interval: invalid duration '15 sec' "
                '(expected a number with a unit: ms, s, m, h, d; e.g. "500ms", "15s", '
                '"1m30s")'
            ),
        ],
    ),
    (
        "duration_no_unit",
        [
            (
                "duration_no_unit.yaml:8:15: checks[0].interval: duration 15 has no unit "
                '(write e.g. "15s" or "15ms")'
            ),
        ],
    ),
    (
        "empty_checks",
        [
            "empty_checks.yaml:4:9: checks: must have at least one entry",
        ],
    ),
    (
        "empty_file",
        [
            (
                "empty_file.yaml:1:1: the file is empty (expected a mapping with at least "
                "components: and checks:)"
            ),
        ],
    ),
    (
        "empty_name",
        [
            "empty_name.yaml:3:11: components[0].name: empty string (write a non-empty value)",
        ],
    ),
    (
        "env_malformed",
        [
            (
                "env_malformed.yaml:9:22: checks[0].headers.Authorization: invalid variable "
                "reference ${PROBER TOKEN} (write ${NAME} with letters, digits and _, or $$ "
                "for a literal $)"
            ),
        ],
    ),
    (
        "env_unset",
        [
            (
                "env_unset.yaml:9:22: checks[0].headers.Authorization: environment variable "
                "PROBER_TEST_UNSET_TOKEN is not set (set it, or write "
                "$${PROBER_TEST_UNSET_TOKEN} for a literal ${PROBER_TEST_UNSET_TOKEN})"
            ),
        ],
    ),
    (
        "failure_reason_unknown",
        [
            (
                "failure_reason_unknown.yaml:3:33: defaults.status.failure_reasons[1]: "
                "unknown failure reason 'http_500' (use one of: http_5xx, "
                "unexpected_status, timeout, connect, dns, tls, protocol, body_too_large, "
                "redirects, assertion, latency, traffic_5xx)"
            ),
        ],
    ),
    (
        "header_line_break",
        [
            (
                "header_line_break.yaml:9:12: checks[0].headers.X-A: header value contains "
                "a line break or NUL (remove it)"
            ),
        ],
    ),
    (
        "int_out_of_range",
        [
            (
                "int_out_of_range.yaml:8:25: checks[0].requests_per_round: 0 is out of "
                "range (expected 1 to 1000)"
            ),
        ],
    ),
    (
        "interval_too_short",
        [
            (
                "interval_too_short.yaml:8:15: checks[0].interval: 500ms is out of range "
                "(expected 1s to 1d)"
            ),
        ],
    ),
    (
        "invalid_id",
        [
            (
                "invalid_id.yaml:5:9: checks[0].id: invalid id 'API_Health' (use 1 to 63 "
                "characters: lower-case letters, digits, - and _, starting with a letter or "
                "digit)"
            ),
        ],
    ),
    (
        "invalid_regex",
        [
            (
                "invalid_regex.yaml:9:19: checks[0].expect.body_regex: invalid regular "
                "expression: missing ), unterminated subpattern at position 0 (escape "
                "special characters with \\ or check the brackets)"
            ),
        ],
    ),
    (
        "json_equals_yaml11",
        [
            (
                "json_equals_yaml11.yaml:11:19: checks[0].expect.json[0].equals: yes is a "
                "YAML 1.1 boolean spelling (write true or false)"
            ),
        ],
    ),
    (
        "key_file_without_cert",
        [
            (
                "key_file_without_cert.yaml:9:17: checks[0].tls.key_file: key_file needs "
                "cert_file (give the client certificate too)"
            ),
        ],
    ),
    (
        "local_tag",
        [
            (
                "local_tag.yaml:8:11: checks[0].body: unsupported YAML tag '!secret' "
                "(remove it: checks.yaml holds plain strings, numbers, booleans, lists and "
                "mappings)"
            ),
        ],
    ),
    (
        "maintenance_both",
        [
            (
                "maintenance_both.yaml:9:5: maintenances[0]: give either start and end (a "
                "one-off window) or weekly (a recurring one), not both"
            ),
        ],
    ),
    (
        "maintenance_end_before_start",
        [
            (
                "maintenance_end_before_start.yaml:13:10: maintenances[0].end: end "
                "2026-06-01T02:00:00+00:00 must be after start 2026-06-01T03:00:00+00:00"
            ),
        ],
    ),
    (
        "maintenance_no_offset",
        [
            (
                "maintenance_no_offset.yaml:12:12: maintenances[0].start: expected an RFC "
                "3339 time with an offset (e.g. 2026-06-01T02:00:00Z or "
                "2026-06-01T04:00:00+02:00)"
            ),
        ],
    ),
    (
        "maintenance_unknown_component",
        [
            (
                "maintenance_unknown_component.yaml:11:23: maintenances[0].components[1]: "
                "unknown component 'billing' (allowed: api)"
            ),
        ],
    ),
    (
        "merge_key",
        [
            (
                "merge_key.yaml:10:5: checks[0]: merge keys (<<) are not supported (put "
                "shared settings under defaults:)"
            ),
        ],
    ),
    (
        "method_unknown",
        [
            (
                "method_unknown.yaml:8:13: checks[0].method: unknown method 'FETCH' (use "
                "one of: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)"
            ),
        ],
    ),
    (
        "missing_components",
        [
            (
                "missing_components.yaml:1:1: components: required key is missing (add "
                "components: with at least one entry)"
            ),
        ],
    ),
    (
        "missing_required",
        [
            "missing_required.yaml:5:5: checks[0].url: required key is missing",
        ],
    ),
    (
        "number_in_string",
        [
            (
                "number_in_string.yaml:9:18: checks[0].headers.X-Version: expected a "
                'string, got the number 1.10 (quote it: "1.10")'
            ),
        ],
    ),
    (
        "recursive_alias",
        [
            (
                "recursive_alias.yaml:11:19: checks[0].expect.json[0].equals: value is "
                "nested deeper than 32 levels or has more than 10000 items (a recursive "
                "alias?)"
            ),
        ],
    ),
    (
        "size_invalid",
        [
            (
                "size_invalid.yaml:8:20: checks[0].max_body_size: invalid size '1 megabyte' "
                "(expected bytes or a number with a unit: B, KB, KiB, MB, MiB, GB, GiB; "
                'e.g. "1MiB")'
            ),
        ],
    ),
    (
        "status_code_invalid",
        [
            (
                "status_code_invalid.yaml:9:21: checks[0].expect.status[1]: invalid status "
                '700 (expected a code such as 200, a range such as "200-299", or "2xx"; '
                "codes are 100 to 599)"
            ),
        ],
    ),
    (
        "status_given_twice",
        [
            (
                "status_given_twice.yaml:3:5: defaults.status: the status policy is given "
                "twice (keep either the top-level status: or defaults.status:)"
            ),
        ],
    ),
    (
        "status_range_reversed",
        [
            (
                "status_range_reversed.yaml:9:15: checks[0].expect.status: status range "
                "'299-200' is reversed (write \"200-299\")"
            ),
        ],
    ),
    (
        "threshold_range",
        [
            (
                "threshold_range.yaml:5:14: components[0].status.major: 1.5 is out of range "
                "(expected a fraction above 0 and at most 1, such as 0.05 for 5%)"
            ),
        ],
    ),
    (
        "threshold_zero",
        [
            (
                "threshold_zero.yaml:5:17: components[0].status.degraded: 0 is out of range "
                "(expected a fraction above 0 and at most 1, such as 0.05 for 5%)"
            ),
        ],
    ),
    (
        "thresholds_order",
        [
            (
                "thresholds_order.yaml:3:15: defaults.status.degraded: thresholds must "
                "rise: degraded (0.3) < partial (0.2) < major (0.5) <= 1 (e.g. 0.05, 0.25, "
                "0.5)"
            ),
        ],
    ),
    (
        "time_zone_invalid",
        [
            (
                "time_zone_invalid.yaml:12:68: maintenances[0].weekly.timezone: unknown "
                "time zone 'Europe/Berln' (use an IANA name such as \"UTC\" or "
                '"Europe/Berlin")'
            ),
        ],
    ),
    (
        "timeout_from_defaults",
        [
            (
                "timeout_from_defaults.yaml:3:12: defaults.timeout: timeout 10s must be "
                "below the interval 5s (e.g. timeout: 2500ms)"
            ),
        ],
    ),
    (
        "timeout_not_below_interval",
        [
            (
                "timeout_not_below_interval.yaml:9:14: checks[0].timeout: timeout 5s must "
                "be below the interval 5s (e.g. timeout: 2500ms)"
            ),
        ],
    ),
    (
        "title_template",
        [
            (
                "title_template.yaml:9:19: incidents.title_template: unknown placeholder "
                "{component} (use {reason}, {components}, {count}, {group})"
            ),
        ],
    ),
    (
        "top_level_list",
        [
            (
                "top_level_list.yaml:1:1: expected a mapping at the top level (keys such as "
                "components: and checks:), got a list"
            ),
        ],
    ),
    (
        "unknown_component",
        [
            (
                "unknown_component.yaml:6:16: checks[0].component: unknown component 'apl' "
                "(did you mean 'api'?)"
            ),
        ],
    ),
    (
        "unknown_key_check",
        [
            (
                "unknown_key_check.yaml:8:5: checks[0].timout: unknown key 'timout' (did "
                "you mean 'timeout'?)"
            ),
        ],
    ),
    (
        "unknown_key_top",
        [
            ("unknown_key_top.yaml:8:1: webhook: unknown key 'webhook' (did you mean 'webhooks'?)"),
        ],
    ),
    (
        "unsafe_tag",
        [
            (
                "unsafe_tag.yaml:8:11: checks[0].body: unsupported YAML tag "
                "'!!python/object/apply:os.system' (remove it: checks.yaml holds plain "
                "strings, numbers, booleans, lists and mappings)"
            ),
        ],
    ),
    (
        "url_credentials",
        [
            (
                "url_credentials.yaml:7:10: checks[0].url: credentials in the URL "
                "(user:pass@) are not allowed (remove them and send a header instead, e.g. "
                'Authorization: "Basic ${PROBE_CREDENTIALS}")'
            ),
        ],
    ),
    (
        "url_no_host",
        [
            (
                "url_no_host.yaml:7:10: checks[0].url: URL has no host (expected e.g. "
                "https://api.example.com/health)"
            ),
        ],
    ),
    (
        "url_scheme",
        [
            (
                "url_scheme.yaml:7:10: checks[0].url: unsupported URL scheme 'ftp' (use "
                "http:// or https://)"
            ),
        ],
    ),
    (
        "webhook_kind",
        [
            (
                "webhook_kind.yaml:11:11: webhooks[0].kind: unknown kind 'teams' (use one "
                "of: json, slack)"
            ),
        ],
    ),
    (
        "weekly_bad_day",
        [
            (
                "weekly_bad_day.yaml:12:21: maintenances[0].weekly.days[0]: unknown day "
                "'sunday' (use one of: mon, tue, wed, thu, fri, sat, sun)"
            ),
        ],
    ),
    (
        "weekly_bad_start",
        [
            (
                "weekly_bad_start.yaml:12:34: maintenances[0].weekly.start: expected a time "
                'of day as "HH:MM" (e.g. "02:00")'
            ),
        ],
    ),
    (
        "wrong_type_mapping",
        [
            ("wrong_type_mapping.yaml:8:14: checks[0].headers: expected a mapping, got a list"),
        ],
    ),
    (
        "wrong_type_quoted_int",
        [
            (
                "wrong_type_quoted_int.yaml:8:25: checks[0].requests_per_round: expected an "
                "integer, got the string '10'"
            ),
        ],
    ),
    (
        "yaml11_bool_field",
        [
            (
                "yaml11_bool_field.yaml:8:23: checks[0].follow_redirects: yes is a YAML 1.1 "
                "boolean spelling (write true or false)"
            ),
        ],
    ),
    (
        "yaml11_bool_header",
        [
            (
                "yaml11_bool_header.yaml:9:16: checks[0].headers.X-Debug: NO is not a "
                'string: YAML 1.1 reads it as a boolean (quote it: "NO")'
            ),
        ],
    ),
    (
        "template_bad_values",
        [
            (
                "template_bad_values.yaml:12:13: incident_templates[0].status: unknown value "
                "'resolved' (allowed: identified, investigating, monitoring)"
            ),
            (
                "template_bad_values.yaml:13:13: incident_templates[0].impact: unknown value "
                "'huge' (allowed: critical, major, minor, none)"
            ),
            (
                "template_bad_values.yaml:15:12: incident_templates[0].components.api: unknown "
                "value 'down' (allowed: degraded_performance, major_outage, operational, "
                "partial_outage, under_maintenance)"
            ),
            "template_bad_values.yaml:16:5: incident_templates[1].body: required key is missing",
        ],
    ),
    (
        "template_unknown_component",
        [
            (
                "template_unknown_component.yaml:13:13: incident_templates[0].components.apii: "
                "unknown component 'apii' (did you mean 'api'?)"
            ),
        ],
    ),
    (
        "yaml_syntax",
        [
            (
                # libyaml's wording (the C loader)
                "yaml_syntax.yaml:7:1: invalid YAML: did not find expected ',' or ']' while "
                "parsing a flow sequence"
            ),
        ],
    ),
    (
        "traffic_promql_invalid",
        [
            (
                "traffic_promql_invalid.yaml:6:99: components[0].traffic.ratio: invalid PromQL: "
                "unexpected right parenthesis ')' (promql-parser)"
            ),
            (
                "traffic_promql_invalid.yaml:8:12: components[0].traffic.requests: invalid "
                "PromQL: unclosed left parenthesis (promql-parser)"
            ),
        ],
    ),
    (
        "traffic_promql_folded",
        [
            (
                "traffic_promql_folded.yaml:9:41: components[0].traffic.ratio: invalid PromQL: "
                "bad number or duration syntax: 5x (promql-parser)"
            ),
            (
                "traffic_promql_folded.yaml:14:9: components[0].traffic.requests: invalid "
                "PromQL: invalid promql query (promql-parser)"
            ),
        ],
    ),
    (
        "traffic_incomplete",
        [
            "traffic_incomplete.yaml:5:7: components[0].traffic.requests: required key is missing",
            (
                "traffic_incomplete.yaml:5:19: components[0].traffic.prometheus: unsupported URL "
                "scheme 'ftp' (use http:// or https://)"
            ),
            (
                "traffic_incomplete.yaml:7:13: components[0].traffic.mode: unknown traffic mode "
                "'mixed' (use one of: worst, traffic_only)"
            ),
        ],
    ),
    (
        "network_canary_url",
        [
            (
                "network_canary_url.yaml:9:14: network.canaries[0]: unsupported URL scheme "
                "'ftp' (use http:// or https://)"
            ),
        ],
    ),
    (
        "network_timeout_above_interval",
        [
            "network_timeout_above_interval.yaml:11:12: network.timeout: timeout (5s) must "
            "not exceed interval (2s)",
        ],
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_fixture_reports_exact_messages(fixture: str, expected: list[str]) -> None:
    name = f"{fixture}.yaml"
    text = (INVALID / name).read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_config(text, name, env={})
    assert [str(issue) for issue in info.value.issues] == expected
    assert str(info.value) == "\n".join(expected)


def test_every_fixture_is_in_the_table() -> None:
    on_disk = {p.stem for p in INVALID.glob("*.yaml")}
    assert on_disk == {name for name, _ in CASES}
