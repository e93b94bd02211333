"""Response bodies of the API and the page: rendered once with an ETag and a gzipped copy,
served as 200 (gzip when accepted) or 304 to a conditional GET; the one error shape.

What is cached, and for how long, is `prober.api.fastcache` (an optimisation); how JSON is
encoded is `prober.api.fastjson` (one too). This module is HTTP behaviour only.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from prober.api.fastjson import dumps

JSON_TYPE = "application/json"


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
