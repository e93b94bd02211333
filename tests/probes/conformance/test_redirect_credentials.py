"""Credentials on redirects (RFC 9110 15.4, 11.6.2 and 17.16), on every engine: a hop to
another origin carries no Authorization, Cookie, Proxy-Authorization, configured Host, nor
any header whose value came from a ${VAR}; a hop within the origin keeps them all."""

from __future__ import annotations

import asyncio

from prober.config import parse_config
from prober.probes.http import HttpProber
from prober.probes.result import Reason

from ..servers import raw_server, read_request_head
from .harness import BODY, fixed

SECRET = "s3cr3t-token-value"
SENSITIVE = ("authorization", "cookie", "proxy-authorization", "x-api-key", "x-tenant")


class Recorder:
    def __init__(self, answer: bytes = b"") -> None:
        self.answer = answer
        self.heads: list[dict[str, str]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = (await read_request_head(reader)).decode("latin-1").split("\r\n")[1:]
        self.heads.append(
            {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
        )
        writer.write(self.answer)
        await writer.drain()


def check_yaml(url: str, host: bool = False) -> str:
    return f"""\
components:
  - id: api
    name: API
checks:
  - id: c
    component: api
    url: {url}
    timeout: 2s
    headers:
      Authorization: "Bearer ${{TOKEN}}"
      Cookie: "session=literal"
      Proxy-Authorization: "Basic literal"
      X-Api-Key: "${{TOKEN}}"
      X-Tenant: "tenant-${{TENANT}}"
      X-Trace: "literal-value"
{"      Host: configured.example" if host else ""}
"""


ENV = {"TOKEN": SECRET, "TENANT": "acme"}


class Site(Recorder):
    """Redirects /start to `location` (relative: the same origin), then serves BODY."""

    def __init__(self) -> None:
        super().__init__()
        self.location = b"/next"

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.answer = (
            b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % self.location
            if not self.heads
            else fixed(BODY)
        )
        await super().__call__(reader, writer)


async def follow(engine: str, cross: bool, host: bool = False) -> tuple[Site, Recorder, Reason]:
    """Probe a check with credentials whose /start redirects to another origin (another
    port) when `cross`, else to /next on the same origin."""
    other = Recorder(fixed(BODY))
    first = Site()
    async with raw_server(other) as other_url, raw_server(first) as base:
        if cross:
            first.location = (other_url + "/next").encode()
        check = parse_config(check_yaml(base + "/start", host), "t", ENV).checks[0]
        async with HttpProber(engine=engine) as p:
            r = await p.probe(check)
    return first, other, r.reason


def test_headers_written_with_a_var_are_known_as_secret() -> None:
    check = parse_config(check_yaml("http://127.0.0.1:9/"), "t", ENV).checks[0]
    assert check.secret_headers == frozenset({"authorization", "x-api-key", "x-tenant"})


async def test_rfc9110_15_4_cross_origin_hop_drops_credentials(engine: str) -> None:
    first, second, reason = await follow(engine, True)
    assert reason is Reason.OK
    assert all(first.heads[0].get(h) for h in SENSITIVE)
    sent = second.heads[0]
    assert [h for h in SENSITIVE if h in sent] == []
    assert SECRET not in repr(sent)
    assert sent["x-trace"] == "literal-value"  # a literal header is not a credential


async def test_rfc9110_7_2_configured_host_is_not_sent_to_another_origin(engine: str) -> None:
    first, second, reason = await follow(engine, True, host=True)
    assert reason is Reason.OK
    assert first.heads[0]["host"] == "configured.example"
    assert second.heads[0]["host"].startswith("127.0.0.1:")


async def test_rfc9110_15_4_same_origin_hop_keeps_credentials(engine: str) -> None:
    first, _, reason = await follow(engine, False)
    assert reason is Reason.OK
    assert len(first.heads) == 2
    assert all(first.heads[1].get(h) for h in SENSITIVE)
    assert first.heads[1]["authorization"] == f"Bearer {SECRET}"
