"""Golden renders of the chart's single mode: what `helm template` printed before the
distributed mode existed, for every ci/*-values.yaml scenario. test_chart_modes.py holds
the single mode to them byte for byte (adding the distributed mode must not change a
single-mode install). After a deliberate change to the single mode, regenerate and review
the diff:

    python -m tests.deploy.golden
"""

from __future__ import annotations

from pathlib import Path

from .chart import SCENARIOS, render, scenario_values
from .promql import CHART

GOLDEN = Path(__file__).resolve().parent / "golden"


# Copies of grafana/ (test_chart.py holds them to their sources): left out here, so that
# editing a dashboard or an alert does not touch the goldens.
COPIED = ("prober/templates/dashboards.yaml", "prober/templates/prometheusrule.yaml")


def rendered_text(values: dict[str, object], chart: Path | str = CHART) -> str:
    """Every template's output in path order, as one text (NOTES.txt included); templates
    that render nothing are left out, as `helm template` leaves them out."""
    rendered = render(values, chart=chart)
    return "".join(
        f"# Source: {path}\n{rendered[path]}\n"
        for path in sorted(rendered)
        if path not in COPIED and rendered[path].strip()
    )


def golden_path(scenario: Path) -> Path:
    return GOLDEN / scenario.name.replace("-values.yaml", ".render.yaml")


def main(chart: Path | str = CHART) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        if "distributed" in scenario.name:
            continue
        golden_path(scenario).write_text(rendered_text(scenario_values(scenario), chart))
        print(golden_path(scenario))


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:2])
