"""Per-check metric families, kept in plain Python state and rendered as text directly.

At 10,000 checks a prometheus_client Histogram per check costs ~1.6 s per scrape. Here:

- each check's state is a few ints and floats updated in `record()` (the duration
  histogram is kept cumulative, so rendering needs no arithmetic);
- checks are grouped in blocks of BLOCK checks; for each block and family a bytes
  `%`-template holds every line with its pre-escaped labels and a placeholder per value;
- a scrape gathers each block's values into one tuple and formats the whole block with a
  single `template % values`, so the per-sample work happens in C;
- a block's template is rebuilt only when the *shape* of one of its checks changed (a new
  reason seen, a first success, a different set of phases), which is rare after warm-up.

Families (docs/METRICS.md, "Probes"): prober_probes_total, prober_probe_duration_seconds,
prober_probe_phase_seconds, prober_check_up, prober_check_last_success_timestamp_seconds,
prober_check_last_status_code, prober_check_tls_cert_expiry_timestamp_seconds.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prober.config.model import Check
from prober.probes.result import PHASES, ProbeResult

DURATION_BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BLOCK = 256

# (name, type, help) in exposition order; F_* index them.
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
F_PROBES, F_DURATION, F_PHASES, F_UP, F_SUCCESS, F_CODE, F_CERT = range(len(FAMILIES))
ALL_SHAPES = (1 << len(FAMILIES)) - 1
_HEADERS = tuple(f"# HELP {n} {h}\n# TYPE {n} {t}\n".encode() for n, t, h in FAMILIES)
_LE = (*(repr(b) for b in DURATION_BUCKETS), "+Inf")


def _fixed(seconds: float) -> tuple[int, int]:
    """Seconds as (whole, microseconds): formatted as `%d.%06d`, much cheaper than repr."""
    return divmod(round(seconds * 1_000_000), 1_000_000)


def escape_label(value: str) -> str:
    """Escape a label value for the text format."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class CheckSeries:
    """Counters and last values of one check."""

    __slots__ = (
        "block",
        "cert_expiry",
        "check_id",
        "component",
        "dur_us",
        "hist",
        "id_label",
        "labels",
        "last_code",
        "last_success",
        "phase_keys",
        "phase_values",
        "reasons",
        "shape",
        "success_fixed",
        "up",
    )

    def __init__(self, check_id: str, component: str) -> None:
        self.check_id = check_id
        self.component = component
        # pre-escaped for the text format, and for `%` templates
        id_label = f'check="{escape_label(check_id)}"'
        self.id_label = id_label.replace("%", "%%")
        self.labels = f'{id_label},component="{escape_label(component)}"'.replace("%", "%%")
        self.reasons: dict[str, int] = {"ok": 0}
        # Every value is kept as ints ready for the template; seconds as (whole, micros).
        # hist: cumulative bucket counts (le=... then +Inf), the sum (2 ints), the count
        # an array, not a list: the GC never scans it
        self.hist = array("q", [0] * (len(DURATION_BUCKETS) + 4))
        self.dur_us = 0
        self.up: int | None = None
        self.last_success: float | None = None
        self.success_fixed: tuple[int, int] = (0, 0)
        self.last_code: int | None = None
        self.phase_keys: tuple[str, ...] = ()
        self.phase_values: tuple[int, ...] = ()  # (whole, micros) per phase, flattened
        self.cert_expiry: int | None = None
        self.shape = 0  # bit F set: this family's template lines changed (a new shape)
        self.block: Block | None = None

    def record(self, results: Sequence[ProbeResult]) -> None:
        reasons = self.reasons
        hist = self.hist
        top = len(DURATION_BUCKETS) + 1
        up = 1 if results else 0
        for r in results:
            reason = r.reason.value
            if reason in reasons:
                reasons[reason] += 1
            else:
                reasons[reason] = 1
                self.shape |= 1 << F_PROBES
            duration = r.duration if math.isfinite(r.duration) and r.duration > 0 else 0.0
            for i in range(bisect_left(DURATION_BUCKETS, duration), top):
                hist[i] += 1
            self.dur_us += round(duration * 1_000_000)
            hist[top + 2] += 1
            if reason == "ok":
                if self.last_success is None:
                    self.shape |= 1 << F_SUCCESS
                    self.last_success = r.at
                    self.success_fixed = _fixed(r.at)
                elif r.at > self.last_success:
                    self.last_success = r.at
                    self.success_fixed = _fixed(r.at)
            else:
                up = 0
            if r.cert_expiry is not None and math.isfinite(r.cert_expiry):
                if self.cert_expiry is None:
                    self.shape |= 1 << F_CERT
                self.cert_expiry = int(r.cert_expiry)
        hist[top], hist[top + 1] = divmod(self.dur_us, 1_000_000)
        if self.up is None:
            self.shape |= (1 << F_UP) | (1 << F_CODE)
        self.up = up
        if results:
            last = results[-1]
            self.last_code = last.status_code or 0
            phases = last.phases
            keys = tuple(p for p in PHASES if p in phases and 0 <= phases[p] < math.inf)
            if keys != self.phase_keys:
                self.phase_keys = keys
                self.shape |= 1 << F_PHASES
            values: list[int] = []
            for p in keys:
                values.extend(_fixed(phases[p]))
            self.phase_values = tuple(values)
        elif self.last_code is None:
            self.last_code = 0
        if self.shape:
            if self.block is not None:
                self.block.shape |= self.shape
            self.shape = 0

    def template(self, family: int) -> str:
        """This check's lines of one family, with a `%` placeholder per value."""
        lbl = self.labels
        if family == F_PROBES:
            return "".join(
                f'prober_probes_total{{{lbl},reason="{reason}"}} %d\n' for reason in self.reasons
            )
        if family == F_DURATION:
            lines = [f'prober_probe_duration_seconds_bucket{{{lbl},le="{le}"}} %d\n' for le in _LE]
            lines.append(f"prober_probe_duration_seconds_sum{{{lbl}}} %d.%06d\n")
            lines.append(f"prober_probe_duration_seconds_count{{{lbl}}} %d\n")
            return "".join(lines)
        if family == F_PHASES:
            return "".join(
                f'prober_probe_phase_seconds{{{self.id_label},phase="{p}"}} %d.%06d\n'
                for p in self.phase_keys
            )
        present, line = {
            F_UP: (self.up, "prober_check_up{%s} %%d\n"),
            F_SUCCESS: (
                self.last_success,
                "prober_check_last_success_timestamp_seconds{%s} %%d.%%06d\n",
            ),
            F_CODE: (self.last_code, "prober_check_last_status_code{%s} %%d\n"),
            F_CERT: (self.cert_expiry, "prober_check_tls_cert_expiry_timestamp_seconds{%s} %%d\n"),
        }[family]
        return "" if present is None else line % lbl


