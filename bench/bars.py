"""The performance bar of issue 6, judged against one run's figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    bar: str
    value: float | None
    limit: float
    unit: str
    at_most: bool  # True: value must be <= limit; False: value must be >= limit
    met: bool | None  # None: not measured
    by: str  # "met, 23% headroom" / "not met: 41% over" / "not measured"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    bar: str,
    value: float | None,
    limit: float,
    unit: str,
    at_most: bool = True,
    note: str = "",
    fail: bool = False,
) -> Verdict:
    """`fail` forces NOT MET whatever the value (a condition the value alone cannot show)."""
    if value is None:
        return Verdict(bar, None, limit, unit, at_most, None, "not measured" + note)
    within = value <= limit if at_most else value >= limit
    met = within and not fail
    if at_most:
        rel = (limit - value) / limit if within else (value - limit) / limit
    else:
        rel = (value - limit) / limit if within else (limit - value) / limit
    word = "headroom" if within else ("over" if at_most else "short")
    by = f"{'met' if met else 'NOT MET'}: {rel * 100:.0f}% {word}{note}"
    return Verdict(bar, value, limit, unit, at_most, met, by)


def _get(d: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def evaluate(results: dict[str, Any]) -> list[Verdict]:
    """Every bar of issue 6 from the medians in `results` (see bench.__main__)."""
    cost = results.get("cost", {})
    scale = results.get("scale", {})
    prober_ms = _get(cost, "prober", "ms_per_probe")
    aiohttp_ms = _get(cost, "aiohttp", "ms_per_probe")
    blackbox_ms = _get(cost, "blackbox", "ms_per_probe")
    full = scale.get("checks", 0) >= 10_000
    small = "" if full else f" (at {scale.get('checks', 0)} checks, not 10,000)"
    during = scale.get("during_api_load") or {}
    before = scale.get("before") or {}
    schedule_note = small
    on_rate = True
    if during.get("probes_per_second") is not None:
        on_rate = during["probes_per_second"] >= 0.98 * during["probes_per_second_expected"]
        schedule_note += (
            f"; probes/s {during['probes_per_second']:,.0f} of "
            f"{during['probes_per_second_expected']:,.0f} due"
        )
    if before.get("lag_p99_above_buckets"):
        small += "; p99 beyond the histogram's last bucket: a lower bound"
    iso_ms = _get(scale, "metrics_render_isolated", "prober_render_ms")
    sat_p = _get(cost, "prober", "ms_per_probe_saturated")
    sat_a = _get(cost, "aiohttp", "ms_per_probe_saturated")
    verdicts = [
        judge(
            "CPU per probe / bare aiohttp loop",
            prober_ms / aiohttp_ms if prober_ms and aiohttp_ms else None,
            1.3,
            "x",
            note=f" (both at {cost.get('rate', 0):g}/s)",
        ),
        judge("  same, both saturated", sat_p / sat_a if sat_p and sat_a else None, 1.3, "x"),
        judge(
            "CPU per probe / blackbox_exporter",
            prober_ms / blackbox_ms if prober_ms and blackbox_ms else None,
            0.7,
            "x",
            note="" if blackbox_ms else " (no blackbox_exporter figure)",
        ),
        judge(
            "probes per second on one core",
            _get(cost, "prober", "pps_per_core"),
            3000.0,
            "/s",
            at_most=False,
        ),
        judge(
            "scheduler lag p99 at scale", _get(scale, "before", "lag_p99"), 0.050, "s", note=small
        ),
        judge(
            "RSS at scale",
            scale["rss_bytes"] / MIB if scale.get("rss_bytes") else None,
            250.0,
            "MiB",
            note=small,
        ),
        judge(
            "/metrics GET while probing (scraper's wait)",
            scale.get("metrics_render_seconds_median"),
            0.150,
            "s",
            note=small,
        ),
        judge(
            "  render() alone (bench/metrics_render.py)",
            iso_ms / 1000.0 if iso_ms is not None else None,
            0.150,
            "s",
            note=small,
        ),
        judge(
            "status API p99 under load",
            _get(scale, "api", "p99"),
            0.010,
            "s",
            note=f" (at {_get(scale, 'api', 'rate_target')}/s)",
        ),
        judge(
            "lag p99 during API load (probing undisturbed)",
            during.get("lag_p99"),
            0.050,
            "s",
            note=schedule_note,
            fail=not on_rate,
        ),
    ]
    return verdicts
