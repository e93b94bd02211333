"""A probe's detail never carries a secret, even when the target echoes it back, nor the
URL's query or credentials; `prober once` shows the same redacted details."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from prober.config import parse_config
from prober.config.model import Check
from prober.probes.http import HttpProber
from prober.probes.once import format_table, run_once
from prober.probes.result import Reason

from .servers import app_server, make_check

TOKEN = "hunter2secretXYZ"


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """Echoes the bearer token it was sent in its JSON body (a misbehaving target)."""

    async def status(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return web.json_response({"status": token, "padded": "x" * 50 + token})

    app = web.Application()
    app.router.add_get("/status", status)
    async with app_server(app) as url:
        yield url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(base: str, port: int) -> str:
    return f"""\
components:
  - id: api
    name: API
checks:
  - id: echo
    component: api
    url: {base}/status
    timeout: 2s
    headers:
      Authorization: "Bearer ${{SECRET_TOK}}"
    expect:
      json:
        - path: status
          equals: ok
  - id: truncated
    component: api
    url: {base}/status
    timeout: 2s
    headers:
      Authorization: "Bearer ${{SECRET_TOK}}"
    expect:
      json:
        - path: padded
          equals: ok
  - id: query
    component: api
    url: http://127.0.0.1:{port}/health?token=${{SECRET_TOK}}
    timeout: 2s
"""


async def test_echoed_token_is_redacted_from_json_detail(prober: HttpProber, echo: str) -> None:
    config = parse_config(config_text(echo, closed_port()), "t", {"SECRET_TOK": TOKEN})
    echoed, truncated, _ = config.checks
    r = await prober.probe(echoed)
    assert r.reason is Reason.ASSERTION
    assert TOKEN not in r.detail
    assert r.detail == 'json status: got "<redacted>", expected "ok"'
    # the detail cuts a long value at 60 characters, in the middle of the token
    t = await prober.probe(truncated)
    assert t.reason is Reason.ASSERTION
    assert "hunter2" not in t.detail, t.detail
    assert "<redacted>..." in t.detail


async def test_query_token_never_in_connect_detail(prober: HttpProber) -> None:
    config = parse_config(
        config_text("http://127.0.0.1:9", closed_port()), "t", {"SECRET_TOK": TOKEN}
    )
    r = await prober.probe(config.checks[2])
    assert r.reason is Reason.CONNECT
    assert TOKEN not in r.detail and "token=" not in r.detail and "/health" not in r.detail
    assert r.detail.startswith("connect: ")


async def test_literal_url_query_and_credentials_never_in_detail(
    prober: HttpProber, echo: str
) -> None:
    """A Check built in code (no ${VAR}) still keeps its URL's query and userinfo out."""
    port = closed_port()
    check = make_check(f"http://bot:pa55word-x@127.0.0.1:{port}/p?api_key=literal-key-9")
    r = await prober.probe(check)
    assert r.reason is Reason.CONNECT
    for part in ("pa55word-x", "literal-key-9", "api_key", "bot"):
        assert part not in r.detail


async def test_literal_header_is_not_a_secret(prober: HttpProber, echo: str) -> None:
    """Only ${VAR} expansions are secrets: a literal header value shows as the target
    sent it (the old whole-header tracking redacted it and missed the token itself)."""
    text = config_text(echo, closed_port()).replace(
        '"Bearer ${SECRET_TOK}"', "Bearer plain-visible"
    )
    (echoed, _, _) = parse_config(text, "t", {"SECRET_TOK": TOKEN}).checks
    assert echoed.secret_values == ()
    r = await prober.probe(echoed)
    assert r.detail == 'json status: got "plain-visible", expected "ok"'


async def test_prober_once_table_has_no_secret_and_says_the_reason_once(echo: str) -> None:
    config = parse_config(config_text(echo, closed_port()), "t", {"SECRET_TOK": TOKEN})
    results = await run_once(config)
    table = format_table(results)
    assert TOKEN not in table and "hunter2" not in table
    assert [r.reason for r in results] == [Reason.ASSERTION, Reason.ASSERTION, Reason.CONNECT]
    query_line = next(line for line in table.splitlines() if line.startswith("query"))
    assert "connect: connect:" not in query_line
    assert query_line.split("  ")[-1].strip().startswith("connect: ")


def test_check_without_expansions_has_no_secrets() -> None:
    assert (
        Check(
            id="c", component="api", url="http://x.example/", headers=(("User-Agent", "prober"),)
        ).secret_values
        == ()
    )
