"""What the operator declared, as the domain consumes it: plain frozen value types.

`prober.config` builds these from checks.yaml (`parse_config`, re-exported by
prober/config/model.py); the domain only reads them, so the dependency points inward and
importing the engine loads no YAML. Everything here is already checked: durations are
seconds (float), regexes are compiled, references resolve. Equality is structural, so a
reload can tell unchanged checks apart.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

# Expansions of ${VAR} shorter than this are not redacted: they would blank ordinary
# text (see prober/config/secrets.py).
MIN_SECRET_LENGTH = 4


def keep(values: Iterable[str]) -> frozenset[str]:
    """The values long enough to be treated as secrets (MIN_SECRET_LENGTH or more)."""
    return frozenset(v for v in values if len(v) >= MIN_SECRET_LENGTH)


# Probe reasons that count as failures for component status unless configured otherwise.
DEFAULT_FAILURE_REASONS: frozenset[str] = frozenset(
    {"http_5xx", "timeout", "connect", "dns", "tls", "protocol", "body_too_large", "traffic_5xx"}
)


@dataclass(frozen=True)
class StatusRange:
    """An inclusive range of HTTP status codes; a single code has low == high."""

    low: int
    high: int

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and self.low <= code <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class JsonExpectation:
    """`path` is a dotted path into the JSON body (`data.items.0.state`); `equals` its value."""

    path: str
    equals: object


@dataclass(frozen=True)
class Expectations:
    status: tuple[StatusRange, ...] = (StatusRange(200, 299),)
    body_contains: tuple[str, ...] = ()
    body_regex: tuple[re.Pattern[str], ...] = ()
    json: tuple[JsonExpectation, ...] = ()
    max_latency: float | None = None  # seconds


@dataclass(frozen=True)
class TLSOptions:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class EgressPolicy:
    """Networks a probe may connect to: none of `deny`, and one of `allow` when given."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()

    def permits(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.deny):
            return False
        return not self.allow or any(ip in net for net in self.allow)


@dataclass(frozen=True)
class Check:
    id: str
    component: str
    url: str
    method: str = "GET"
    # Headers, body and URL may hold secrets expanded from ${VAR}: never log or export them.
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    interval: float = 15.0
    timeout: float = 5.0
    expect: Expectations = field(default_factory=Expectations)
    tls: TLSOptions = field(default_factory=TLSOptions)
    follow_redirects: bool = True
    max_redirects: int = 10
    max_body_bytes: int = 1024 * 1024  # decoded body
    requests_per_round: int = 1
    fresh_connection: bool = True
    egress: EgressPolicy | None = None  # None: any address
    proxy: str | None = None  # "env" or an http:// proxy URL; None: direct
    # 1-based position of the check's mapping in checks.yaml, for error messages and docs.
    line: int = 0
    # What the ${VAR}s of this check (and of the defaults it inherits) expanded to: its
    # secrets. Derived from the fields above, so it takes no part in equality.
    expanded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    # Lower-cased names of the headers whose value holds a ${VAR} expansion: never sent
    # to another origin on a redirect.
    secret_headers: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The check's secrets that are long enough to redact (see prober.config.secrets),
        longest first. Literal values written in checks.yaml are not secrets."""
        return tuple(sorted(keep(self.expanded), key=lambda v: (-len(v), v)))


@dataclass(frozen=True)
class StatusPolicy:
    """How a component's failure ratio becomes a status (see docs/CONFIGURATION.md)."""

    window: float = 300.0  # sliding window, seconds
    min_samples: int = 20  # samples a trailing window needs to show a level is left
    degraded: float = 0.05
    partial: float = 0.25
    major: float = 0.50
    # No effect since issue 11 (exits are symmetric, see prober/domain/state.py); kept so
    # that older files load.
    exit_factor: float = 0.5
    # A level is left once the rate has been below its threshold this long (seconds).
    recovery_time: float = 60.0
    # This many consecutive failing rounds, every probe failing, give major_outage at once,
    # whatever min_samples says (fast escalation).
    failing_rounds_for_major: int = 2
    failure_reasons: frozenset[str] = DEFAULT_FAILURE_REASONS
    latency_percentile: float = 0.95
    latency_threshold: float | None = None  # seconds; above it: degraded_performance


