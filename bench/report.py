"""The benchmark's table: cost per probe side by side, scale figures, and the bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.bars import MIB

Fmt = Callable[[Any], str]


def _num(digits: int = 0, scale: float = 1.0, unit: str = "") -> Fmt:
    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v * scale:,.{digits}f}{unit}"

    return fmt


MS = _num(2, 1000.0, " ms")
MS3 = _num(3, 1000.0, " ms")
PCT = _num(0, 100.0, "%")


def _row(label: str, values: list[str], width: int = 44, col: int = 14) -> str:
    return f"  {label:<{width}}" + "".join(f"{v:>{col}}" for v in values)


def cost_table(cost: dict[str, Any]) -> list[str]:
    names = [n for n in ("prober", "aiohttp", "blackbox") if n in cost]
    heads = {"prober": "prober", "aiohttp": "aiohttp floor", "blackbox": "blackbox_exp"}
    rate = cost.get("rate")
    rows: list[tuple[str, str, Fmt]] = [
        ("probes/s on one core (per CPU-second)", "pps_per_core", _num()),
        ("probes/s achieved, saturated", "pps_wall", _num()),
        ("CPU share of its core, saturated", "cpu_share_saturated", PCT),
        ("CPU ms per probe, saturated", "ms_per_probe_saturated", _num(3)),
        (f"CPU ms per probe at {rate:g}/s (= CPU-s/1000)", "ms_per_probe", _num(3)),
        (f"probes/s achieved at {rate:g}/s", "rate_achieved", _num()),
        (f"CPU share at {rate:g}/s", "cpu_share_at_rate", PCT),
        ("failed probes (all runs)", "errors", _num()),
        ("other load on the measured core", "foreign_share", PCT),
    ]
    lines = [
        f"Cost per probe, fresh connection per GET (median of {cost.get('repeat')})",
        _row("", [heads[n] for n in names]),
    ]
    for label, key, fmt in rows:
        lines.append(_row(label, [fmt(cost[n].get(key)) for n in names]))
    p = cost["prober"].get("ms_per_probe")
    ratios = []
    for n in ("aiohttp", "blackbox"):
        other = cost.get(n, {}).get("ms_per_probe")
        if p and other:
            ratios.append(f"prober/{n} {p / other:.2f}x")
    if ratios:
        lines.append(_row("CPU per probe ratios (same rate, same run)", [", ".join(ratios)], col=0))
    lag = cost["prober"].get("runner_lag_p99")
    if lag is not None:
        lines.append(_row(f"runner lag p99 at {rate:g}/s", [MS(lag)]))
    for n in names:
        for err in cost[n].get("failed_runs", [])[:1]:
            lines.append(f"  ! {n} run failed: {err.splitlines()[-1] if err else '?'}")
    return lines


def scale_table(scale: dict[str, Any]) -> list[str]:
    if "error" in scale:
        return [f"Scale: FAILED: {scale['error']}"]
    before, during = scale.get("before", {}), scale.get("during_api_load", {})
    api = scale.get("api", {})
    lines = [
        f"Scale: {scale['checks']:,} checks every {scale['interval']:g}s ({scale['mode']})",
        _row("", ["probing only", "+ API load"]),
    ]
    for label, key, fmt in [
        ("CPU share of one core", "cpu_share", PCT),
        ("CPU ms per probe", "ms_per_probe", _num(3)),
        ("scheduler lag p50", "lag_p50", MS),
        ("scheduler lag p99", "lag_p99", MS),
        ("rounds started within 50 ms", "lag_share_within_50ms", _num(2, 100.0, "%")),
        ("probes/s", "probes_per_second", _num()),
        ("other load on the measured core", "foreign_share", PCT),
    ]:
        cells = [fmt(w.get(key)) for w in (before, during)]
        if key in ("lag_p50", "lag_p99"):  # beyond the last bucket: only a lower bound
            cells = [
                f">{c}" if w.get("lag_p99_above_buckets") and w.get(key) == w.get("lag_p99") else c
                for c, w in zip(cells, (before, during), strict=True)
            ]
        lines.append(_row(label, cells))
    lines += [
        _row("expected probes/s", [_num()(before.get("probes_per_second_expected"))]),
        _row(
            "RSS now / peak",
            [
                _num(0, 1 / MIB, " MiB")(scale.get("rss_bytes")),
                _num(0, 1 / MIB, " MiB")(scale.get("rss_peak_bytes")),
            ],
        ),
        _row(
            "/metrics GET median / max",
            [
                MS(scale.get("metrics_render_seconds_median")),
                MS(scale.get("metrics_render_seconds_max")),
            ],
        ),
        _row(
            "/metrics GETs / other load on the core then",
            [_num()(scale.get("metrics_gets")), PCT(scale.get("metrics_foreign_share"))],
        ),
        _row(
            "/metrics size / series",
            [
                _num(1, 1 / MIB, " MiB")(scale.get("metrics_bytes")),
                _num()(scale.get("metrics_series")),
            ],
        ),
        _row("/metrics series per check", [_num(1)(scale.get("metrics_series_per_check"))]),
        _row(
            f"status API at {api.get('rate_target')}/s: p50 / p99",
            [MS(api.get("p50")), MS(api.get("p99"))],
        ),
        _row("status API p90 / max", [MS(api.get("p90")), MS(api.get("max"))]),
        _row("status API sent / errors", [_num()(api.get("sent")), _num()(api.get("errors"))]),
        _row("startup to listening", [_num(1, 1.0, " s")(scale.get("startup_seconds"))]),
    ]
    if "error" in api:
        lines.append(f"  ! load generator failed: {api['error'].splitlines()[-1:]}")
    iso = scale.get("metrics_render_isolated") or {}
    if "prober_render_ms" in iso:
        lines.append(
            _row(
                "render() alone: prober / naive registry",
                [f"{iso['prober_render_ms']:,.0f} ms", f"{iso['naive_render_ms']:,.0f} ms"],
            )
        )
        lines.append(
            _row(
                "render() alone: size prober / naive",
                [f"{iso['prober_size_mb']:.1f} MB", f"{iso['naive_size_mb']:.1f} MB"],
            )
        )
        if "prober_series_per_check" in iso:
            lines.append(
                _row(
                    "render() alone: series per check / gzip",
                    [
                        f"{iso['prober_series_per_check']}",
                        f"{iso['prober_gzip_bytes'] / 1e6:.2f} MB",
                    ],
                )
            )
    elif "error" in iso:
        lines.append(f"  ! bench/metrics_render.py failed: {iso['error'].splitlines()[-1:]}")
    for phase, err in (scale.get("errors") or {}).items():
        lines.append(f"  ! {phase} failed: {err.splitlines()[-1] if err else '?'}")
    if scale.get("warnings_logged"):
        lines.append(f"  warnings logged: {scale['warnings_logged']}")
    return lines


def bar_table(verdicts: list[dict[str, Any]]) -> list[str]:
    lines = ["The bar (issue 6)"]
    for v in verdicts:
        unit = v["unit"]
        op = "<=" if v["at_most"] else ">="
        if unit == "s":
            value, limit = MS(v["value"]), MS(v["limit"])
        elif unit == "x":
            value, limit = _num(2, 1.0, "x")(v["value"]), f"{v['limit']:g}x"
        else:
            value, limit = _num(0, 1.0, f" {unit}")(v["value"]), f"{v['limit']:,g} {unit}"
        lines.append(f"  {v['bar']:<46}{value:>12}  {op} {limit:<10} {v['by']}")
    return lines


def render(results: dict[str, Any]) -> str:
    env = results["environment"]
    head = (
        f"prober bench ({'quick' if results['quick'] else 'full'}): target {env['target']}, "
        f"blackbox_exporter {env.get('blackbox') or 'not installed'}, loop {env['loop']}, "
        f"cores {env['pinning']}, nice {env.get('nice', 0)}, "
        f"load average at start {env['loadavg_start']}"
    )
    out = [head, ""]
    if "cost" in results:
        out += [*cost_table(results["cost"]), ""]
    if "scale" in results:
        out += [*scale_table(results["scale"]), ""]
    out += bar_table(results["bar"])
    out.append(f"\ntotal {results['seconds']:.0f} s; JSON: {results['json']}")
    return "\n".join(out)