def _gather(family: int, block: list[CheckSeries]) -> tuple[int, ...]:
    """The values of one family for a block, in template order."""
    values: list[int] = []
    if family == F_PROBES:
        for s in block:
            values.extend(s.reasons.values())
    elif family == F_DURATION:
        for s in block:
            values.extend(s.hist)
    elif family == F_PHASES:
        for s in block:
            values.extend(s.phase_values)
    elif family == F_UP:
        values = [s.up for s in block if s.up is not None]
    elif family == F_SUCCESS:
        for s in block:
            if s.last_success is not None:
                values.extend(s.success_fixed)
    elif family == F_CODE:
        values = [s.last_code for s in block if s.last_code is not None]
    else:
        values = [s.cert_expiry for s in block if s.cert_expiry is not None]
    return tuple(values)


class Block:
    """Up to BLOCK checks rendered together: one `%`-template per family."""

    __slots__ = ("series", "shape", "templates")

    def __init__(self, series: list[CheckSeries]) -> None:
        self.series = series
        self.shape = ALL_SHAPES  # families whose template must be rebuilt
        self.templates: list[bytes] = [b""] * len(FAMILIES)
        for s in series:
            s.block = self
            s.shape = 0

    def render(self, family: int) -> bytes:
        """This block's lines of one family. Synchronous, so template and values agree."""
        if self.shape >> family & 1:
            self.templates[family] = "".join(s.template(family) for s in self.series).encode()
            self.shape &= ~(1 << family)
        template = self.templates[family]
        return template % _gather(family, self.series) if template else b""


class CheckSeriesTable:
    """All checks' series. Once `set_checks` ran, only configured checks are recorded."""

    def __init__(self) -> None:
        self._series: dict[str, CheckSeries] = {}
        self._configured = False
        self._blocks: list[Block] = []

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
        for gone in old.values():
            if new.get(gone.check_id) is not gone:
                gone.block = None
        self._series = new
        self._configured = True
        self._reblock()

    def record(self, check: Check, results: Sequence[ProbeResult]) -> None:
        series = self._series.get(check.id)
        if series is None or series.component != check.component:
            if self._configured:
                return  # a late round of a check a reload removed: keep its series gone
            series = self._series[check.id] = CheckSeries(check.id, check.component)
            self._reblock()
        series.record(results)

    def _reblock(self) -> None:
        series = list(self._series.values())
        self._blocks = [Block(series[i : i + BLOCK]) for i in range(0, len(series), BLOCK)]

    def steps(self) -> Iterator[bytes]:
        """The exposition in chunks, one family of one block each.

        Between two chunks the caller may yield to the event loop (see
        `Metrics.render_async`): each chunk is internally consistent; a reload meanwhile
        leaves this scrape on the blocks it started with.
        """
        blocks = self._blocks
        for family, header in enumerate(_HEADERS):
            yield header
            for block in blocks:
                yield block.render(family)

    def render(self) -> list[bytes]:
        return list(self.steps())
