"""blackbox_exporter alert rules, expressions unchanged, fire on prober's compatible families.

The promtool unit test's input series are not written by hand: they are prober's own
exposition (`Metrics(options=MetricsOptions(blackbox=True))`), rendered once per simulated
minute while the checks' rounds are recorded, parsed, and labelled with `job` as Prometheus
adds it to a `honor_labels: true` scrape (docs/METRICS.md, "Migrating from blackbox_exporter").
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from prober.config.model import Check
from prober.metrics import Metrics, MetricsOptions
from prober.probes.result import ProbeResult, Reason

RULES = Path(__file__).resolve().parent / "blackbox.rules.yaml"
JOB = "blackbox-exporter"
T0 = 1_780_000_000.0  # promtool's clock starts at 0; prober's at T0
MINUTES = 12
DAY = 86400


def _checks() -> dict[str, Check]:
    return {
        "api-health": Check(id="api-health", component="api", url="https://api.test/health"),
        "billing": Check(id="billing", component="billing", url="http://billing.test/health"),
        "search": Check(id="search", component="search", url="http://search.test/q"),
        "login": Check(id="login", component="auth", url="https://login.test/"),
    }


def _round(check: Check, minute: int) -> list[ProbeResult]:
    at = T0 + minute * 60
    phases = {"dns": 0.001, "connect": 0.002, "processing": 0.05, "transfer": 0.001}
    if check.id == "billing" and minute >= 3:  # starts answering 503
        return [
            ProbeResult(check.id, check.component, at, Reason.HTTP_5XX, 0.08, 503, phases=phases)
        ]
    duration = 2.5 if check.id == "search" and minute >= 5 else 0.06  # gets slow
    # promtool evaluates time() from 0: expiry timestamps are relative to its clock
    cert = {"api-health": 10 * DAY, "login": 90 * DAY}.get(check.id)
    return [
        ProbeResult(
            check.id,
            check.component,
            at,
            Reason.OK,
            duration,
            200,
            phases=phases,
            cert_expiry=float(cert) if cert else None,
        )
    ]


def _input_series() -> list[dict[str, str]]:
    checks = _checks()
    m = Metrics(CollectorRegistry(), options=MetricsOptions(blackbox=True))
    m.set_checks(checks.values())
    values: dict[str, list[str]] = defaultdict(list)
    for minute in range(MINUTES + 1):
        for check in checks.values():
            m.record_round(check, _round(check, minute), 0.0)
        for family in text_string_to_metric_families(m.render().decode()):
            if not family.name.startswith("probe_"):
                continue
            for s in family.samples:
                labels = {"job": JOB, **s.labels}
                inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                values[f"{s.name}{{{inner}}}"].append(repr(float(s.value)))
    return [{"series": k, "values": " ".join(v)} for k, v in sorted(values.items())]


def _alert(name: str, instance: str, severity: str, summary: str) -> dict[str, object]:
    return {
        "exp_labels": {"job": JOB, "instance": instance, "check": instance, "severity": severity},
        "exp_annotations": {"summary": summary},
    }


def test_blackbox_rules_fire_on_prober_families(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is required (Debian package prometheus)"
    series = _input_series()
    names = {s["series"].split("{")[0] for s in series}
    assert {
        "probe_success",
        "probe_http_status_code",
        "probe_ssl_earliest_cert_expiry",
        "probe_duration_seconds",
        "probe_http_duration_seconds",
    } <= names
    at = f"{MINUTES}m"
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "2m", "alertname": "BlackboxProbeFailed", "exp_alerts": []},
                    {
                        "eval_time": at,
                        "alertname": "BlackboxProbeFailed",
                        "exp_alerts": [
                            _alert(
                                "BlackboxProbeFailed",
                                "billing",
                                "critical",
                                "Probe failed for billing",
                            )
                        ],
                    },
                    {
                        "eval_time": at,
                        "alertname": "BlackboxProbeHttpFailure",
                        "exp_alerts": [
                            _alert(
                                "BlackboxProbeHttpFailure",
                                "billing",
                                "critical",
                                "HTTP status 503 from billing",
                            )
                        ],
                    },
                    {
                        "eval_time": at,
                        "alertname": "BlackboxLowUptime30d",
                        "exp_alerts": [
                            _alert(
                                "BlackboxLowUptime30d",
                                "billing",
                                "info",
                                "Uptime of billing below 99.9% over 30 days",
                            )
                        ],
                    },
                    {"eval_time": "4m", "alertname": "BlackboxSlowProbe", "exp_alerts": []},
                    {
                        "eval_time": at,
                        "alertname": "BlackboxSlowProbe",
                        "exp_alerts": [
                            _alert("BlackboxSlowProbe", "search", "warning", "Slow probe of search")
                        ],
                    },
                    {
                        "eval_time": at,
                        "alertname": "BlackboxSslCertificateWillExpireSoon",
                        "exp_alerts": [
                            _alert(
                                "BlackboxSslCertificateWillExpireSoon",
                                "api-health",
                                "warning",
                                "Certificate of api-health expires in 9d 23h 48m 0s",
                            )
                        ],
                    },
                    {
                        "eval_time": at,
                        "alertname": "BlackboxSslCertificateExpired",
                        "exp_alerts": [],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "blackbox.test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    out = subprocess.run(
        [promtool, "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_blackbox_rules_pass_promtool_check() -> None:
    out = subprocess.run(
        ["promtool", "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
