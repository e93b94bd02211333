from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from prober import logs
from prober.config import parse_config


def test_json_logs_redact_secrets_and_keep_context_as_keys() -> None:
    out = io.StringIO()
    logs.configure("json", stream=out)
    logs.REDACTOR.secrets = frozenset({"s3cr3t-token"})
    try:
        logs.get_logger().warning("probe_failed", check="api", detail="auth s3cr3t-token rejected")
    finally:
        logs.REDACTOR.secrets = frozenset()
    line = json.loads(out.getvalue().strip())
    assert line["event"] == "probe_failed"
    assert line["check"] == "api"
    assert "s3cr3t-token" not in out.getvalue()
    assert line["detail"] == "auth <redacted> rejected"
    assert line["level"] == "warning"


def _log_with(secrets: frozenset[str], fmt: str, emit: Callable[[Any], None]) -> str:
    out = io.StringIO()
    logs.configure(fmt, stream=out)
    logs.REDACTOR.secrets = secrets
    try:
        emit(logs.get_logger())
    finally:
        logs.REDACTOR.secrets = frozenset()
    return out.getvalue()


def _fail(secret: str) -> None:
    raise RuntimeError(f"token {secret} refused")


def test_tracebacks_are_redacted_in_json_and_console_logs() -> None:
    def emit(log: Any) -> None:
        try:
            _fail("s3cr3t-token")
        except RuntimeError:
            log.exception("periodic_job_failed", job="x")

    for fmt in ("json", "console"):
        text = _log_with(frozenset({"s3cr3t-token"}), fmt, emit)
        assert "RuntimeError" in text and "Traceback" in text  # the traceback is there
        assert "s3cr3t-token" not in text, fmt
        assert "<redacted>" in text


def test_nested_values_are_redacted() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "Opaque(s3cr3t-token)"

    def emit(log: Any) -> None:
        log.warning(
            "config_reloaded",
            components=["a", "x s3cr3t-token y"],
            extra={"k": ("s3cr3t-token",), "s3cr3t-token": 1},
            obj=Opaque(),
            count=3,
            ok=True,
            none=None,
        )

    text = _log_with(frozenset({"s3cr3t-token"}), "json", emit)
    assert "s3cr3t-token" not in text
    line = json.loads(text)
    assert line["components"] == ["a", "x <redacted> y"]
    assert line["extra"] == {"k": ["<redacted>"], "<redacted>": 1}
    assert (line["count"], line["ok"], line["none"]) == (3, True, None)


def test_config_secrets_reach_the_redactor() -> None:
    """What the service does (start, reload): REDACTOR.secrets = config.secret_values."""
    text = """\
components: [{id: api, name: API}]
checks:
  - id: api
    component: api
    url: https://api.example.com/health?token=${QUERY_TOK}
    headers: {Authorization: "Bearer ${SECRET_TOK}", User-Agent: prober-agent}
webhooks:
  - {id: chat, url: "${SLACK_WEBHOOK_URL}", kind: slack}
"""
    config = parse_config(
        text,
        "t",
        {
            "QUERY_TOK": "q-token-0042",
            "SECRET_TOK": "hunter2XYZ",
            "SLACK_WEBHOOK_URL": "https://hooks.example/T0/sl4ck",
        },
    )

    def emit(log: Any) -> None:
        log.warning(
            "probe_failed",
            detail='json status: got "hunter2XYZ"',
            url="https://api.example.com/health?token=q-token-0042",
            hook="https://hooks.example/T0/sl4ck",
            agent="prober-agent",
        )

    out = _log_with(config.secret_values, "json", emit)
    line = json.loads(out)
    assert line["detail"] == 'json status: got "<redacted>"'
    assert "q-token-0042" not in out and "sl4ck" not in out and "hunter2XYZ" not in out
    assert line["agent"] == "prober-agent"  # literal values are not secrets


def test_throttle_lets_one_line_per_key_per_period_and_counts_the_rest() -> None:
    t = logs.Throttle(every=60.0)
    assert t.allow("api", 0.0) == 0
    assert t.allow("api", 10.0) is None
    assert t.allow("api", 59.0) is None
    assert t.allow("billing", 10.0) == 0  # keys are independent
    assert t.allow("api", 61.0) == 2  # two lines held back since the last one
    assert t.allow("api", 62.0) is None
    t.forget({"billing"})
    assert t.allow("api", 63.0) == 0  # a removed check starts afresh


def test_library_logs_such_as_aiohttp_errors_go_through_structlog_and_the_redactor() -> None:
    import logging

    out = io.StringIO()
    logs.configure("json", stream=out)
    logs.REDACTOR.secrets = frozenset({"s3cr3t-token"})
    try:
        try:
            _fail("s3cr3t-token")
        except RuntimeError:
            logging.getLogger("aiohttp.server").exception("Error handling request")
    finally:
        logs.REDACTOR.secrets = frozenset()
        root = logging.getLogger()
        for h in [h for h in root.handlers if type(h).__name__ == "_ToStructlog"]:
            root.removeHandler(h)
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["event"] == "library_log" and line["logger"] == "aiohttp.server"
    assert line["message"] == "Error handling request" and line["level"] == "error"
    assert "RuntimeError" in line["exception"] and "s3cr3t-token" not in out.getvalue()
