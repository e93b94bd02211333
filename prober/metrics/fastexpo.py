"""OPTIMISATION (docs/PERFORMANCE.md, ledger lines "fastexpo" and "fastexpo-yield"): the
per-check families kept in plain Python state and rendered to text directly, instead of a
prometheus_client Collector per scrape (`prober.metrics.plainexpo`, the plain alternative,
which renders the same state to the same samples; `python bench/metrics_render.py` times
both).

At 10,000 checks prometheus_client's metric objects and generic renderer take tens of times
the CPU per scrape (the ledger has the figure). Here:

- each check's state is a few ints and floats updated in `record()`;
- checks are grouped in blocks of BLOCK checks; for each block and family a bytes
  `%`-template holds every line with its pre-escaped labels and a placeholder per value;
- a scrape gathers each block's values into one tuple and formats the whole block with a
  single `template % values`, so the per-sample work happens in C;
- a block's template is rebuilt only when the *shape* of one of its checks changed (a first
  round, a first success, a different set of phases), which is rare after warm-up.

`render_yielding` ("fastexpo-yield") hands the event loop back between chunks, so a scrape
never holds the probing loop for the whole render; the plain alternative is the blocking
`render()` (`python bench/scheduler_lag.py` with and without `--sync-render`).

The families themselves (names, help, lean/detail/blackbox) are in
`prober.metrics.checkfamilies`; docs/METRICS.md lists them all.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prober.config.model import Check
from prober.metrics.checkfamilies import (
    B_CERT,
    B_CODE,
    B_DNS,
    B_DURATION,
    B_PHASES,
    B_SSL,
    B_SUCCESS,
    BLACKBOX_PHASES,
    DURATION_BUCKETS,
    F_CERT,
    F_CODE,
    F_DURATION,
    F_FAILURES,
    F_INFO,
    F_PHASES,
    F_PROBES,
    F_SUCCESS,
    F_UP,
    FAMILIES,
    MetricsOptions,
    enabled,
    escape_label,
)
from prober.probes.result import PHASES, ProbeResult

BLOCK = 256

ALL_SHAPES = (1 << len(FAMILIES)) - 1
FIRST_ROUND = (1 << F_UP) | (1 << F_CODE) | (1 << B_SUCCESS) | (1 << B_DURATION) | (1 << B_CODE)
PHASE_SHAPES = (1 << F_PHASES) | (1 << B_PHASES) | (1 << B_DNS)
CERT_SHAPES = (1 << F_CERT) | (1 << B_CERT)
_LE = (*(repr(b) for b in DURATION_BUCKETS), "+Inf")


def _fixed(seconds: float) -> tuple[int, int]:
    """Seconds as (whole, microseconds): formatted as `%d.%06d`, much cheaper than repr."""
    return divmod(round(seconds * 1_000_000), 1_000_000)


class CheckSeries:
    """Counters and last values of one check."""

    __slots__ = (
        "bb_labels",
        "block",
        "cert_expiry",
        "check_id",
        "component",
        "dur_us",
        "failures",
        "hist",
        "id_label",
        "info_labels",
        "last_code",
        "last_duration",
        "last_success",
        "phase_keys",
        "phase_values",
        "shape",
        "tls",
        "up",
    )

    def __init__(self, check_id: str, component: str, tls: bool = False) -> None:
        self.check_id = check_id
        self.component = component
        self.tls = tls
        # pre-escaped for the text format, and for `%` templates
        cid = escape_label(check_id)
        self.id_label = f'check="{cid}"'.replace("%", "%%")
        self.info_labels = f'check="{cid}",component="{escape_label(component)}"'.replace("%", "%%")
        self.bb_labels = f'instance="{cid}",check="{cid}"'.replace("%", "%%")
        self.failures = 0
        # cumulative bucket counts (le=... then +Inf), the sum (2 ints), the count;
        # an array, not a list: the GC never scans it
        self.hist = array("q", [0] * (len(DURATION_BUCKETS) + 4))
        self.dur_us = 0
        self.up: int | None = None
        self.last_success: int | None = None
        self.last_code: int | None = None
        self.last_duration: tuple[int, int] = (0, 0)
        self.phase_keys: tuple[str, ...] = ()
        self.phase_values: tuple[int, ...] = ()  # (whole, micros) per phase, flattened
        self.cert_expiry: int | None = None
        self.shape = 0  # bit F set: this family's template lines changed (a new shape)
        self.block: Block | None = None

    def record(self, results: Sequence[ProbeResult]) -> None:
        hist = self.hist
        top = len(DURATION_BUCKETS) + 1
        up = 1 if results else 0
        for r in results:
            duration = r.duration if math.isfinite(r.duration) and r.duration > 0 else 0.0
            for i in range(bisect_left(DURATION_BUCKETS, duration), top):
                hist[i] += 1
            self.dur_us += round(duration * 1_000_000)
            hist[top + 2] += 1
            if r.reason.value == "ok":
                at = int(r.at)
                if self.last_success is None:
                    self.shape |= 1 << F_SUCCESS
                    self.last_success = at
                elif at > self.last_success:
                    self.last_success = at
            else:
                up = 0
                self.failures += 1
            if r.cert_expiry is not None and math.isfinite(r.cert_expiry):
                if self.cert_expiry is None:
                    self.shape |= CERT_SHAPES
                self.cert_expiry = int(r.cert_expiry)
        hist[top], hist[top + 1] = divmod(self.dur_us, 1_000_000)
        if self.up is None:
            self.shape |= FIRST_ROUND
        self.up = up
        if results:
            last = results[-1]
            self.last_code = last.status_code or 0
            d = last.duration
            self.last_duration = _fixed(d if math.isfinite(d) and d > 0 else 0.0)
            phases = last.phases
            keys = tuple(p for p in PHASES if p in phases and 0 <= phases[p] < math.inf)
            if keys != self.phase_keys:
                self.phase_keys = keys
                self.shape |= PHASE_SHAPES
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
        lbl, bb = self.id_label, self.bb_labels
        if family == F_INFO:
            return f"prober_check_info{{{self.info_labels}}} 1\n"
        if family == F_PROBES:
            return f"prober_probes_total{{{lbl}}} %d\n"
        if family == F_FAILURES:
            return f"prober_probe_failures_total{{{lbl}}} %d\n"
        if family == F_DURATION:
            lines = [f'prober_probe_duration_seconds_bucket{{{lbl},le="{le}"}} %d\n' for le in _LE]
            lines.append(f"prober_probe_duration_seconds_sum{{{lbl}}} %d.%06d\n")
            lines.append(f"prober_probe_duration_seconds_count{{{lbl}}} %d\n")
            return "".join(lines)
        if family == F_PHASES:
            return "".join(
                f'prober_probe_phase_seconds{{{lbl},phase="{p}"}} %d.%06d\n'
                for p in self.phase_keys
            )
        if family == B_PHASES:
            return "".join(
                f'probe_http_duration_seconds{{{bb},phase="{BLACKBOX_PHASES[p]}"}} %d.%06d\n'
                for p in self.phase_keys
            )
        if family == B_DNS:
            return (
                f"probe_dns_lookup_time_seconds{{{bb}}} %d.%06d\n"
                if (self.phase_keys[:1] == ("dns",))
                else ""
            )
        if family == B_SSL:
            return f"probe_http_ssl{{{bb}}} {int(self.tls)}\n"
        present, line = {
            F_UP: (self.up, f"prober_check_up{{{lbl}}} %d\n"),
            F_SUCCESS: (
                self.last_success,
                f"prober_check_last_success_timestamp_seconds{{{lbl}}} %d\n",
            ),
            F_CODE: (self.last_code, f"prober_check_last_status_code{{{lbl}}} %d\n"),
            F_CERT: (
                self.cert_expiry,
                f"prober_check_tls_cert_expiry_timestamp_seconds{{{lbl}}} %d\n",
            ),
            B_SUCCESS: (self.up, f"probe_success{{{bb}}} %d\n"),
            B_DURATION: (self.up, f"probe_duration_seconds{{{bb}}} %d.%06d\n"),
            B_CODE: (self.last_code, f"probe_http_status_code{{{bb}}} %d\n"),
            B_CERT: (self.cert_expiry, f"probe_ssl_earliest_cert_expiry{{{bb}}} %d\n"),
        }[family]
        return "" if present is None else line


def _gather(family: int, block: list[CheckSeries]) -> tuple[int, ...]:
    """The values of one family for a block, in template order."""
    values: list[int] = []
    if family == F_PROBES:
        values = [s.hist[-1] for s in block]
    elif family == F_FAILURES:
        values = [s.failures for s in block]
    elif family == F_DURATION:
        for s in block:
            values.extend(s.hist)
    elif family in (F_PHASES, B_PHASES):
        for s in block:
            values.extend(s.phase_values)
    elif family == B_DNS:
        for s in block:
            if s.phase_keys[:1] == ("dns",):
                values.extend(s.phase_values[:2])
    elif family in (F_UP, B_SUCCESS):
        values = [s.up for s in block if s.up is not None]
    elif family == B_DURATION:
        for s in block:
            if s.up is not None:
                values.extend(s.last_duration)
    elif family == F_SUCCESS:
        values = [s.last_success for s in block if s.last_success is not None]
    elif family in (F_CODE, B_CODE):
        values = [s.last_code for s in block if s.last_code is not None]
    elif family in (F_CERT, B_CERT):
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

    def __init__(self, options: MetricsOptions | None = None) -> None:
        self.options = options or MetricsOptions()
        self._families = enabled(self.options)
        self._series: dict[str, CheckSeries] = {}
        self._configured = False
        self._blocks: list[Block] = []

    def __len__(self) -> int:
        return len(self._series)

    @property
    def families(self) -> tuple[int, ...]:
        """Indexes (into FAMILIES) of the families these options expose, in order."""
        return self._families

    def series(self) -> Iterator[CheckSeries]:
        """Each check's state, in exposition order (for the plain renderer)."""
        for block in self._blocks:
            yield from block.series

    def set_checks(self, checks: Iterable[Check]) -> None:
        """Keep series of checks whose id, component and scheme are unchanged; drop the rest."""
        old = self._series
        new: dict[str, CheckSeries] = {}
        for check in checks:
            series = old.get(check.id)
            if series is None or (series.component, series.tls) != _key(check):
                series = CheckSeries(check.id, *_key(check))
            new[check.id] = series
        for gone in old.values():
            if new.get(gone.check_id) is not gone:
                gone.block = None
        self._series = new
        self._configured = True
        self._reblock()

    def record(self, check: Check, results: Sequence[ProbeResult]) -> bool:
        """Record a round; False (and nothing recorded) for a check a reload removed."""
        series = self._series.get(check.id)
        if series is None or (series.component, series.tls) != _key(check):
            if self._configured:
                return False  # a late round of a removed check: keep its series gone
            series = self._series[check.id] = CheckSeries(check.id, *_key(check))
            self._reblock()
        series.record(results)
        return True

    def _reblock(self) -> None:
        series = list(self._series.values())
        self._blocks = [Block(series[i : i + BLOCK]) for i in range(0, len(series), BLOCK)]

    def steps(self, openmetrics: bool = False) -> Iterator[bytes]:
        """The exposition in chunks, one family of one block each.

        Between two chunks the caller may yield to the event loop (see
        `Metrics.render_async`): each chunk is internally consistent; a reload meanwhile
        leaves this scrape on the blocks it started with.
        """
        blocks = self._blocks
        for family in self._families:
            yield FAMILIES[family].header(openmetrics)
            for block in blocks:
                yield block.render(family)

    def render(self, openmetrics: bool = False) -> list[bytes]:
        return list(self.steps(openmetrics))


def _key(check: Check) -> tuple[str, bool]:
    return check.component, check.url.startswith("https:")


async def render_yielding(
    head: bytes, table: CheckSeriesTable, chunks_per_yield: int = 2, openmetrics: bool = False
) -> bytes:
    """`head` then the table's families, yielding to the loop every `chunks_per_yield` chunks
    (a chunk is one family of one block of BLOCK checks)."""
    out = [head]
    for i, chunk in enumerate(table.steps(openmetrics)):
        out.append(chunk)
        if i % chunks_per_yield == chunks_per_yield - 1:
            await asyncio.sleep(0)
    if openmetrics:
        out.append(b"# EOF\n")
    return b"".join(out)
