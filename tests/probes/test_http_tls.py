"""HTTPS probes against a local TLS server with certificates made by `cryptography`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from cryptography import x509

from prober.config.model import TLSOptions
from prober.probes.http import HttpProber
from prober.probes.result import Reason
from prober.probes.tls import ContextCache, der_not_after

from .servers import Pki, app_server, make_check, raw_server, server_context


def _app() -> web.Application:
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="secure")

    app.router.add_get("/", ok)
    return app


@asynccontextmanager
async def tls_server(cert: str, key: str, client_ca: str | None = None) -> AsyncIterator[str]:
    async with app_server(_app(), server_context(cert, key, client_ca)) as url:
        yield url


async def test_valid_certificate_with_ca(prober: HttpProber, pki: Pki) -> None:
    async with tls_server(pki.server_cert, pki.server_key) as url:
        r = await prober.probe(make_check(url + "/", tls=TLSOptions(ca_file=pki.ca_file)))
    assert r.reason is Reason.OK, r.detail
    assert r.cert_expiry == pki.server_not_after
    assert r.phases["tls"] > 0 and r.phases["connect"] > 0


async def test_cert_expiry_on_reused_connection(prober: HttpProber, pki: Pki) -> None:
    tls = TLSOptions(ca_file=pki.ca_file)
    async with tls_server(pki.server_cert, pki.server_key) as url:
        results = [
            await prober.probe(make_check(url + "/", tls=tls, fresh_connection=False))
            for _ in range(3)
        ]
    assert [r.reason for r in results] == [Reason.OK] * 3
    assert [r.cert_expiry for r in results] == [pki.server_not_after] * 3
    assert results[1].phases["tls"] == 0  # no new handshake on a kept-alive connection


async def test_self_signed_is_tls_failure(prober: HttpProber, pki: Pki) -> None:
    async with tls_server(pki.self_signed_cert, pki.self_signed_key) as url:
        r = await prober.probe(make_check(url + "/"))
    assert r.reason is Reason.TLS
    assert r.detail.startswith("tls: certificate: self")  # "self-signed certificate"
    assert r.status_code is None


async def test_unknown_ca_is_tls_failure(prober: HttpProber, pki: Pki) -> None:
    async with tls_server(pki.server_cert, pki.server_key) as url:
        r = await prober.probe(make_check(url + "/"))  # system CAs only
    assert r.reason is Reason.TLS
    assert "unable to get local issuer certificate" in r.detail


async def test_expired_certificate(prober: HttpProber, pki: Pki) -> None:
    async with tls_server(pki.expired_cert, pki.expired_key) as url:
        r = await prober.probe(make_check(url + "/", tls=TLSOptions(ca_file=pki.ca_file)))
    assert (r.reason, r.detail) == (Reason.TLS, "tls: certificate: certificate has expired")


async def test_wrong_hostname(prober: HttpProber, pki: Pki) -> None:
    async with tls_server(pki.named_cert, pki.named_key) as url:
        r = await prober.probe(make_check(url + "/", tls=TLSOptions(ca_file=pki.ca_file)))
    assert r.reason is Reason.TLS
    assert "mismatch" in r.detail


async def test_server_name_option(prober: HttpProber, pki: Pki) -> None:
    tls = TLSOptions(ca_file=pki.ca_file, server_name="prober.test")
    async with tls_server(pki.named_cert, pki.named_key) as url:
        r = await prober.probe(make_check(url + "/", tls=tls))
    assert r.reason is Reason.OK, r.detail


async def test_insecure_skip_verify(prober: HttpProber, pki: Pki) -> None:
    tls = TLSOptions(insecure_skip_verify=True)
    async with tls_server(pki.self_signed_cert, pki.self_signed_key) as url:
        r = await prober.probe(make_check(url + "/", tls=tls))
    assert r.reason is Reason.OK, r.detail
    assert r.cert_expiry == pki.server_not_after  # read from DER even without verification
    async with tls_server(pki.expired_cert, pki.expired_key) as url:
        r = await prober.probe(make_check(url + "/", tls=tls))
    assert r.reason is Reason.OK, r.detail
    assert r.cert_expiry is not None and r.cert_expiry < pki.server_not_after


async def test_client_certificate(prober: HttpProber, pki: Pki) -> None:
    with_cert = TLSOptions(ca_file=pki.ca_file, cert_file=pki.client_cert, key_file=pki.client_key)
    without = TLSOptions(ca_file=pki.ca_file)
    async with tls_server(pki.server_cert, pki.server_key, client_ca=pki.ca_file) as url:
        ok = await prober.probe(make_check(url + "/", tls=with_cert))
        refused = await prober.probe(make_check(url + "/", tls=without))
    assert ok.reason is Reason.OK, ok.detail
    # TLS 1.3 reports a missing client certificate after the handshake, on first read.
    assert refused.reason in (Reason.TLS, Reason.PROTOCOL, Reason.CONNECT), refused.detail
    assert not refused.ok


async def test_missing_ca_file_is_tls_failure(prober: HttpProber, tmp_path: Path) -> None:
    tls = TLSOptions(ca_file=str(tmp_path / "absent.pem"))
    r = await prober.probe(make_check("https://127.0.0.1:1/", tls=tls))
    assert (r.reason, r.detail) == (Reason.TLS, "tls config: FileNotFoundError")


async def test_tls_handshake_that_never_completes_times_out(prober: HttpProber) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as url:
        https = url.replace("http://", "https://")
        r = await prober.probe(make_check(https + "/", timeout=0.3))
    assert r.reason is Reason.TIMEOUT
    assert r.detail == "timeout after 0.3s (during TLS handshake)"
    assert r.phases["tls"] > 0


def test_context_cache_builds_once_per_options(pki: Pki) -> None:
    cache = ContextCache()
    a = cache.get(TLSOptions(ca_file=pki.ca_file))
    b = cache.get(TLSOptions(ca_file=pki.ca_file))
    c = cache.get(TLSOptions(ca_file=pki.ca_file, insecure_skip_verify=True))
    assert a is b and a is not c
    assert len(cache) == 2


def test_der_not_after_matches_cryptography(pki: Pki) -> None:
    for path in (pki.server_cert, pki.expired_cert, pki.ca_file, pki.client_cert):
        cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
        from cryptography.hazmat.primitives.serialization import Encoding

        der = cert.public_bytes(Encoding.DER)
        assert der_not_after(der) == cert.not_valid_after_utc.timestamp()
