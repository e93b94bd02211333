"""Secrets are what ${VAR} expanded to, wherever it was written; and how they are redacted."""

from __future__ import annotations

import dataclasses

from prober.config import parse_config
from prober.config.secrets import REDACTED, Redactor, url_secrets

ENV = {
    "SECRET_TOK": "hunter2secretXYZ",
    "QUERY_TOK": "q-token-0042",
    "BODY_PW": "body-password-77",
    "DEFAULT_KEY": "default-api-key",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example.com/services/T0/B0/xyzzy-slack",
    "HOOK_SECRET": "hmac-key-abcdef",
    "HOOK_HDR": "hook-header-token",
    "CA_DIR": "/etc/prober/tls",
    "SHORT": "eu",
    "EVERY": "20000ms",
}

TEXT = """\
defaults:
  headers:
    X-Api-Key: ${DEFAULT_KEY}
  interval: ${EVERY}
components:
  - id: api
    name: API
checks:
  - id: auth
    component: api
    url: https://api.example.com/me
    headers:
      Authorization: "Bearer ${SECRET_TOK}"
      User-Agent: prober-literal
  - id: query
    component: api
    url: https://api.example.com/health?token=${QUERY_TOK}&region=${SHORT}
    method: POST
    body: '{"password": "${BODY_PW}"}'
    tls:
      ca_file: ${CA_DIR}/ca.pem
  - id: plain
    component: api
    url: https://api.example.com/plain
    headers:
      X-Api-Key: literal-key-not-secret
webhooks:
  - id: chat
    url: ${SLACK_WEBHOOK_URL}
    kind: slack
  - id: ops
    url: https://hooks.example.com/x
    secret: ${HOOK_SECRET}
    headers:
      X-Hook: ${HOOK_HDR}
  - id: literal
    url: https://hooks.example.com/y
    secret: literal-hmac-key
    headers:
      X-Literal: literal-hook-header
"""


def test_each_check_has_the_expansions_of_its_own_settings_and_its_defaults() -> None:
    auth, query, plain = parse_config(TEXT, "t", ENV).checks
    # the token itself, not the whole "Bearer ..." header value; literal headers are not
    # secrets
    assert auth.secret_values == ("hunter2secretXYZ", "default-api-key")  # longest first
    assert set(query.secret_values) == {"default-api-key", "q-token-0042", "body-password-77"}
    # an overridden default header is still redacted (more than needed, never less)
    assert plain.secret_values == ("default-api-key",)
    assert auth.expanded != query.expanded


def test_config_secrets_cover_every_expansion_but_not_tls_paths_durations_or_literals() -> None:
    secrets = parse_config(TEXT, "t", ENV).secret_values
    expected = {
        ENV[k]
        for k in (
            "SECRET_TOK",
            "QUERY_TOK",
            "BODY_PW",
            "DEFAULT_KEY",
            "SLACK_WEBHOOK_URL",
            "HOOK_SECRET",
            "HOOK_HDR",
        )
    }
    assert expected <= secrets
    assert "literal-hmac-key" in secrets  # a webhook's secret: is a secret even if literal
    not_secret = {
        "/etc/prober/tls",
        "20000ms",
        "eu",
        "prober-literal",
        "literal-key-not-secret",
        "literal-hook-header",
        "Bearer hunter2secretXYZ",
    }
    assert not (not_secret & secrets)
    assert secrets == expected | {"literal-hmac-key"}


def test_secrets_take_no_part_in_equality_or_repr() -> None:
    config = parse_config(TEXT, "t", ENV)
    check = config.checks[0]
    # derived from the check's fields: a reload compares checks without them
    assert dataclasses.replace(check, expanded=frozenset()) == check
    assert dataclasses.replace(config, expanded=frozenset()) == config
    assert "expanded" not in repr(check) and "expanded" not in repr(config)


def test_redactor_replaces_raw_json_and_url_forms() -> None:
    redact = Redactor({'tok"en/ü+1', "hunter2secretXYZ", "ab"})
    assert redact("got hunter2secretXYZ!") == f"got {REDACTED}!"
    assert redact('json t: got "tok\\"en/ü+1"') == f'json t: got "{REDACTED}"'
    assert redact('got "tok\\"en/\\u00fc+1"') == f'got "{REDACTED}"'
    assert redact("GET /x?t=tok%22en%2F%C3%BC%2B1") == f"GET /x?t={REDACTED}"
    assert redact("ab stays: too short to redact") == "ab stays: too short to redact"
    assert not Redactor({"ab"})


def test_redactor_catches_a_secret_cut_short_by_truncation() -> None:
    redact = Redactor({"hunter2secretXYZ"})
    assert (
        redact('json status: got "xxxxxxxxhunter2se..."')
        == f'json status: got "xxxxxxxx{REDACTED}..."'
    )
    # an ellipsis not preceded by a secret's beginning is left alone
    assert redact("waiting... done") == "waiting... done"


def test_redactor_prefers_the_longest_secret() -> None:
    redact = Redactor({"secret-one", "secret-one-and-more"})
    assert redact("x secret-one-and-more y") == f"x {REDACTED} y"


def test_url_secrets_are_query_and_userinfo() -> None:
    assert set(url_secrets("https://bot:pa55word@h.example.com/p?token=abcd&x=1")) == {
        "token=abcd&x=1",
        "pa55word",
    }
    assert url_secrets("https://h.example.com/p") == ()
