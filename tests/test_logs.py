from __future__ import annotations

import io
import json

from prober import logs


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
