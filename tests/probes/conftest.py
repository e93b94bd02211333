"""Fixtures for probe tests: a prober per test on each engine, one PKI per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from prober.probes.http import ENGINES, HttpProber

from .servers import Pki, make_pki


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every probe test runs on the lean client ("fast") and on aiohttp."""
    return str(request.param)


@pytest.fixture
async def prober(engine: str) -> AsyncIterator[HttpProber]:
    p = HttpProber(engine=engine)
    yield p
    await p.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))
