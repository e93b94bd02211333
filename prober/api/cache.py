"""Serialize once per snapshot version: cached bodies with ETag, pre-gzipped, conditional GET.

OPTIMISATION (docs/PERFORMANCE.md, ledger lines "apicache" and "orjson"): `RenderCache`
replaces rendering, hashing and compressing a body on every GET, and `dumps` encodes with
orjson instead of the standard library's json; `python -m bench.api_cache` runs each
next to its plain alternative. The ETag, gzip and 304 handling below are HTTP behaviour,
not optimisation, and stay whatever the ledger says.

A read costs a dict lookup and a header comparison; JSON, HTML and the feed are rendered
and compressed once for each snapshot version, whatever the request rate.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

JSON_TYPE = "application/json"
_MAX_ENTRIES = 512
_MAX_BASES = 8

# In JSON these bytes only ever occur inside strings, where their \u escapes are equivalent:
# escaping them keeps API bodies inert if a client ever embeds them in HTML.
_HTML_SAFE = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))


def dumps(obj: Any) -> bytes:
    body = orjson.dumps(obj)
    for raw, escaped in _HTML_SAFE:
        body = body.replace(raw, escaped)
    return body


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes | None  # None when compressing would not help
    etag: str  # quoted entity tag of the identity body
    content_type: str  # full header value

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


def render(body: bytes, content_type: str) -> Rendered:
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    packed = gzip.compress(body, compresslevel=6, mtime=0)
    return Rendered(
        body=body,
        gzipped=packed if len(packed) < len(body) else None,
        etag=f'"{digest}"',
        content_type=content_type,
    )


def render_json(obj: Any) -> Rendered:
    return render(dumps(obj), JSON_TYPE)


class RenderCache:
    """Rendered bodies of one snapshot version, per base URL; a newer version empties it.

    Bodies with absolute links depend on the base URL when `page.url` is not configured
    (see origin.py). The distinct base URLs kept are bounded (least recently used evicted),
    so random Host headers cost renders, never memory.
    """

    def __init__(self, max_entries: int = _MAX_ENTRIES, max_bases: int = _MAX_BASES) -> None:
        self._version: int | None = None
        self._bases: OrderedDict[str, dict[str, Rendered]] = OrderedDict()
        self._max = max_entries
        self._max_bases = max_bases
        self.builds = 0  # how many renders ran (tests assert reuse)

    def peek(self, version: int, key: str, base: str = "") -> Rendered | None:
        """The cached rendering of `key` for this snapshot version, if there is one."""
        if version != self._version:
            return None
        entries = self._bases.get(base)
        return None if entries is None else entries.get(key)

    def get(
        self, version: int, key: str, build: Callable[[], Rendered], base: str = ""
    ) -> Rendered:
        if version != self._version:
            self._version = version
            self._bases = OrderedDict()
        entries = self._bases.get(base)
        if entries is None:
            entries = self._bases[base] = {}
            while len(self._bases) > self._max_bases:
                self._bases.popitem(last=False)
        else:
            self._bases.move_to_end(base)
        hit = entries.get(key)
        if hit is not None:
            return hit
        rendered = build()
        self.builds += 1
        if len(entries) < self._max:
            entries[key] = rendered
        return rendered

    @property
    def bases(self) -> int:
        """How many base URLs the current version holds bodies for."""
        return len(self._bases)


def accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def _matches(header: str | None, rendered: Rendered) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or rendered.etag in tags or rendered.gzip_etag in tags


def respond(request: web.Request, rendered: Rendered, vary: str = "") -> web.Response:
    """A 200 (gzip when accepted) or a 304 when the client already has this version.

    `vary` names further request headers the body depends on (after Accept-Encoding).
    """
    use_gzip = rendered.gzipped is not None and accepts_gzip(request.headers.get("Accept-Encoding"))
    etag = rendered.gzip_etag if use_gzip else rendered.etag
    vary_all = f"Accept-Encoding, {vary}" if vary else "Accept-Encoding"
    headers = {"ETag": etag, "Vary": vary_all, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("If-None-Match"), rendered):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = rendered.content_type
    if use_gzip:
        assert rendered.gzipped is not None
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=rendered.gzipped, headers=headers)
    return web.Response(body=rendered.body, headers=headers)


def error_json(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """The one error shape of the API: {"error": {"code": ..., "message": ...}}."""
    payload: dict[str, Any] = {"code": code, "message": message, **extra}
    return web.Response(
        status=status, body=dumps({"error": payload}), headers={"Content-Type": JSON_TYPE}
    )
