"""Fixtures: an app over a FakeBackend, served through pytest-aiohttp's test client."""

from __future__ import annotations

import pytest

from prober.api import make_app
from tests.api.fake import FakeBackend


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def client(aiohttp_client, backend):
    return await aiohttp_client(make_app(backend))
