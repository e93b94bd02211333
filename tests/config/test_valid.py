"""Valid configurations: defaults inheritance, durations, sizes, ${VAR} expansion."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from prober.config import StatusRange, check_files, load_config, parse_config
from prober.config.model import DEFAULT_FAILURE_REASONS, StatusPolicy
from prober.errors import ConfigError

BASE = """\
components:
  - id: api
    name: API
    group: Core
checks:
  - id: api-health
    component: api
    url: https://api.example.com/health
"""


def parse(text: str, env: dict[str, str] | None = None) -> object:
    return parse_config(text, "t.yaml", env or {})


def test_minimal_config_gets_model_defaults() -> None:
    config = parse_config(BASE, "t.yaml", {})
    (check,) = config.checks
    assert check.method == "GET"
    assert (check.interval, check.timeout) == (15.0, 5.0)
    assert check.expect.status == (StatusRange(200, 299),)
    assert check.max_body_bytes == 1024 * 1024
    assert check.line == 6
    assert config.components[0].policy == StatusPolicy()
    assert config.components[0].line == 2
    assert config.page.name == "Status"
    assert config.source == "t.yaml"


def test_checks_inherit_defaults_and_merge_headers_expect_tls() -> None:
    text = """\
defaults:
  interval: 30s
  timeout: 3s
  method: head
  requests_per_round: 5
  headers:
    User-Agent: prober
    X-Team: sre
  expect:
    status: [200, 204]
    max_latency: 800ms
  tls:
    insecure_skip_verify: true
  status:
    degraded: 0.1
    window: 2m
components:
  - id: api
    name: API
  - id: billing
    name: Billing
    status:
      major: 0.9
      failure_reasons: [http_5xx, timeout]
checks:
  - id: api-health
    component: api
    url: https://api.example.com/health
    timeout: 10s
    headers:
      x-team: platform
      Authorization: "Bearer abc"
    expect:
      json:
        - path: data.items.0.state
          equals: 3
    tls:
      server_name: api.internal
  - id: billing-health
    component: billing
    url: https://billing.example.com/health
    method: POST
    body: '{"ping": true}'
