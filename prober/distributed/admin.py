"""The agent's admin surface: /metrics (Prometheus text 0.0.4), /-/ready, /-/healthy."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from prober.distributed.agent import Agent

AGENT: web.AppKey[Agent] = web.AppKey("agent", Agent)


async def _metrics(request: web.Request) -> web.StreamResponse:
    body = request.app[AGENT].render_metrics()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _ready(request: web.Request) -> web.StreamResponse:
    ok, text = request.app[AGENT].ready()
    return web.Response(status=200 if ok else 503, text=text + "\n")


async def _healthy(request: web.Request) -> web.StreamResponse:
    return web.Response(text="Healthy.\n")


def app(agent: Agent) -> web.Application:
    application = web.Application()
    application[AGENT] = agent
    application.router.add_get("/metrics", _metrics)
    application.router.add_get("/-/ready", _ready)
    application.router.add_get("/-/healthy", _healthy)
    return application


async def serve(agent: Agent, host: str, port: int) -> tuple[web.AppRunner, tuple[str, int]]:
    """Start the admin server; its runner (to clean up) and the address it bound."""
    runner = web.AppRunner(app(agent), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[:2] if sockets else (host, port)
    return runner, (str(bound[0]), int(bound[1]))
