"""Per-check metric families, kept in plain Python state and rendered as text directly.

At 10,000 checks a prometheus_client Histogram per check costs ~1.6 s per scrape. Here each
check's state is a few ints and floats updated in `record()`, its label strings are escaped
once, and its exposition lines are rendered lazily: only checks that recorded a round since
the last scrape are re-rendered, the rest reuse their cached text.

Families (docs/METRICS.md, "Probes"): prober_probes_total, prober_probe_duration_seconds,
prober_probe_phase_seconds, prober_check_up, prober_check_last_success_timestamp_seconds,
prober_check_last_status_code, prober_check_tls_cert_expiry_timestamp_seconds.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prober.config.model import Check
from prober.probes.result import PHASES, ProbeResult

DURATION_BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# (name, type, help) in exposition order; index = position in a series' cached text tuple.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("prober_probes_total", "counter", "Probe requests finished, by result reason."),
    ("prober_probe_duration_seconds", "histogram", "Whole-request latency of probe requests."),
    ("prober_probe_phase_seconds", "gauge", "Duration of each phase of the last probe request."),
    ("prober_check_up", "gauge", "1 when every request of the check's last round succeeded."),
    (
        "prober_check_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful probe request.",
    ),
    (
        "prober_check_last_status_code",
        "gauge",
        "HTTP status code of the last response (0 when there was none).",
    ),
    (
        "prober_check_tls_cert_expiry_timestamp_seconds",
        "gauge",
        "Unix time when the target's leaf certificate expires.",
    ),
)
_HEADERS = tuple(f"# HELP {n} {h}\n# TYPE {n} {t}\n" for n, t, h in FAMILIES)
_EMPTY = ("",) * len(FAMILIES)


def escape_label(value: str) -> str:
    """Escape a label value for the text format."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def fmt(value: float) -> str:
    """A sample value as the text format spells it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


_LE = (*(repr(b) for b in DURATION_BUCKETS), "+Inf")


class CheckSeries:
    """Counters and last values of one check; `text()` renders its lines per family."""

    __slots__ = (
        "_bucket_prefixes",
        "_text",
        "buckets",
        "cert_expiry",
        "check_id",
        "component",
        "count",
        "dirty",
        "dur_sum",
        "labels",
        "last_code",
        "last_success",
        "phases",
        "reasons",
        "up",
    )

    def __init__(self, check_id: str, component: str) -> None:
        self.check_id = check_id
        self.component = component
        self.labels = f'check="{escape_label(check_id)}",component="{escape_label(component)}"'
        self._bucket_prefixes = tuple(
            f'prober_probe_duration_seconds_bucket{{{self.labels},le="{le}"}} ' for le in _LE
        )
        self.reasons: dict[str, int] = {"ok": 0}
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # last one: above the top bound
        self.dur_sum = 0.0
        self.count = 0
        self.up: bool | None = None
        self.last_success: float | None = None
        self.last_code: int | None = None
        self.phases: dict[str, float] = {}
        self.cert_expiry: float | None = None
        self.dirty = True
        self._text: tuple[str, ...] = _EMPTY

    def record(self, results: Sequence[ProbeResult]) -> None:
        reasons = self.reasons
        buckets = self.buckets
        up = bool(results)
        for r in results:
            reason = r.reason.value
            reasons[reason] = reasons.get(reason, 0) + 1
            buckets[bisect_left(DURATION_BUCKETS, r.duration)] += 1
            self.dur_sum += r.duration
            if r.reason.value == "ok":
                if self.last_success is None or r.at > self.last_success:
                    self.last_success = r.at
            else:
                up = False
            if r.cert_expiry is not None:
                self.cert_expiry = r.cert_expiry
        self.count += len(results)
        self.up = up
        if results:
            last = results[-1]
            self.last_code = last.status_code or 0
            self.phases = last.phases
        self.dirty = True

    def text(self) -> tuple[str, ...]:
        """This check's lines for each family in FAMILIES (cached until the next record)."""
        if not self.dirty:
            return self._text
        lbl = self.labels
        probes = "".join(
            f'prober_probes_total{{{lbl},reason="{reason}"}} {n}\n'
            for reason, n in self.reasons.items()
        )
        cum = 0
        parts = []
        for prefix, n in zip(self._bucket_prefixes, self.buckets, strict=True):
            cum += n
            parts.append(f"{prefix}{cum}\n")
        parts.append(f"prober_probe_duration_seconds_sum{{{lbl}}} {fmt(self.dur_sum)}\n")
        parts.append(f"prober_probe_duration_seconds_count{{{lbl}}} {self.count}\n")
        duration = "".join(parts)
        cid = lbl[: lbl.index(",")]  # check="..."
        phases = "".join(
            f'prober_probe_phase_seconds{{{cid},phase="{p}"}} {fmt(self.phases[p])}\n'
            for p in PHASES
            if p in self.phases
        )
        up = "" if self.up is None else f"prober_check_up{{{lbl}}} {int(self.up)}\n"
        success = (
            ""
            if self.last_success is None
            else f"prober_check_last_success_timestamp_seconds{{{lbl}}} {fmt(self.last_success)}\n"
        )
        code = (
            ""
            if self.last_code is None
            else f"prober_check_last_status_code{{{lbl}}} {self.last_code}\n"
        )
        cert = (
            ""
            if self.cert_expiry is None
            else f"prober_check_tls_cert_expiry_timestamp_seconds{{{lbl}}} "
            f"{fmt(self.cert_expiry)}\n"
        )
        self._text = (probes, duration, phases, up, success, code, cert)
        self.dirty = False
        return self._text


class CheckSeriesTable:
    """All checks' series. Once `set_checks` ran, only configured checks are recorded."""

    def __init__(self) -> None:
        self._series: dict[str, CheckSeries] = {}
        self._configured = False

    def __len__(self) -> int:
        return len(self._series)

    def set_checks(self, checks: Iterable[Check]) -> None:
        """Keep series of checks whose id and component are unchanged; drop the rest."""
        old = self._series
        new: dict[str, CheckSeries] = {}
        for check in checks:
            series = old.get(check.id)
            if series is None or series.component != check.component:
                series = CheckSeries(check.id, check.component)
            new[check.id] = series
        self._series = new
        self._configured = True

    def record(self, check: Check, results: Sequence[ProbeResult]) -> None:
        series = self._series.get(check.id)
        if series is None or series.component != check.component:
            if self._configured:
                return  # a late round of a check a reload removed: keep its series gone
            series = self._series[check.id] = CheckSeries(check.id, check.component)
        series.record(results)

    def render(self) -> str:
        texts = [s.text() for s in self._series.values()]
        out: list[str] = []
        for i, header in enumerate(_HEADERS):
            out.append(header)
            out.extend([t[i] for t in texts])
        return "".join(out)
