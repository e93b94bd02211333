"""The incident history: one page per UTC month (`/history/2026-05`), as Statuspage has;
`/history` redirects to the current month. Read from the store through the backend, so
it reaches back as far as the store keeps incidents (retention), not only the snapshot's
recent ones."""

from __future__ import annotations

from aiohttp import web

from prober.api.backend import ApiBackend
from prober.api.bodies import Rendered, render
from prober.api.fastcache import RenderCache
from prober.api.page import PageRenderer, month_bounds, month_key

HTML_TYPE = "text/html; charset=utf-8"


async def current_month(request: web.Request, backend: ApiBackend) -> web.StreamResponse:
    raise web.HTTPFound(f"/history/{month_key(backend.snapshot().generated_at)}")


async def month_page(
    request: web.Request, backend: ApiBackend, pages: PageRenderer, cache: RenderCache
) -> Rendered:
    """The rendered month page (HTTPNotFound for a malformed or future month)."""
    key = request.match_info["month"]
    bounds = month_bounds(key)
    snap = backend.snapshot()
    if bounds is None or key > month_key(snap.generated_at):
        raise web.HTTPNotFound(reason="No such month")
    cached = cache.peek(snap.version, f"page:history:{key}")
    if cached is not None:  # no store read per request while the snapshot stands
        return cached
    incidents = await backend.incident_history(*bounds)
    return cache.get(
        snap.version,
        f"page:history:{key}",
        lambda: render(pages.history(snap, key, incidents).encode(), HTML_TYPE),
    )
