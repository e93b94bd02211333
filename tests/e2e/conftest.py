"""End-to-end test hygiene: no prober process outlives its test, pass or fail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import STARTED


@pytest.fixture(autouse=True)
async def _no_process_left_behind() -> AsyncIterator[None]:
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