"""
    config = parse_config(text, "t.yaml", {})
    api, billing = config.checks
    assert (api.interval, api.timeout, api.method, api.requests_per_round) == (
        30.0,
        10.0,
        "HEAD",
        5,
    )
    assert dict(api.headers) == {
        "User-Agent": "prober",
        "x-team": "platform",
        "Authorization": "Bearer abc",
    }
    assert api.expect.status == (StatusRange(200, 200), StatusRange(204, 204))
    assert api.expect.max_latency == pytest.approx(0.8)
    assert api.expect.json[0].path == "data.items.0.state"
    assert api.expect.json[0].equals == 3
    assert api.tls.insecure_skip_verify is True and api.tls.server_name == "api.internal"
    assert billing.method == "POST" and billing.body == '{"ping": true}'
    assert billing.timeout == 3.0 and billing.tls.server_name is None
    assert dict(billing.headers) == {"User-Agent": "prober", "X-Team": "sre"}
    api_c, billing_c = config.components
    assert api_c.policy.degraded == 0.1 and api_c.policy.window == 120.0
    assert api_c.policy.major == 0.5
    assert api_c.policy.failure_reasons == DEFAULT_FAILURE_REASONS
    assert billing_c.policy.degraded == 0.1 and billing_c.policy.major == 0.9
    assert billing_c.policy.failure_reasons == frozenset({"http_5xx", "timeout"})


def test_top_level_status_is_the_default_policy() -> None:
    text = "status:\n  window: 30s\n  min_samples: 5\n  recovery_time: 2s\n" + BASE
    (component,) = parse_config(text, "t", {}).components
    assert (component.policy.window, component.policy.min_samples) == (30.0, 5)
    assert component.policy.recovery_time == 2.0 and component.policy.degraded == 0.05


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("500ms", 0.5),
        ("1s", 1.0),
        ("15s", 15.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1.5s", 1.5),
        ("1d", 86400.0),
    ],
)
def test_durations(written: str, seconds: float) -> None:
    text = BASE + f"    interval: 1d\n    expect:\n      max_latency: {written}\n"
    (check,) = parse_config(text, "t.yaml", {}).checks
    assert check.expect.max_latency == pytest.approx(seconds)


def test_interval_of_one_second_is_valid() -> None:
    (check,) = parse_config(BASE + "    interval: 1s\n    timeout: 900ms\n", "t", {}).checks
    assert (check.interval, check.timeout) == (1.0, 0.9)


@pytest.mark.parametrize(
    ("settings", "timeout"),
    [
        ("    interval: 5s\n", 4.0),  # alone: 80% of the interval
        ("    interval: 2s\n", 1.6),
        ("    interval: 1s\n", 0.8),
        ("    interval: 10s\n", 5.0),  # 5 s is the ceiling
        ("    interval: 5m\n", 5.0),
        ("    interval: 5s\n    timeout: 4500ms\n", 4.5),  # given: kept as written
    ],
)
def test_unset_timeout_is_the_lesser_of_5s_and_80_percent_of_the_interval(
    settings: str, timeout: float
) -> None:
    (check,) = parse_config(BASE + settings, "t", {}).checks
    assert check.timeout == pytest.approx(timeout)
    assert check.timeout < check.interval


def test_unset_timeout_follows_an_interval_from_defaults() -> None:
    (check,) = parse_config("defaults:\n  interval: 3s\n" + BASE, "t", {}).checks
    assert (check.interval, check.timeout) == (3.0, pytest.approx(2.4))


@pytest.mark.parametrize(
    ("written", "size"),
    [
        ("1024", 1024),
        ("1MiB", 1024**2),
        ("512KiB", 512 * 1024),
        ("2MB", 2_000_000),
        ('"100 B"', 100),
    ],
)
def test_sizes(written: str, size: int) -> None:
    (check,) = parse_config(BASE + f"    max_body_size: {written}\n", "t", {}).checks
    assert check.max_body_bytes == size


def test_status_forms() -> None:
    text = BASE + '    expect:\n      status: ["2xx", 301, "400 - 404"]\n'
    (check,) = parse_config(text, "t", {}).checks
    assert check.expect.status == (
        StatusRange(200, 299),
        StatusRange(301, 301),
        StatusRange(400, 404),
    )
    (single,) = parse_config(BASE + "    expect:\n      status: 204\n", "t", {}).checks
    assert single.expect.status == (StatusRange(204, 204),)


def test_env_expansion_and_dollar_escape() -> None:
    text = BASE + (
        "    headers:\n"
        "      Authorization: Bearer ${TOKEN}\n"
        "      X-Price: $$5 and $${NOT_A_VAR} and ${A}${B}\n"
        "    expect:\n"
        "      body_regex: ok$\n"
    )
    (check,) = parse_config(text, "t", {"TOKEN": "s3cr3t-value", "A": "x", "B": "y"}).checks
    assert dict(check.headers) == {
        "Authorization": "Bearer s3cr3t-value",
        "X-Price": "$5 and ${NOT_A_VAR} and xy",
    }
    assert check.expect.body_regex[0].pattern == "ok$"
    # the expanded values are the secrets (x and y are too short to redact); literal text
    # around them is not
    assert check.secret_values == ("s3cr3t-value",)


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBER_TEST_HOST", "status.example.com")
    text = BASE.replace("api.example.com", "${PROBER_TEST_HOST}")
    (check,) = parse_config(text).checks
    assert check.url == "https://status.example.com/health"


def test_secret_values_are_not_echoed_in_errors() -> None:
    text = BASE.replace("https://api.example.com", "${URL}")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "t", {"URL": "https://bot:hunter2-secret@api.example.com"})
    assert "hunter2-secret" not in str(info.value)
    assert "credentials in the URL" in str(info.value)


def test_quoted_yaml11_words_are_strings() -> None:
    text = BASE + '    headers:\n      X-Debug: "NO"\n      X-Version: "1.10"\n'
    (check,) = parse_config(text, "t", {}).checks
    assert dict(check.headers) == {"X-Debug": "NO", "X-Version": "1.10"}


def test_maintenances_one_off_and_weekly() -> None:
    text = (
        BASE
        + """\
maintenances:
  - id: once
    name: Database upgrade
    components: [api]
    start: 2026-06-01T04:00:00+02:00
    end: "2026-06-01T03:00:00Z"
  - id: weekly
    name: Drill
    components: [api]
    weekly: {days: [sun, mon], start: 3:30, duration: 30m, timezone: Europe/Berlin}
"""
    )
    once, weekly = parse_config(text, "t", {}).maintenances
    assert once.start == datetime(2026, 6, 1, 4, tzinfo=timezone(timedelta(hours=2)))
    assert once.end == datetime(2026, 6, 1, 3, tzinfo=UTC)
    assert weekly.weekly is not None
    assert weekly.weekly.days == (0, 6)
    assert weekly.weekly.start == time(3, 30)  # unquoted 3:30 is not YAML 1.1's 210
    assert (weekly.weekly.duration, weekly.weekly.timezone) == (1800.0, "Europe/Berlin")


def test_incidents_webhooks_and_page() -> None:
    text = (
        BASE
        + """\
page:
  name: Acme Status
  url: https://status.example.com
  time_zone: Europe/Berlin
incidents:
  quiet_period: 15m
  min_update_spacing: 30s
  per_group: true
  title_template: "{count} components: {reason} on {components}"
