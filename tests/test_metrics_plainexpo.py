"""The optimised per-check renderer (fastexpo) and its plain prometheus_client alternative
(plainexpo) expose the same samples for the same state: the ledger's comparison is fair,
and the plain one can replace the optimisation at any time."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from prober.config.model import Check
from prober.metrics.checkfamilies import MetricsOptions
from prober.metrics.fastexpo import BLOCK, CheckSeriesTable
from prober.metrics.plainexpo import render_plain
from prober.probes.result import ProbeResult, Reason

OPTIONS = [MetricsOptions(d, b) for d in (False, True) for b in (False, True)]
PHASES = ("dns", "connect", "tls", "processing", "transfer")
Sample = tuple[str, tuple[tuple[str, str], ...]]


def table(options: MetricsOptions, n: int = BLOCK + 17, seed: int = 7) -> CheckSeriesTable:
    """Checks across more than one block, with every shape a check can take."""
    rng = random.Random(seed)
    t = CheckSeriesTable(options)
    checks = [
        Check(
            id=f'c{i}-"q"\\%s' if i % 50 == 0 else f"c{i}",
            component=f"comp{i % 7}\nx" if i % 60 == 0 else f"comp{i % 7}",
            url=f"{'https' if i % 3 == 0 else 'http'}://t{i}.example.test/",
        )
        for i in range(n)
    ]
    t.set_checks(checks)
    for round_ in range(3):
        for i, c in enumerate(checks):
            if i % 41 == 0 and round_ == 0:
                continue  # never probed: no samples but info and tls
            results = []
            for _ in range(0 if i % 37 == 0 else rng.randint(1, 3)):
                reason = Reason.OK if rng.random() < 0.8 else Reason.HTTP_5XX
                keys = PHASES[rng.randint(0, 2) : rng.randint(3, 5)]
                results.append(
                    ProbeResult(
                        c.id,
                        c.component,
                        1_780_000_000.5 + round_ * 10,
                        reason,
                        rng.choice((0.0, rng.random() * 3, 12.0)),
                        200 if reason is Reason.OK else 503,
                        phases={p: rng.random() / 10 for p in keys},
                        cert_expiry=1_790_000_000.0 if c.url.startswith("https") else None,
                    )
                )
            t.record(c, results)
    return t


def parsed(
    text: bytes, openmetrics: bool
) -> tuple[dict[str, tuple[str, str]], dict[Sample, float]]:
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    heads: dict[str, tuple[str, str]] = {}
    values: dict[Sample, float] = {}
    for fam in parse(text.decode()):
        heads[fam.name] = (fam.type, fam.documentation)
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in values, key
            values[key] = s.value
    return heads, values


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text-0.0.4", "openmetrics"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: f"detail={o.detail},bb={o.blackbox}")
def test_fast_and_plain_renderers_expose_the_same_samples(
    options: MetricsOptions, openmetrics: bool
) -> None:
    t = table(options)
    fast = b"".join(t.render(openmetrics)) + (b"# EOF\n" if openmetrics else b"")
    fast_heads, fast_values = parsed(fast, openmetrics)
    plain_heads, plain_values = parsed(render_plain(t, openmetrics), openmetrics)
    assert fast_heads == plain_heads
    assert fast_values.keys() == plain_values.keys()
    differ = [
        k for k, v in fast_values.items() if not math.isclose(v, plain_values[k], rel_tol=1e-12)
    ]
    assert differ == []
    assert len(fast_values) > 5 * len(t)  # the state is not empty: the comparison means something
