"""`prober once`: run each check of a config one time and show the results as a table.

For trying an edit of checks.yaml before committing it. Requests run concurrently,
bounded, and results come back in the config's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prober.config.model import Check, Config
from prober.probes.http import HttpProber
from prober.probes.result import ProbeResult

DEFAULT_CONCURRENCY = 32
_COLUMNS = ("CHECK", "RESULT", "STATUS", "LATENCY", "REASON")


def select_checks(config: Config, check_ids: Sequence[str] | None) -> list[Check]:
    """The checks to run, in config order; ValueError names any unknown id."""
    if not check_ids:
        return list(config.checks)
    known = {c.id for c in config.checks}
    unknown = [i for i in check_ids if i not in known]
    if unknown:
        raise ValueError(f"unknown check id: {', '.join(unknown)}")
    wanted = set(check_ids)
    return [c for c in config.checks if c.id in wanted]


async def run_once(
    config: Config,
    check_ids: Sequence[str] | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    prober: HttpProber | None = None,
) -> list[ProbeResult]:
    """Probe each selected check once; raises ValueError for an unknown check id."""
    checks = select_checks(config, check_ids)
    limit = asyncio.Semaphore(max(1, concurrency))
    own = prober is None
    active = prober or HttpProber()

    async def one(check: Check) -> ProbeResult:
        async with limit:
            return await active.probe(check)

    try:
        return list(await asyncio.gather(*(one(c) for c in checks)))
    finally:
        if own:
            await active.close()


def explain(result: ProbeResult) -> str:
    """The reason and its detail, the reason said once ("connect: connection refused", not
    "connect: connect: connection refused")."""
    reason, detail = result.reason.value, result.detail
    if not detail:
        return reason
    if detail == reason or detail.startswith((f"{reason}:", f"{reason} ")):
        return detail
    return f"{reason}: {detail}"


def format_table(results: Sequence[ProbeResult]) -> str:
    """A plain-text table: check, result, status code, latency, reason and detail."""
    rows = [_COLUMNS]
    for r in results:
        rows.append(
            (
                r.check_id,
                "ok" if r.ok else "FAIL",
                str(r.status_code) if r.status_code is not None else "-",
                f"{r.duration * 1000:.0f}ms",
                explain(r),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    failed = sum(1 for r in results if not r.ok)
    lines.append(f"{len(results)} checks, {len(results) - failed} ok, {failed} failed")
    return "\n".join(lines)