webhooks:
  - id: ops
    url: https://hooks.example.com/x
    secret: ${HOOK_SECRET}
    max_attempts: 3
    timeout: 2s
  - id: chat
    url: https://hooks.slack.example.com/y
    kind: slack
"""
    )
    config = parse_config(text, "t", {"HOOK_SECRET": "hmac-key-1"})
    assert config.page.name == "Acme Status" and config.page.time_zone == "Europe/Berlin"
    assert config.incidents.quiet_period == 900.0 and config.incidents.per_group is True
    ops, chat = config.webhooks
    assert (ops.secret, ops.max_attempts, ops.timeout, ops.kind) == ("hmac-key-1", 3, 2.0, "json")
    assert chat.kind == "slack" and chat.secret is None
    assert "hmac-key-1" in config.secret_values


def test_anchors_and_aliases_are_plain_data() -> None:
    text = (
        BASE + "    headers: &h\n      X-A: one\n  - id: api-two\n    component: api\n"
        "    url: https://api.example.com/two\n    headers: *h\n"
    )
    one, two = parse_config(text, "t", {}).checks
    assert one.headers == two.headers == (("X-A", "one"),)


def test_one_run_reports_every_error_in_file_order() -> None:
    text = """\
components:
  - id: api
    name: API
  - id: api
    name: Again
checks:
  - id: api-health
    component: apl
    url: ftp://x/health
    interval: 15
    timout: 2s
    headers:
      X-Debug: off
  - id: API
    component: api
    url: https://x/health
    expect:
      body_regex: "(["
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "multi.yaml", {})
    lines = [str(i) for i in info.value.issues]
    assert [line.split(": ")[0] for line in lines] == [
        "multi.yaml:4:9",
        "multi.yaml:8:16",
        "multi.yaml:9:10",
        "multi.yaml:10:15",
        "multi.yaml:11:5",
        "multi.yaml:13:16",
        "multi.yaml:14:9",
        "multi.yaml:18:19",
    ]
    assert "duplicate component id 'api'" in lines[0]
    assert "did you mean 'api'?" in lines[1]


def test_load_config_reports_unreadable_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.yaml")
    assert "cannot read the file" in str(info.value)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(BASE.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "not UTF-8" in str(info.value)


def test_check_files_output_and_exit_code(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    code, text = check_files([str(good)])
    assert (code, text) == (0, f"{good}: OK: 1 component, 1 check")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "    interval: 15\n    method: FETCH\n", encoding="utf-8")
    code, text = check_files([str(good), str(bad)])
    assert code == 1
    assert text.splitlines() == [
        f"{good}: OK: 1 component, 1 check",
        f'{bad}:9:15: checks[0].interval: duration 15 has no unit (write e.g. "15s" or "15ms")',
        f"{bad}:10:13: checks[0].method: unknown method 'FETCH' (use one of: GET, HEAD, "
        "POST, PUT, PATCH, DELETE, OPTIONS)",
        f"{bad}: FAILED: 2 errors",
    ]


def test_config_equality_is_structural() -> None:
    assert parse_config(BASE, "t", {}) == parse_config(BASE, "t", {})


@pytest.mark.parametrize(("written", "seconds"), [("30s", 30.0), ("0s", 0.0), ("5m", 300.0)])
def test_page_refresh(written: str, seconds: float) -> None:
    config = parse_config(f"page:\n  refresh: {written}\n" + BASE, "t", {})
    assert config.page.refresh == seconds


def test_page_refresh_defaults_to_a_minute() -> None:
    assert parse_config(BASE, "t", {}).page.refresh == 60.0


def test_incident_templates() -> None:
    text = (
        BASE
        + """incident_templates:
  - id: db-failover
    name: Database failover
    body: Writes may fail for a few minutes.
    status: identified
    impact: major
    components:
      api: partial_outage
  - id: plain
    name: Plain
    body: Something.
"""
    )
    failover, plain = parse_config(text, "t", {}).incident_templates
    assert (failover.id, failover.status, failover.impact) == ("db-failover", "identified", "major")
    assert failover.components == (("api", "partial_outage"),)
    assert (plain.status, plain.impact, plain.components) == ("investigating", None, ())


def test_network_canaries_are_probed_apart_from_the_checks() -> None:
    config = parse_config(
        BASE + "network:\n  canaries: [https://www.example.org/]\n  interval: 20s\n", "t.yaml", {}
    )
    (canary,) = config.network.canaries
    assert canary.url == "https://www.example.org/"
    assert (canary.interval, canary.timeout) == (20.0, 5.0)
    assert 500 in canary.expect.status[0]  # any HTTP answer proves the network
    assert canary not in config.checks and canary in config.probed
    assert canary.component not in {c.id for c in config.components}
    assert parse_config(BASE, "t.yaml", {}).network.canaries == ()