@dataclass(frozen=True)
class TrafficSignal:
    """A component's real-traffic 5xx share from Prometheus (docs/CONFIGURATION.md)."""

    prometheus: str  # base URL of the Prometheus HTTP API; may hold credentials: a secret
    ratio: str  # PromQL: the share of requests that failed, 0 to 1
    requests: str  # PromQL: requests per second (below min_request_rate: no data)
    interval: float = 30.0
    min_request_rate: float = 1.0
    mode: str = "worst"  # probes and traffic judged apart, the worse shows; or "traffic_only"


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    group: str | None = None
    description: str | None = None
    policy: StatusPolicy = field(default_factory=StatusPolicy)
    line: int = 0
    traffic: TrafficSignal | None = None


@dataclass(frozen=True)
class WeeklyRecurrence:
    days: tuple[int, ...]  # 0 = Monday ... 6 = Sunday
    start: time
    duration: float  # seconds
    timezone: str = "UTC"


@dataclass(frozen=True)
class Maintenance:
    id: str
    name: str
    components: tuple[str, ...]
    start: datetime | None = None  # one-off: aware datetimes
    end: datetime | None = None
    weekly: WeeklyRecurrence | None = None
    description: str | None = None


@dataclass(frozen=True)
class IncidentPolicy:
    quiet_period: float = 600.0  # monitoring -> resolved after this long without relapse
    min_update_spacing: float = 60.0  # coalesce automatic updates closer than this
    per_group: bool = False  # one incident per component group instead of one per episode
    title_template: str = "Elevated {reason} on {components}"


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    kind: str = "json"  # "json" (HMAC-signed) or "slack"
    secret: str | None = None  # HMAC key; a secret
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 5.0
    max_attempts: int = 8


@dataclass(frozen=True)
class Page:
    name: str = "Status"
    url: str | None = None  # public base URL, for shortlinks and the feed
    time_zone: str = "UTC"
    refresh: float = 60.0  # seconds between page reloads (<meta http-equiv=refresh>); 0: off


@dataclass(frozen=True)
class IncidentTemplate:
    """A prepared human incident (`incident_templates:`); values are Statuspage words."""

    id: str
    name: str
    body: str
    status: str = "investigating"
    impact: str | None = None  # None: from the worst component status
    components: tuple[tuple[str, str], ...] = ()  # (component id, component status)


CANARY_COMPONENT = "-network"  # the component of canary checks: no valid id, never shown


@dataclass(frozen=True)
class Network:
    """Evidence of prober's own connectivity (see docs/CONFIGURATION.md#network)."""

    # Reference targets on other networks, probed only to tell prober's own network loss
    # from a total outage of the targets; any HTTP answer is a working network.
    canaries: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Distributed:
    """Probe agents in several locations (`distributed:`, docs/CONFIGURATION.md)."""

    locations: tuple[str, ...] = ()  # expected locations: no data until they report
    quorum: int = 0  # locations that must see a failure; 0: a majority of the reporting ones
    location_timeout: float = 60.0  # a location silent this long is no data
    settle: float = 2.0  # how long past a round's timeout late locations are waited for


@dataclass(frozen=True)
class Config:
    page: Page
    components: tuple[Component, ...]
    checks: tuple[Check, ...]
    maintenances: tuple[Maintenance, ...] = ()
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)
    webhooks: tuple[Webhook, ...] = ()
    incident_templates: tuple[IncidentTemplate, ...] = ()
    network: Network = field(default_factory=Network)
    distributed: Distributed = field(default_factory=Distributed)
    source: str = "<string>"
    # What every ${VAR} in the file expanded to (TLS paths and durations aside).
    expanded: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def component(self, component_id: str) -> Component:
        for c in self.components:
            if c.id == component_id:
                return c
        raise KeyError(component_id)

    @property
    def probed(self) -> tuple[Check, ...]:
        """Everything the runner probes: the checks and the network canaries."""
        return self.checks + self.network.canaries

    def checks_of(self, component_id: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.component == component_id)

    @property
    def secret_values(self) -> frozenset[str]:
        """Every value a ${VAR} expanded to (in checks, webhooks - their URL, secret and
        headers - or anywhere else) plus each webhook's HMAC secret, long enough to redact
        (see prober.config.secrets)."""
        values: set[str] = set(self.expanded)
        for check in self.checks:
            values.update(check.expanded)
        values.update(hook.secret for hook in self.webhooks if hook.secret)
        return keep(values)
