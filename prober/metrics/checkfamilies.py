"""The per-check metric families: their names, types, help, and which options expose them.

Plain definitions shared by the two renderers of the same state: the optimised one
(`prober.metrics.fastexpo`, what /metrics serves) and the plain prometheus_client one
(`prober.metrics.plainexpo`, the bench's baseline and the tests' reference).
"""

from __future__ import annotations

from dataclasses import dataclass

DURATION_BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# blackbox_exporter's names for the HTTP phases (its `probe_http_duration_seconds{phase}`)
BLACKBOX_PHASES = {
    "dns": "resolve",
    "connect": "connect",
    "tls": "tls",
    "processing": "processing",
    "transfer": "transfer",
}


@dataclass(frozen=True)
class MetricsOptions:
    """Opt-in per-check families (each multiplies the series count by the number of checks).

    detail: `prober_probe_duration_seconds` histogram, `prober_probe_phase_seconds` and
    `prober_check_last_status_code` per check (+18 series per check). blackbox: the
    `probe_*` families of blackbox_exporter (+11 series per check), so its alerts and
    dashboards work unchanged.
    """

    detail: bool = False
    blackbox: bool = False


@dataclass(frozen=True)
class Family:
    name: str
    type: str  # counter, gauge, histogram, info (a gauge of 1 in the 0.0.4 text format)
    help: str
    group: str = "lean"  # lean, detail or blackbox

    def header(self, openmetrics: bool) -> bytes:
        name, kind = self.name, self.type
        if openmetrics and kind == "counter":
            name = name.removesuffix("_total")
        elif openmetrics and kind == "info":
            name = name.removesuffix("_info")
        elif kind == "info":
            kind = "gauge"
        return f"# HELP {name} {self.help}\n# TYPE {name} {kind}\n".encode()


FAMILIES: tuple[Family, ...] = (
    Family("prober_check_info", "info", "Always 1; joins a check to its component."),
    Family("prober_probes_total", "counter", "Probe requests finished."),
    Family(
        "prober_probe_failures_total",
        "counter",
        "Probe requests that did not end ok (any reason but ok).",
    ),
    Family("prober_check_up", "gauge", "1 when every request of the check's last round succeeded."),
    Family(
        "prober_check_last_success_timestamp_seconds",
        "gauge",
        "Unix time (whole seconds) of the last successful probe request.",
    ),
    Family(
        "prober_check_last_status_code",
        "gauge",
        "HTTP status code of the last response (0 when there was none).",
        "detail",
    ),
    Family(
        "prober_check_tls_cert_expiry_timestamp_seconds",
        "gauge",
        "Unix time when the target's leaf certificate expires.",
    ),
    Family(
        "prober_probe_duration_seconds",
        "histogram",
        "Whole-request latency of probe requests.",
        "detail",
    ),
    Family(
        "prober_probe_phase_seconds",
        "gauge",
        "Duration of each phase of the last probe request.",
        "detail",
    ),
    Family(
        "probe_success",
        "gauge",
        "blackbox_exporter: 1 when the check's last round succeeded.",
        "blackbox",
    ),
    Family(
        "probe_duration_seconds",
        "gauge",
        "blackbox_exporter: duration of the last probe request.",
        "blackbox",
    ),
    Family(
        "probe_http_status_code",
        "gauge",
        "blackbox_exporter: HTTP status code of the last response (0: none).",
        "blackbox",
    ),
    Family(
        "probe_http_duration_seconds",
        "gauge",
        "blackbox_exporter: duration of each phase of the last request.",
        "blackbox",
    ),
    Family(
        "probe_dns_lookup_time_seconds",
        "gauge",
        "blackbox_exporter: DNS resolution time of the last request.",
        "blackbox",
    ),
    Family(
        "probe_http_ssl", "gauge", "blackbox_exporter: 1 when the check's URL uses TLS.", "blackbox"
    ),
    Family(
        "probe_ssl_earliest_cert_expiry",
        "gauge",
        "blackbox_exporter: Unix time when the leaf certificate expires.",
        "blackbox",
    ),
)
(
    F_INFO,
    F_PROBES,
    F_FAILURES,
    F_UP,
    F_SUCCESS,
    F_CODE,
    F_CERT,
    F_DURATION,
    F_PHASES,
    B_SUCCESS,
    B_DURATION,
    B_CODE,
    B_PHASES,
    B_DNS,
    B_SSL,
    B_CERT,
) = range(len(FAMILIES))


def enabled(options: MetricsOptions) -> tuple[int, ...]:
    """Indexes of the families these options expose, in exposition order."""
    groups = (
        {"lean"}
        | ({"detail"} if options.detail else set())
        | ({"blackbox"} if options.blackbox else set())
    )
    return tuple(i for i, f in enumerate(FAMILIES) if f.group in groups)


def escape_label(value: str) -> str:
    """Escape a label value for the text format."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
