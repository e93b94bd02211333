"""URLs, international names and redirects (RFC 3986, RFC 5891 IDNA 2008 / UTS 46,
RFC 9110 15.4) on every engine: read the way aiohttp and browsers read them."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from prober.probes.http import HttpProber
from prober.probes.result import Reason

from ..servers import make_check, raw_server, read_request_head
from .harness import BODY, OK, fixed


class NamesResolver(AbstractResolver):
    """Every name resolves to the loopback server; the names asked for are kept."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.names: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.names.append(host)
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        pass


class Site:
    """A loopback server: `routes` maps a request target to a raw response; every
    request line and Host header is kept."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        self.routes = routes
        self.lines: list[str] = []
        self.hosts: list[str] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await read_request_head(reader)).decode("latin-1").split("\r\n")
        self.lines.append(head[0])
        self.hosts += [h.split(":", 1)[1].strip() for h in head if h.lower().startswith("host:")]
        target = head[0].split(" ")[1]
        writer.write(
            self.routes.get(target, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        )
        await writer.drain()


def redirect(location: bytes, status: int = 302) -> bytes:
    return b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (status, location)


async def probe(engine: str, site: Site, url: str) -> tuple[object, NamesResolver, int]:
    async with raw_server(site) as base:
        port = int(base.rsplit(":", 1)[1])
        resolver = NamesResolver(port)
        async with HttpProber(resolver=resolver, engine=engine) as p:
            r = await p.probe(make_check(url.format(port=port), expect=OK))
    return r, resolver, port


IDN = [
    ("sharp_s_is_not_ss", "faß.example", "xn--fa-hia.example"),
    ("umlaut", "bücher.example", "xn--bcher-kva.example"),
    ("uppercase_mapped", "BÜCHER.example", "xn--bcher-kva.example"),
    ("greek_final_sigma", "ς.example", "xn--3xa.example"),
    ("a_label_as_given", "xn--fa-hia.example", "xn--fa-hia.example"),
]


@pytest.mark.parametrize(("name", "a_label"), [i[1:] for i in IDN], ids=[i[0] for i in IDN])
async def test_rfc5891_idna2008_host_is_resolved_and_sent_as_its_a_label(
    engine: str, name: str, a_label: str
) -> None:
    site = Site({"/": fixed(BODY)})
    r, resolver, port = await probe(engine, site, f"http://{name}:{{port}}/")
    assert r.reason is Reason.OK, r.detail  # type: ignore[attr-defined]
    assert resolver.names == [a_label]
    assert site.hosts == [f"{a_label}:{port}"]


TARGETS = [
    ("space_in_path", "/a b", "/a%20b"),
    ("non_ascii_path", "/über", "/%C3%BCber"),
    ("non_ascii_query", "/s?q=ü", "/s?q=%C3%BC"),
    ("fragment_not_sent", "/p#section", "/p"),
    ("empty_path_is_slash", "", "/"),
]


@pytest.mark.parametrize(("path", "target"), [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS])
async def test_rfc3986_request_target_is_percent_encoded(
    engine: str, path: str, target: str
) -> None:
    site = Site({target: fixed(BODY)})
    r, _, _ = await probe(engine, site, "http://127.0.0.1:{port}" + path)
    assert r.reason is Reason.OK, r.detail  # type: ignore[attr-defined]
    assert site.lines == [f"GET {target} HTTP/1.1"]


LOCATIONS = [
    ("space", b"/a b", "/a%20b"),
    ("utf8_path", "/über".encode(), "/%C3%BCber"),
    ("utf8_query", "/s?q=ü".encode(), "/s?q=%C3%BC"),
    ("relative_dot_dot", b"../done", "/done"),
    ("relative_no_slash", b"done", "/x/done"),
    ("query_only", b"?page=2", "/x/y?page=2"),
    ("absolute_same_origin", b"http://127.0.0.1:{port}/done", "/done"),
    ("scheme_relative", b"//127.0.0.1:{port}/done", "/done"),
    ("fragment_dropped", b"/done#top", "/done"),
    ("percent_kept", b"/a%2Fb", "/a%2Fb"),
]


@pytest.mark.parametrize(
    ("location", "target"), [x[1:] for x in LOCATIONS], ids=[x[0] for x in LOCATIONS]
)
async def test_rfc9110_10_2_2_location_is_resolved_and_followed(
    engine: str, location: bytes, target: str
) -> None:
    site = Site({"/x/y": b"", target: fixed(BODY)})
    async with raw_server(site) as base:
        port = int(base.rsplit(":", 1)[1])
        site.routes["/x/y"] = redirect(location.replace(b"{port}", str(port).encode()))
        async with HttpProber(engine=engine) as p:
            r = await p.probe(make_check(base + "/x/y", expect=OK))
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail
    assert site.lines == ["GET /x/y HTTP/1.1", f"GET {target} HTTP/1.1"]


async def test_rfc9110_10_2_2_location_to_an_international_name(engine: str) -> None:
    site = Site({"/": redirect("http://bücher.example:{port}/done".encode()), "/done": fixed(BODY)})
    async with raw_server(site) as base:
        port = int(base.rsplit(":", 1)[1])
        site.routes["/"] = redirect(f"http://bücher.example:{port}/done".encode())
        resolver = NamesResolver(port)
        async with HttpProber(resolver=resolver, engine=engine) as p:
            r = await p.probe(make_check(base + "/", expect=OK))
    assert r.reason is Reason.OK, r.detail
    assert resolver.names == ["xn--bcher-kva.example"]
    assert site.hosts[-1] == f"xn--bcher-kva.example:{port}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_rfc9110_15_4_each_redirect_status_is_followed(engine: str, status: int) -> None:
    site = Site({"/": redirect(b"/done", status), "/done": fixed(BODY)})
    r, _, _ = await probe(engine, site, "http://127.0.0.1:{port}/")
    assert (r.reason, r.status_code) == (Reason.OK, 200), r.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ident", "location"),
    [
        ("ftp_scheme", b"ftp://example.com/x"),
        ("javascript_scheme", b"javascript:alert(1)"),
    ],
)
async def test_rfc9110_15_4_redirect_to_a_non_http_url_fails(
    engine: str, ident: str, location: bytes
) -> None:
    site = Site({"/": redirect(location)})
    r, _, _ = await probe(engine, site, "http://127.0.0.1:{port}/")
    assert r.reason is Reason.REDIRECTS, r.detail  # type: ignore[attr-defined]
