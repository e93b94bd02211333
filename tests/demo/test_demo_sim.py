"""The simulated API over HTTP, with an injected clock and sleep: no real waiting."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from prober.demo.scenarios import COMPONENT_IDS, SEED_DEGRADED, SEED_PARTIAL, SLOW_LATENCY
from prober.demo.sim import Simulator, make_sim_app, parse_listen, start_sim

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


class FakeTime:
    """A monotonic clock that moves only when told, and a sleep that records its delays."""

    def __init__(self) -> None:
        self.t = 5000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(aiohttp_client: Any, fake: FakeTime) -> MakeClient:
    async def make(scenario: str = "seed", seed: int = 0, time_scale: float = 1.0) -> Client:
        app = make_sim_app(scenario, clock=fake, seed=seed, time_scale=time_scale, sleep=fake.sleep)
        client: Client = await aiohttp_client(app)
        return client

    return make


async def codes(client: Client, component: str, n: int) -> list[int]:
    out = []
    for _ in range(n):
        async with client.get(f"/{component}/health") as resp:
            out.append(resp.status)
    return out


async def test_healthy_answers_200_with_component(make_client: MakeClient) -> None:
    client = await make_client("healthy")
    for component in COMPONENT_IDS:
        resp = await client.get(f"/{component}/health")
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "component": component}
        assert resp.headers["Cache-Control"] == "no-store"


async def test_outage_answers_500_internal(make_client: MakeClient) -> None:
    client = await make_client("outage")
    for component in COMPONENT_IDS:
        resp = await client.get(f"/{component}/health")
        assert resp.status == 500
        assert await resp.json() == {"error": "internal"}


async def test_unknown_component_is_404(make_client: MakeClient) -> None:
    client = await make_client("outage")
    resp = await client.get("/no-such-thing/health")
    assert resp.status == 404
    assert (await resp.json())["error"] == "unknown component"
    assert (await client.get("/platform-api/other")).status == 404


def within_binomial(count: int, n: int, p: float) -> bool:
    """Within four standard deviations of n p (seeded draws: deterministic anyway)."""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


async def test_partial_share_is_the_failure_probability(make_client: MakeClient) -> None:
    client = await make_client("partial")
    got = await codes(client, "platform-api", 2000)
    assert set(got) <= {200, 500}
    assert within_binomial(got.count(500), 2000, 0.3)
    assert await codes(client, "dashboard", 20) == [200] * 20


async def test_failures_are_random_draws_not_a_smoothed_stream(make_client: MakeClient) -> None:
    """Issue 11: rounds of ten vary as binomial draws do (a smoothed stream gave 3 +- 1
    in every round, hiding the noise prober's statistics must cope with)."""
    client = await make_client("partial")
    got = await codes(client, "platform-api", 1000)
    per_round = [got[i : i + 10].count(500) for i in range(0, 1000, 10)]
    assert min(per_round) <= 1 and max(per_round) >= 5
    again = await make_client("partial")  # the same seed and order: the same answers
    assert await codes(again, "platform-api", 1000) == got


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (5, {"platform-api": 0.15, "user-auth": 0.15, "dashboard": 0.0, "billing": 0.0}),
        (30, {"dashboard": SEED_DEGRADED, "billing": SEED_DEGRADED, "sms-delivery": 0.15}),
        (60, {"dashboard": SEED_PARTIAL, "user-auth": SEED_DEGRADED, "scim": SEED_DEGRADED}),
        (90, {"dashboard": SEED_PARTIAL, "user-auth": SEED_PARTIAL, "webhooks": SEED_DEGRADED}),
        (150, {"dashboard": 0.0, "user-auth": 0.0, "platform-api": 0.0}),
    ],
)
async def test_seed_shares_follow_the_clock(
    make_client: MakeClient, fake: FakeTime, elapsed: float, expected: dict[str, float]
) -> None:
    client = await make_client("seed")
    fake.t += elapsed
    n = 400
    for component, share in expected.items():
        got = await codes(client, component, n)
        assert within_binomial(got.count(500), n, share), component


async def test_seed_walk_dashboard_grows_and_recovers(
    make_client: MakeClient, fake: FakeTime
) -> None:
    client = await make_client("seed")
    seen = []
    for t in (0, 30, 60, 90, 150, 245):  # the last one is the next cycle's onset
        fake.t = 5000.0 + t
        got = await codes(client, "dashboard", 400)
        seen.append(got.count(500) / 400)
        index = await (await client.get("/")).json()
        assert index["elapsed"] == t
    assert seen[0] == seen[4] == seen[5] == 0.0
    assert 0.05 < seen[1] < 0.3 < seen[2] and seen[3] > 0.3


async def test_same_seed_same_answers_other_seed_other_pattern(
    make_client: MakeClient,
) -> None:
    a = await codes(await make_client("partial", seed=7), "platform-api", 30)
    b = await codes(await make_client("partial", seed=7), "platform-api", 30)
    c = await codes(await make_client("partial", seed=1), "platform-api", 30)
    assert a == b
    assert a != c


