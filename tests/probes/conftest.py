"""Fixtures for probe tests: a prober per test, one PKI per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from prober.probes.http import HttpProber

from .servers import Pki, make_pki


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))
