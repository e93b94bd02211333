"""Absolute links (page.url, shortlink, feed) built from the request when page.url is unset.

Most tests here run behind a trusted proxy (the test client's loopback address is trusted);
`test_untrusted_*` show that an arbitrary client's Host / X-Forwarded-* change nothing."""

from __future__ import annotations

import dataclasses
from xml.etree import ElementTree as ET

import pytest

from prober.api import make_app
from prober.api.app import STATE
from prober.api.origin import clean_host, parse_networks
from prober.config.model import Page
from tests.api.fake import INCIDENT_ID, TOKEN, during_snapshot
from tests.api.schemas import assert_valid
from tests.api.test_statuspage_api import ENDPOINTS

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def client(aiohttp_client, backend):
    trusted = parse_networks(["127.0.0.0/8", "::1"])
    return await aiohttp_client(make_app(backend, trusted_proxies=trusted))


@pytest.fixture
async def untrusted(aiohttp_client, backend):
    return await aiohttp_client(make_app(backend))


@pytest.fixture
def no_url(backend):
    backend.set_snapshot(dataclasses.replace(during_snapshot(), page=Page(name="P")))
    return backend


async def _summary(client, **headers):
    return await (await client.get("/api/v2/summary.json", headers=headers)).json()


async def test_links_are_absolute_from_the_host_header(client, no_url):
    host = f"{client.server.host}:{client.server.port}"
    body = await (await client.get("/api/v2/incidents.json")).json()
    assert body["page"]["url"] == f"http://{host}"
    assert body["incidents"][0]["shortlink"] == f"http://{host}/incidents/{INCIDENT_ID}"
    body = await _summary(client, Host="status.example.org")
    assert body["page"]["url"] == "http://status.example.org"
    assert body["scheduled_maintenances"][0]["shortlink"].startswith("http://status.example.org/")
    for path, schema in ENDPOINTS.items():  # the schemas require absolute URLs
        assert_valid(schema, await (await client.get(path)).json())


async def test_forwarded_headers_first_value_only(client, no_url):
    headers = {
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "Status.Acme.io, evil.example",
        "Host": "10.0.0.7:8080",
    }
    body = await _summary(client, **headers)
    assert body["page"]["url"] == "https://status.acme.io"
    assert body["incidents"][0]["shortlink"] == f"https://status.acme.io/incidents/{INCIDENT_ID}"
    body = await _summary(client, **{"X-Forwarded-Proto": "https", "Host": "[::1]:8080"})
    assert body["page"]["url"] == "https://[::1]:8080"


@pytest.mark.parametrize(
    "forwarded",
    [
        'evil.example"><script>alert(1)</script>',
        "evil.example/phish",
        "user@evil.example",
        "evil.example:80:90",
        "evil example",
        "",
    ],
)
async def test_hostile_forwarded_host_is_ignored(client, no_url, forwarded):
    headers = {"X-Forwarded-Host": forwarded, "X-Forwarded-Proto": "javascript", "Host": "ok.io"}
    body = await _summary(client, **headers)
    assert body["page"]["url"] == "http://ok.io"


async def test_hostile_host_falls_back_to_the_listening_address(client, no_url):
    body = await _summary(client, Host="evil.example/x?y")
    assert body["page"]["url"] == f"http://{client.server.host}:{client.server.port}"


def test_clean_host():
    assert clean_host("Example.COM:443, other") == "example.com:443"
    assert clean_host("[2001:db8::1]:8443") == "[2001:db8::1]:8443"
    for bad in (None, "", "a/b", "a b", "<x>", "a:b", "-a.com", "x" * 300, "[::1", "a@b"):
        assert clean_host(bad) is None, bad


async def test_feed_links_are_absolute(client, no_url):
    feed = await (await client.get("/history.atom", headers={"Host": "status.acme.io"})).read()
    root = ET.fromstring(feed)
    hrefs = [link.get("href") for link in root.iter(f"{ATOM}link")]
    assert hrefs and all(h.startswith("http://status.acme.io/") for h in hrefs), hrefs
    assert f"http://status.acme.io/incidents/{INCIDENT_ID}" in hrefs


async def test_write_response_shortlink_is_absolute(client, no_url):
    resp = await client.post(
        f"/api/prober/v1/incidents/{INCIDENT_ID}/updates",
        json={"body": "Looking into it."},
        headers={"Authorization": f"Bearer {TOKEN}", "Host": "status.acme.io"},
    )
    assert resp.status == 201
    shortlink = (await resp.json())["incident"]["shortlink"]
    assert shortlink == f"http://status.acme.io/incidents/{INCIDENT_ID}"


async def test_vary_names_the_link_headers_only_when_they_matter(client, backend):
    with_url = await client.get("/api/v2/summary.json")
    assert with_url.headers["Vary"] == "Accept-Encoding"
    body = await _summary(client, Host="attacker.example")
    assert body["page"]["url"] == "https://status.example.com"  # configured url wins
    backend.set_snapshot(dataclasses.replace(during_snapshot(), page=Page(name="P")))
    without = await client.get("/api/v2/summary.json")
    assert without.headers["Vary"] == "Accept-Encoding, Host, X-Forwarded-Host, X-Forwarded-Proto"


async def test_cache_holds_a_bounded_number_of_base_urls(client, no_url):
    cache = client.app[STATE].cache
    for _ in range(3):
        await _summary(client, Host="a.example")
    builds = cache.builds
    await _summary(client, Host="a.example")
    assert cache.builds == builds  # one body per (version, base URL)
    for n in range(30):
        body = await _summary(client, Host=f"h{n}.example")
        assert body["page"]["url"] == f"http://h{n}.example"
    assert cache.bases == 8
    await _summary(client, Host="h29.example")  # recently used: still cached
    assert cache.builds == builds + 30
    await _summary(client, Host="a.example")  # evicted long ago: rendered again
    assert cache.builds == builds + 31


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    ],
)
async def test_untrusted_clients_host_headers_never_decide_links(untrusted, no_url, headers):
    body = await _summary(untrusted, **headers)
    own = f"http://{untrusted.server.host}:{untrusted.server.port}"
    assert body["page"]["url"] == own
    assert body["incidents"][0]["shortlink"] == f"{own}/incidents/{INCIDENT_ID}"
    feed = await (await untrusted.get("/history.atom", headers=headers)).read()
    assert b"evil.example" not in feed


async def test_untrusted_configured_page_url_wins(untrusted, backend):
    body = await _summary(untrusted, Host="evil.example")
    assert body["page"]["url"] == "https://status.example.com"


def test_trusted_proxy_setting_is_validated():
    assert [str(n) for n in parse_networks(["10.0.0.0/8, 192.168.1.1", "::1"])] == [
        "10.0.0.0/8",
        "192.168.1.1/32",
        "::1/128",
    ]
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        parse_networks(["proxy.local"])
