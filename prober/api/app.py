"""The aiohttp application: routes, middleware and the handlers that serve cached views.

Every GET is answered from a body rendered once per snapshot version (see cache.py).
Routes are listed in docs/API.md. Two surfaces: the public one (status page, feed, read
API) and the admin one (/metrics, /-/reload, the write API); `prober run` serves them on
two listeners (--listen, --admin-listen) so that only the public one is ever exposed. Both
answer /-/healthy and /-/ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from aiohttp import web
from prometheus_client.exposition import choose_encoder, gzip_accepted

from prober.api import extension, history, manage, statuspage
from prober.api.backend import ApiBackend
from prober.api.bodies import Rendered, error_json, render, render_json, respond
from prober.api.fastcache import RenderCache
from prober.api.fastjson import dumps
from prober.api.feed import atom, component_feed_path
from prober.api.origin import TRUSTED_PROXIES, Network, linked
from prober.api.page import FEED_PATH, PageRenderer
from prober.api.subscribe import RSS_PATH, rss, status_badge, uptime_badge
from prober.api.writes import post_update
from prober.domain.snapshot import StatusSnapshot

HTML_TYPE = "text/html; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
SVG_TYPE = "image/svg+xml; charset=utf-8"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# The page runs no script at all; styles are inline.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC = Path(__file__).parent / "static"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
View = Callable[[StatusSnapshot], Rendered]


@dataclass
class ApiState:
    backend: ApiBackend
    cache: RenderCache = field(default_factory=RenderCache)
    pages: PageRenderer = field(default_factory=PageRenderer)


STATE = web.AppKey("prober_api_state", ApiState)


def _json_view(build: Callable[[StatusSnapshot], object]) -> View:
    return lambda snap: render_json(build(snap))


STATUSPAGE_VIEWS: dict[str, View] = {
    "/api/v2/summary.json": _json_view(statuspage.summary),
    "/api/v2/status.json": _json_view(statuspage.status),
    "/api/v2/components.json": _json_view(statuspage.components),
    "/api/v2/incidents.json": _json_view(statuspage.incidents),
    "/api/v2/incidents/unresolved.json": _json_view(statuspage.unresolved),
    "/api/v2/scheduled-maintenances.json": _json_view(statuspage.scheduled_maintenances),
    "/api/v2/scheduled-maintenances/upcoming.json": _json_view(statuspage.upcoming_maintenances),
    "/api/v2/scheduled-maintenances/active.json": _json_view(statuspage.active_maintenances),
    "/api/prober/v1/uptime.json": _json_view(extension.uptime),
    "/api/prober/v1/components.json": _json_view(extension.components),
    "/api/prober/v1/checks.json": _json_view(extension.checks),
}


def _cached(key: str, view: View) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        snap, base, vary = linked(request, state.backend.snapshot())
        rendered = state.cache.get(snap.version, key, lambda: view(snap), base)
        return respond(request, rendered, vary)

    return handler


async def _index(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap = state.backend.snapshot()
    # ?refresh=on: the reader asked for a page that reloads itself (WCAG 2.2.1: an
    # automatic reload is the reader's choice, never the default).
    auto = request.query.get("refresh") == "on" and snap.page.refresh > 0
    rendered = state.cache.get(
        snap.version,
        "page:/auto" if auto else "page:/",
        lambda: render(state.pages.index(snap, auto).encode(), HTML_TYPE),
    )
    return respond(request, rendered)


async def _incident_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap = state.backend.snapshot()
    incident = extension.find_incident(snap, request.match_info["incident_id"])
    if incident is None:
        raise web.HTTPNotFound(reason="No such incident")
    rendered = state.cache.get(
        snap.version,
        f"page:incident:{incident.id}",
        lambda: render(state.pages.incident(snap, incident).encode(), HTML_TYPE),
    )
    return respond(request, rendered)


async def _incident_json(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap, base, vary = linked(request, state.backend.snapshot())
    incident_id = request.match_info["incident_id"]
    incident = extension.find_incident(snap, incident_id)
    if incident is None:
        return error_json(404, "not_found", f"no incident with id {incident_id!r}")
    rendered = state.cache.get(
        snap.version,
        f"json:incident:{incident.id}",
        lambda: render_json(extension.incident_detail(incident, snap)),
        base,
    )
    return respond(request, rendered, vary)


async def _history(request: web.Request) -> web.StreamResponse:
    return await history.current_month(request, request.app[STATE].backend)


async def _history_month(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    rendered = await history.month_page(request, state.backend, state.pages, state.cache)
    return respond(request, rendered)


async def _feed(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap, base, vary = linked(request, state.backend.snapshot())
    rendered = state.cache.get(snap.version, "feed", lambda: render(atom(snap), ATOM_TYPE), base)
    return respond(request, rendered, vary)


async def _component_feed(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap, base, vary = linked(request, state.backend.snapshot())
    cid = request.match_info["component"]
    if snap.component(cid) is None:
        raise web.HTTPNotFound(reason="No such component")
    rendered = state.cache.get(
        snap.version, f"feed:{cid}", lambda: render(atom(snap, cid), ATOM_TYPE), base
    )
    return respond(request, rendered, vary)


async def _rss(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    snap, base, vary = linked(request, state.backend.snapshot())
    rendered = state.cache.get(snap.version, "rss", lambda: render(rss(snap), RSS_TYPE), base)
    return respond(request, rendered, vary)


def _badge(kind: str, build: Callable[[StatusSnapshot, str], bytes | None]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        snap = state.backend.snapshot()
        cid = request.match_info["component"]
        body = build(snap, cid)
        if body is None:
            raise web.HTTPNotFound(reason="No such component")
        rendered = state.cache.get(
            snap.version, f"badge:{kind}:{cid}", lambda: render(body, SVG_TYPE)
        )
        response = respond(request, rendered)
        response.headers["Content-Security-Policy"] = SVG_CSP
        return response

    return handler


async def _metrics(request: web.Request) -> web.StreamResponse:
    """Content negotiation as prometheus_client's own handlers: OpenMetrics when the scraper
    asks for it, else the text format 0.0.4; gzip when `Accept-Encoding` allows it."""
    _, negotiated = choose_encoder(request.headers.get("Accept", ""))
    openmetrics = negotiated.startswith("application/openmetrics-text")
    body, content_type = await request.app[STATE].backend.metrics(openmetrics)
    response = web.Response(
        body=body, headers={"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
    )
    if gzip_accepted(request.headers.get("Accept-Encoding", "")):
        response.enable_compression(web.ContentCoding.gzip)
    return response


async def _locations(request: web.Request) -> web.StreamResponse:
    """The agents' locations (issue 14): ok, lost (its own network problem, held out) or
    no_data (stopped reporting), as the leader last judged them; [] without agents."""
    found = request.app[STATE].backend.locations()
    body = {
        "locations": [
            {
                "name": loc.get("name"),
                "state": loc.get("state"),
                "since": _iso_or_none(loc.get("since")),
                "last_report": _iso_or_none(loc.get("last_report")),
                "checks": loc.get("checks", 0),
                "unreachable": loc.get("unreachable", 0),
            }
            for loc in found
        ]
    }
    return web.json_response(body, headers={"Cache-Control": "no-cache"})


def _iso_or_none(at: object) -> str | None:
    return statuspage.iso(float(at)) if isinstance(at, int | float) else None


async def _healthy(request: web.Request) -> web.StreamResponse:
    return web.Response(text="Healthy.\n")


async def _ready(request: web.Request) -> web.StreamResponse:
    ok, reason = request.app[STATE].backend.ready()
    text = (reason or ("Ready." if ok else "Not ready.")) + "\n"
    return web.Response(status=200 if ok else 503, text=text)


async def _reload(request: web.Request) -> web.StreamResponse:
    ok, errors = await request.app[STATE].backend.reload()
    if ok:
        return web.Response(body=dumps({"status": "reloaded"}), content_type="application/json")
    return error_json(
        400,
        "reload_failed",
        "the configuration was not applied; the running one is kept",
        errors=errors,
    )


async def _write(request: web.Request) -> web.StreamResponse:
    return await post_update(request, request.app[STATE].backend)


# CORS: reads are public, for browser widgets on any origin; a preflight is answered
# without touching the snapshot. Writes get no CORS headers at all (same origin only).
_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Cache-Control, Content-Type",
    "Access-Control-Max-Age": "86400",
    "Allow": "GET, HEAD, OPTIONS",
}


async def _preflight(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204, headers=_PREFLIGHT)


_NO_CORS = ("/metrics", "/-/")
_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as JSON under /api and /-/, CORS on reads, defensive headers everywhere."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if request.path.startswith(("/api/", "/-/")):
            response = error_json(exc.status, _CODES.get(exc.status, "error"), exc.reason)
        else:
            response = web.Response(status=exc.status, text=f"{exc.status} {exc.reason}\n")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    # Not on /metrics or /-/ (operational endpoints: no reason for any web page to read
    # them from a browser on another origin).
    if request.method in ("GET", "HEAD") and not request.path.startswith(_NO_CORS):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/html"):
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


class Surface(StrEnum):
    PUBLIC = "public"  # status page, feed, read API: what the Ingress exposes
    ADMIN = "admin"  # /metrics, /-/reload, the write API: Prometheus and operators only
    ALL = "all"  # both on one listener


def make_app(
    backend: ApiBackend,
    surface: Surface = Surface.ALL,
    trusted_proxies: tuple[Network, ...] = (),
) -> web.Application:
    """prober's HTTP surface (or one half of it), reading everything through `backend`;
    `trusted_proxies` may name the public host for links (see origin.py)."""
    app = web.Application(middlewares=[_headers], client_max_size=256 * 1024)
    app[STATE] = ApiState(backend=backend)
    app[TRUSTED_PROXIES] = trusted_proxies
    routes = app.router
    routes.add_get("/-/healthy", _healthy)
    routes.add_get("/-/ready", _ready)
    if surface is not Surface.PUBLIC:
        routes.add_get("/metrics", _metrics)
        routes.add_post("/-/reload", _reload)
        routes.add_post("/api/prober/v1/incidents/{incident_id}/updates", _write)
        manage.add_routes(app, lambda request: request.app[STATE].backend)
    if surface is Surface.ADMIN:
        return app
    reads: list[tuple[str, Handler]] = [
        *((path, _cached(path, view)) for path, view in STATUSPAGE_VIEWS.items()),
        ("/api/prober/v1/incidents/{incident_id}.json", _incident_json),
        ("/api/prober/v1/locations.json", _locations),
        ("/", _index),
        ("/incidents/{incident_id}", _incident_page),
        ("/history", _history),
        ("/history/{month}", _history_month),
        (FEED_PATH, _feed),
        (component_feed_path("{component}"), _component_feed),
        (RSS_PATH, _rss),
        ("/badge/{component}/status.svg", _badge("status", status_badge)),
        ("/badge/{component}/uptime.svg", _badge("uptime", uptime_badge)),
    ]
    for path, handler in reads:
        routes.add_get(path, handler)
        routes.add_route("OPTIONS", path, _preflight)
    routes.add_static("/static/", STATIC)
    return app
