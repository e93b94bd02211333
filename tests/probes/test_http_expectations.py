"""HttpProber against a well-behaved local aiohttp server: statuses and expectations."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from prober.config.model import Expectations, JsonExpectation, StatusRange
from prober.probes.http import HttpProber
from prober.probes.result import PHASES, Reason

from .servers import app_server, make_check

DOC = {"data": {"items": [{"state": "down"}, {"state": "up", "n": 1, "on": True}]}}


def build_app(ports: list[int] | None = None) -> web.Application:
    app = web.Application()
    seen = ports if ports is not None else []

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello, all systems operational")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="x")

    async def doc(request: web.Request) -> web.Response:
        return web.json_response(DOC)

    async def notjson(request: web.Request) -> web.Response:
        return web.Response(text="{not json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.Response(text="late")

    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/hop/{n - 1}")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response(
            {"method": request.method, "body": body, "token": request.headers.get("X-Token")}
        )

    async def peer(request: web.Request) -> web.Response:
        assert request.transport is not None
        seen.append(request.transport.get_extra_info("peername")[1])
        return web.Response(text="ok")

    app.router.add_get("/", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/doc", doc)
    app.router.add_get("/notjson", notjson)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hop/{n}", hop)
    app.router.add_get("/loop", loop)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/peer", peer)
    return app


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async with app_server(build_app()) as url:
        yield url


async def test_ok_with_phases(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/"))
    assert r.reason is Reason.OK and r.ok
    assert r.status_code == 200
    assert r.detail == ""
    assert set(r.phases) == set(PHASES)
    assert r.phases["connect"] > 0 and r.phases["processing"] > 0
    assert r.phases["tls"] == 0
    assert r.duration >= r.phases["processing"]
    assert r.cert_expiry is None
    assert (r.check_id, r.component) == ("c1", "api")


async def test_500_is_http_5xx(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/status/503"))
    assert r.reason is Reason.HTTP_5XX
    assert r.status_code == 503
    assert r.detail == "status 503, expected 200-299"


async def test_404_is_unexpected_status(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/status/404"))
    assert r.reason is Reason.UNEXPECTED_STATUS
    assert r.detail == "status 404, expected 200-299"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (200, Reason.OK),
        (404, Reason.OK),
        (400, Reason.OK),
        (418, Reason.UNEXPECTED_STATUS),
        (201, Reason.UNEXPECTED_STATUS),
        (500, Reason.HTTP_5XX),
    ],
)
async def test_status_ranges(prober: HttpProber, base: str, code: int, reason: Reason) -> None:
    expect = Expectations(status=(StatusRange(200, 200), StatusRange(400, 404)))
    r = await prober.probe(make_check(f"{base}/status/{code}", expect=expect))
    assert r.reason is reason
    if reason is not Reason.OK:
        assert r.detail == f"status {code}, expected 200, 400-404"


async def test_expected_5xx_is_ok(prober: HttpProber, base: str) -> None:
    expect = Expectations(status=(StatusRange(500, 599),))
    r = await prober.probe(make_check(base + "/status/500", expect=expect))
    assert r.reason is Reason.OK


@pytest.mark.parametrize(
    ("expect", "detail"),
    [
        (Expectations(body_contains=("operational",)), None),
        (
            Expectations(body_contains=("operational", "degraded")),
            'body does not contain "degraded"',
        ),
        (Expectations(body_regex=(re.compile(r"all \w+ operational"),)), None),
        (Expectations(body_regex=(re.compile(r"^down"),)), "body does not match /^down/"),
    ],
)
async def test_body_text(
    prober: HttpProber, base: str, expect: Expectations, detail: str | None
) -> None:
    r = await prober.probe(make_check(base + "/", expect=expect))
    if detail is None:
        assert r.reason is Reason.OK
    else:
        assert r.reason is Reason.ASSERTION
        assert r.detail == detail
        assert r.status_code == 200


@pytest.mark.parametrize(
    ("path", "equals", "detail"),
    [
        ("data.items.1.state", "up", None),
        ("data.items.-1.n", 1, None),
        ("data.items.1.n", 1.0, None),
        ("data.items.1.on", True, None),
        ("data.items.1.n", True, "json data.items.1.n: got 1, expected true"),
        ("data.items.0.state", "up", 'json data.items.0.state: got "down", expected "up"'),
        ("data.items.5.state", "up", 'json data.items.5.state: missing, expected "up"'),
        ("data.nope", None, "json data.nope: missing, expected null"),
        ("data.items", [{"state": "down"}], 'json data.items: got [{"state":"down"},{"state":"up'),
    ],
)
async def test_json_path(
    prober: HttpProber, base: str, path: str, equals: object, detail: str | None
) -> None:
    expect = Expectations(json=(JsonExpectation(path, equals),))
    r = await prober.probe(make_check(base + "/doc", expect=expect))
    if detail is None:
        assert r.reason is Reason.OK, r.detail
    else:
        assert r.reason is Reason.ASSERTION
        assert r.detail.startswith(detail)


async def test_json_on_non_json_body(prober: HttpProber, base: str) -> None:
    expect = Expectations(json=(JsonExpectation("a", 1),))
    r = await prober.probe(make_check(base + "/notjson", expect=expect))
    assert (r.reason, r.detail) == (Reason.ASSERTION, "body is not valid JSON")


async def test_status_is_judged_before_body(prober: HttpProber, base: str) -> None:
    expect = Expectations(body_contains=("never",))
    r = await prober.probe(make_check(base + "/status/502", expect=expect))
    assert r.reason is Reason.HTTP_5XX


async def test_max_latency(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/slow", expect=Expectations(max_latency=0.05)))
    assert r.reason is Reason.LATENCY
    assert r.detail.startswith("latency ") and r.detail.endswith("expected at most 50ms")
    r = await prober.probe(make_check(base + "/slow", expect=Expectations(max_latency=0.9)))
    assert r.reason is Reason.OK


async def test_redirects_followed_within_limit(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/hop/2", max_redirects=2))
    assert (r.reason, r.status_code) == (Reason.OK, 200)
    r = await prober.probe(make_check(base + "/hop/3", max_redirects=2))
    assert r.reason is Reason.REDIRECTS


async def test_redirect_loop(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/loop"))
    assert (r.reason, r.status_code) == (Reason.REDIRECTS, 302)
    assert r.detail == "more than 10 redirects"


async def test_redirect_not_followed_is_judged_itself(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/loop", follow_redirects=False))
    assert (r.reason, r.status_code) == (Reason.UNEXPECTED_STATUS, 302)
    assert r.detail == "status 302, expected 200-299"
    expect = Expectations(status=(StatusRange(300, 399),))
    r = await prober.probe(make_check(base + "/loop", follow_redirects=False, expect=expect))
    assert r.reason is Reason.OK


async def test_max_redirects_zero_refuses_any_redirect(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/hop/1", max_redirects=0))
    assert (r.reason, r.status_code) == (Reason.REDIRECTS, 302)


async def test_method_body_and_headers(prober: HttpProber, base: str) -> None:
    check = make_check(
        base + "/echo",
        method="POST",
        body="ping",
        headers=(("X-Token", "abc"),),
        expect=Expectations(
            json=(
                JsonExpectation("method", "POST"),
                JsonExpectation("body", "ping"),
                JsonExpectation("token", "abc"),
            )
        ),
    )
    r = await prober.probe(check)
    assert r.reason is Reason.OK, r.detail


async def test_head_request(prober: HttpProber, base: str) -> None:
    r = await prober.probe(make_check(base + "/echo", method="HEAD"))
    assert (r.reason, r.status_code) == (Reason.OK, 200)


async def test_header_secret_never_in_detail(prober: HttpProber, base: str) -> None:
    secret = "s3cr3t-bearer-value"
    check = make_check(
        base + "/echo",
        headers=(("X-Token", secret),),
        expect=Expectations(json=(JsonExpectation("token", "other"),)),
        expanded=frozenset({secret}),  # as if from X-Token: ${TOKEN}
    )
    r = await prober.probe(check)
    assert r.reason is Reason.ASSERTION
    assert secret not in r.detail
    assert "<redacted>" in r.detail


async def test_fresh_connection_per_probe_and_keep_alive(prober: HttpProber) -> None:
    ports: list[int] = []
    async with app_server(build_app(ports)) as url:
        for fresh in (True, False):
            for _ in range(3):
                r = await prober.probe(make_check(url + "/peer", fresh_connection=fresh))
                assert r.ok
    assert len(set(ports[:3])) == 3  # a new TCP connection for every probe
    assert len(set(ports[3:])) == 1  # one kept-alive connection reused
