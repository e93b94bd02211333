"""What one probe request produced: the observation the domain judges.

A probe never raises for a target failure. prober/probes/result.py re-exports these, so
the probes depend on the domain and not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Why a probe ended as it did: a small fixed set, safe as a metric label."""

    OK = "ok"
    HTTP_5XX = "http_5xx"
    UNEXPECTED_STATUS = "unexpected_status"
    TIMEOUT = "timeout"
    CONNECT = "connect"
    DNS = "dns"
    TLS = "tls"
    PROTOCOL = "protocol"
    BODY_TOO_LARGE = "body_too_large"
    REDIRECTS = "redirects"
    ASSERTION = "assertion"
    LATENCY = "latency"
    # Not from a probe: a component's real-traffic 5xx share from Prometheus crossed into
    # the status window (prober/signals/traffic.py).
    TRAFFIC_5XX = "traffic_5xx"


PHASES: tuple[str, ...] = ("dns", "connect", "tls", "processing", "transfer")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    check_id: str
    component: str
    at: float  # wall-clock epoch seconds when the request started
    reason: Reason
    duration: float  # seconds, whole request
    status_code: int | None = None
    # A human explanation: "status 503, expected 200-299". Never contains secrets.
    detail: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # keys from PHASES
    cert_expiry: float | None = None  # epoch seconds of the leaf certificate's notAfter

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK
