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
