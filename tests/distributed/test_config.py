"""`distributed:` in checks.yaml: locations, quorum, location_timeout, settle."""

from __future__ import annotations

import pytest

from prober.config.loader import parse_config
from prober.config.model import Distributed
from prober.errors import ConfigError

BASE = """
components: [{id: api, name: API}]
checks: [{id: api-health, component: api, url: "http://127.0.0.1:1/"}]
"""


def test_absent_section_gives_majority_and_defaults() -> None:
    assert parse_config(BASE).distributed == Distributed((), 0, 60.0, 2.0)


def test_section_is_read() -> None:
    text = (
        BASE
        + "distributed: {locations: [eu, us, ap], quorum: 2,"
        + " location_timeout: 30s, settle: 500ms}\n"
    )
    assert parse_config(text).distributed == Distributed(("eu", "us", "ap"), 2, 30.0, 0.5)
    text = BASE + "distributed: {quorum: majority}\n"
    assert parse_config(text).distributed.quorum == 0


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ("{quorum: most}", "distributed.quorum", "expected majority or a number of locations"),
        ("{quorum: 0}", "distributed.quorum", "out of range"),
        ("{locations: [eu, us], quorum: 3}", "distributed.quorum", "exceeds the 2 listed"),
        ("{locations: [eu, eu]}", "distributed.locations", "listed twice"),
        ("{locations: [EU]}", "distributed.locations[0]", ""),
        ("{location_timeout: 10}", "distributed.location_timeout", "no unit"),
        ("{where: eu}", "distributed", "where"),
    ],
)
def test_bad_values_are_named_with_their_line(section: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + f"distributed: {section}\n", source="checks.yaml")
    (issue,) = caught.value.issues
    assert issue.path.startswith(path) and message in issue.message
    assert issue.file == "checks.yaml" and issue.line == 4