async def test_index_lists_components_and_phase(make_client: MakeClient, fake: FakeTime) -> None:
    client = await make_client("seed")
    fake.t += 80
    body = await (await client.get("/")).json()
    assert body["scenario"] == "seed"
    assert body["phase"]["name"] == "auth_outage"
    assert body["phase"]["start"] == 75
    assert body["cycle_seconds"] == 240
    assert "flapping" in body["scenarios"]
    ids = [c["id"] for c in body["components"]]
    assert ids == list(COMPONENT_IDS)
    by_id = {c["id"]: c for c in body["components"]}
    assert by_id["dashboard"]["health"] == "/dashboard/health"
    assert by_id["dashboard"]["failure_ratio"] == SEED_PARTIAL
    assert by_id["billing"]["failure_ratio"] == SEED_DEGRADED
    assert by_id["dashboard"]["group"] == "Product"


async def test_switch_scenario_restarts_clock_and_counts(
    make_client: MakeClient, fake: FakeTime
) -> None:
    client = await make_client("seed")
    fake.t += 100
    got = await codes(client, "dashboard", 10)
    state = await (await client.get("/_sim/state")).json()
    assert state["phase"]["name"] == "auth_outage"
    assert state["counts"]["dashboard"] == {"requests": 10, "failures": got.count(500)}

    resp = await client.post("/_sim/scenario", json={"scenario": "outage"})
    assert resp.status == 200
    body = await resp.json()
    assert body["scenario"] == "outage"
    assert body["elapsed"] == 0
    assert body["counts"]["dashboard"] == {"requests": 0, "failures": 0}
    assert await codes(client, "billing", 5) == [500] * 5

    await client.post("/_sim/scenario", json={"scenario": "seed"})
    state = await (await client.get("/_sim/state")).json()
    assert state["scenario"] == "seed"
    assert state["phase"]["name"] == "onset"
    assert await codes(client, "dashboard", 10) == [200] * 10


async def test_switch_with_offset_and_time_scale(make_client: MakeClient, fake: FakeTime) -> None:
    client = await make_client("healthy")
    resp = await client.post(
        "/_sim/scenario", json={"scenario": "seed", "offset": 50, "time_scale": 0.5}
    )
    body = await resp.json()
    assert body["phase"]["name"] == "auth_outage"
    assert body["cycle_seconds"] == 120
    assert body["time_scale"] == 0.5
    fake.t += 10  # 60 s at scale 0.5: halfway through the fix
    body = await (await client.get("/")).json()
    assert body["phase"]["name"] == "fix"
    by_id = {c["id"]: c for c in body["components"]}
    assert by_id["dashboard"]["failure_ratio"] == pytest.approx(SEED_PARTIAL / 2)


@pytest.mark.parametrize(
    "payload",
    [
        {"scenario": "nope"},
        {},
        {"scenario": 3},
        {"scenario": "seed", "offset": -1},
        {"scenario": "seed", "offset": "10"},
        {"scenario": "seed", "offset": True},
        {"scenario": "seed", "time_scale": 0},
        ["seed"],
    ],
)
async def test_switch_rejects_bad_requests(make_client: MakeClient, payload: Any) -> None:
    client = await make_client("healthy")
    resp = await client.post("/_sim/scenario", json=payload)
    assert resp.status == 400
    assert "error" in await resp.json()
    assert (await (await client.get("/")).json())["scenario"] == "healthy"


async def test_switch_rejects_non_json(make_client: MakeClient) -> None:
    client = await make_client("healthy")
    resp = await client.post("/_sim/scenario", data=b"{not json")
    assert resp.status == 400


async def test_slow_waits_extra_latency_through_injected_sleep(
    make_client: MakeClient, fake: FakeTime
) -> None:
    client = await make_client("slow")
    assert await codes(client, "platform-api", 3) == [200] * 3
    assert fake.slept == [SLOW_LATENCY] * 3
    assert await codes(client, "billing", 3) == [200] * 3
    assert fake.slept == [SLOW_LATENCY] * 3


def test_simulator_without_http_flapping() -> None:
    clock = FakeTime()
    sim = Simulator("flapping", clock=clock, seed=0)
    first = [sim.answer("platform-api")[0] for _ in range(400)]
    clock.t += 20
    second = [sim.answer("platform-api")[0] for _ in range(400)]
    clock.t += 20
    third = [sim.answer("platform-api")[0] for _ in range(400)]
    assert within_binomial(first.count(False), 400, 0.3)
    assert second.count(False) == 0
    assert within_binomial(third.count(False), 400, 0.3)


def test_unknown_scenario_at_construction() -> None:
    with pytest.raises(KeyError):
        make_sim_app("nope")


async def test_start_sim_binds_port_zero_on_loopback() -> None:
    runner, port = await start_sim("127.0.0.1", 0, scenario="outage")
    try:
        assert port > 0
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/scim/health") as resp,
        ):
            assert resp.status == 500
            assert await resp.json() == {"error": "internal"}
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8081", ("127.0.0.1", 8081)),
        ("[::1]:0", ("::1", 0)),
        (":9000", ("127.0.0.1", 9000)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["8081", "host:", "host:port", "h:70000"])
def test_parse_listen_rejects(value: str) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_listen(value)
