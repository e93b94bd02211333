"""`prober run` and `prober demo` once their arguments are read (prober/cli.py): builds the
service with its collaborators (prober/service/build.py) and the HTTP thread, binds,
starts, waits for a signal, stops. A port that cannot be bound is one line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from prober.api.origin import Network
from prober.api.thread import AdminListenError, ServerThread
from prober.config.model import Config
from prober.errors import StoreError, StoreLockedError, StoreLostError
from prober.logs import get_logger
from prober.service import Service, build_service, quiet_gc
from prober.settings import Settings


def _listen_failed(option: str, host: str, port: int, exc: OSError) -> None:
    """A listen address that cannot be bound: one line, like every usage mistake."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(f"prober: error: {option} {where}: cannot listen: {exc.strerror or exc}", file=sys.stderr)


DEMO_TARGET = "http://127.0.0.1:8081"


def demo_config(config: Config, target: tuple[str, int]) -> Config:
    """The example config pointed at the demo target, with a compressed clock: the simulated
    episode cycles every 240 s (prober/demo/scenarios.py), so the probe interval, status
    window, recovery time and quiet period shrink to fit it."""
    base = f"http://{target[0]}:{target[1]}"
    # One round a second (10 requests): the sequential test sees the episode's 15% and
    # 40% within its phases (random draws since issue 11, so it needs the samples).
    checks = tuple(
        dataclasses.replace(
            c, url=base + c.url[len(DEMO_TARGET) :], interval=1.0, timeout=min(c.timeout, 0.9)
        )
        if c.url.startswith(DEMO_TARGET + "/")
        else c
        for c in config.checks
    )
    components = tuple(
        dataclasses.replace(
            c, policy=dataclasses.replace(c.policy, window=30.0, recovery_time=10.0)
        )
        for c in config.components
    )
    incidents = dataclasses.replace(config.incidents, quiet_period=30.0, min_update_spacing=5.0)
    return dataclasses.replace(config, checks=checks, components=components, incidents=incidents)


Transform = Callable[[Config], Config]
USAGE_ERROR = 2  # as prober/cli.py: a user mistake, one line on stderr


async def _start_demo(
    args: argparse.Namespace, config: Config
) -> tuple[web.AppRunner, Config, Transform] | None:
    """`prober demo`: the simulated target, and the config pointed at it (None: not bound)."""
    from prober.demo.sim import start_sim

    sim_host, sim_port = args.target_listen
    try:
        sim_runner, sim_port = await start_sim(sim_host, sim_port, scenario=args.scenario)
    except OSError as exc:
        _listen_failed("--target-listen", sim_host, sim_port, exc)
        return None
    url = f"http://{sim_host}:{sim_port}/"
    get_logger("prober").info("demo_target_started", url=url, scenario=args.scenario)
    target = sim_host, sim_port

    def transform(c: Config) -> Config:
        return demo_config(c, target)

    return sim_runner, transform(config), transform


def _settings(
    args: argparse.Namespace, path: str, token: str | None, transform: Transform | None
) -> Settings:
    from prober.metrics import MetricsOptions

    return Settings(
        config_path=path,
        db_path=args.db,
        api_token=token,
        grace=args.grace,
        transform=transform,
        metrics=MetricsOptions(args.metrics_detail, args.metrics_blackbox),
        allow_new_db=args.allow_new_db,
    )


def _bind(args: argparse.Namespace, server: ServerThread) -> tuple[str, int] | None:
    """Bind first: a port in use fails, as one line, before anything else starts."""

    try:
        return server.start()
    except AdminListenError as exc:
        admin_host, admin_port = args.admin_listen
        _listen_failed("--admin-listen", admin_host, admin_port, exc)
    except OSError as exc:
        host, port = args.listen
        _listen_failed("--listen", host, port, exc)
    return None


async def _start(service: Service) -> bool:

    try:
        await service.start()
        return True
    except StoreLockedError as exc:
        get_logger("prober").error("store_locked", error=str(exc))
    except StoreLostError as exc:
        get_logger("prober").error("store_lost", error=str(exc))
    except StoreError as exc:  # PostgreSQL unreachable: never run on a memory store there
        get_logger("prober").error("store_unavailable", error=str(exc))
    return False


async def _until_signalled(service: Service) -> None:
    """SIGTERM or SIGINT ends the wait; SIGHUP reloads the config."""
    stop = asyncio.Event()
    reloads: set[asyncio.Task[tuple[bool, list[str]]]] = set()

    def on_hup() -> None:
        task = asyncio.ensure_future(service.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    await stop.wait()


def _log_listening(config: Config, proxies: tuple[Network, ...], server: ServerThread) -> None:

    log = get_logger("prober")
    if not config.page.url and not proxies:
        log.info(
            "links_from_listen_address",
            hint="page.url is unset: absolute links use the address clients connect "
            "to; set page.url (or --trusted-proxy behind a reverse proxy)",
        )
    host, port = server.address
    log.info("listening", url=f"http://{host}:{port}/")
    if server.admin_address is not None:
        admin_host, admin_port = server.admin_address
        log.info("admin_listening", url=f"http://{admin_host}:{admin_port}/")


async def serve_async(
    args: argparse.Namespace,
    config: Config,
    path: str,
    token: str | None,
    proxies: tuple[Network, ...],
) -> int:

    sim_runner, transform = None, None
    if args.command == "demo":
        demo = await _start_demo(args, config)
        if demo is None:
            return USAGE_ERROR
        sim_runner, config, transform = demo
    quiet_gc()
    # The one place the service's collaborators are built (prober/service/build.py).
    service = build_service(_settings(args, path, token, transform), config)
    # HTTP is served from its own thread and loop (prober/api/thread.py): it reads the
    # service's one published value and submits everything else to this loop.
    host, port = args.listen
    server = ServerThread(service, host, port, admin=args.admin_listen, trusted_proxies=proxies)
    try:
        if _bind(args, server) is None:
            return USAGE_ERROR
        if not await _start(service):
            return 1
        _log_listening(config, proxies, server)
        await _until_signalled(service)
        get_logger("prober").info("shutting_down", grace=args.grace)
        await service.stop()
        return 0
    finally:
        await server.stop()
        if sim_runner is not None:
            await sim_runner.cleanup()
