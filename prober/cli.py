"""The `prober` command: run | check-config | once | demo | schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from prober import __version__
from prober.config.model import Config
from prober.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:8080"


def example_config_path() -> str:
    """./checks.yaml when present, else the example packaged with prober."""
    if Path("checks.yaml").is_file():
        return "checks.yaml"
    return str(resources.files("prober") / "examples" / "checks.yaml")


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - ":8080" means all


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def read_token(args: argparse.Namespace) -> str | None:
    if args.api_token_file:
        token = Path(args.api_token_file).read_text().strip()
        return token or None
    token = os.environ.get("PROBER_API_TOKEN", "").strip()
    return token or None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prober", description="Synthetic checks, status, incidents.")
    p.add_argument("--version", action="version", version=f"prober {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def serve_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--listen", type=parse_listen,
                        default=_env("PROBER_LISTEN", DEFAULT_LISTEN),
                        help="HOST:PORT to serve on (env PROBER_LISTEN, default %(default)s)")
        sp.add_argument("--db", default=_env("PROBER_DB", "prober.db"),
                        help="SQLite file, or :memory: (env PROBER_DB, default prober.db)")
        sp.add_argument("--log-format", choices=["auto", "json", "console"],
                        default=_env("PROBER_LOG_FORMAT", "auto"),
                        help="json in containers, console on a terminal (env PROBER_LOG_FORMAT)")
        sp.add_argument("--log-level", default=_env("PROBER_LOG_LEVEL", "info"))
        sp.add_argument("--api-token-file", default=_env("PROBER_API_TOKEN_FILE"),
                        help="file holding the bearer token for the write API "
                        "(env PROBER_API_TOKEN_FILE; or the token itself in PROBER_API_TOKEN)")
        sp.add_argument("--grace", type=float, default=10.0,
                        help="seconds in-flight probes may finish on SIGTERM")

    run = sub.add_parser("run", help="probe continuously and serve metrics, API and page")
    run.add_argument("--config", default=_env("PROBER_CONFIG"),
                     help="checks.yaml (env PROBER_CONFIG; default ./checks.yaml or the example)")
    serve_args(run)

    demo = sub.add_parser("demo", help="run a simulated SaaS API replaying an incident, and "
                          "prober against it")
    demo.add_argument("--config", default=None, help="checks.yaml (default: the example)")
    demo.add_argument("--target-listen", type=parse_listen, default=("127.0.0.1", 8081))
    demo.add_argument("--scenario", default="seed")
    serve_args(demo)

    cc = sub.add_parser("check-config", help="validate checks.yaml files; exit 1 on errors")
    cc.add_argument("files", nargs="+")

    sub.add_parser("schema", help="print the JSON Schema of checks.yaml")

    once = sub.add_parser("once", help="run each check once and print a table")
    once.add_argument("file")
    once.add_argument("--check", action="append", dest="checks", metavar="ID")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        from prober.config.loader import check_files

        code, text = check_files(args.files)
        print(text)
        return code
    if args.command == "schema":
        from prober.config.schema import json_schema

        print(json.dumps(json_schema(), indent=2))
        return 0
    if args.command == "once":
        return _once(args.file, args.checks)
    return _serve(args)


def _once(path: str, checks: list[str] | None) -> int:
    from prober.config.loader import load_config
    from prober.probes.once import format_table, run_once

    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    known = {c.id for c in config.checks}
    unknown = [c for c in checks or [] if c not in known]
    if unknown:
        print(f"{path}: unknown check id(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    results = asyncio.run(run_once(config, checks))
    print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def _serve(args: argparse.Namespace) -> int:
    from prober import logs
    from prober.config.loader import load_config

    logs.configure(args.log_format, args.log_level)
    log = logs.get_logger("prober")
    path = args.config or example_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("config_invalid", error=str(issue))
        return 1
    try:
        token = read_token(args)
    except OSError as exc:
        log.error("api_token_unreadable", path=args.api_token_file, error=exc.strerror)
        return 1
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    return asyncio.run(_serve_async(args, config, path, token))


DEMO_TARGET = "http://127.0.0.1:8081"


def demo_config(config: Config, target: tuple[str, int]) -> Config:
    """The example config pointed at the demo target, with a compressed clock: the simulated
    episode cycles every 240 s (prober/demo/scenarios.py), so the probe interval, status
    window, recovery time and quiet period shrink to fit it."""
    base = f"http://{target[0]}:{target[1]}"
    # One round a second (10 requests): the sequential test sees the episode's 15% and
    # 40% within its phases (random draws since issue 11, so it needs the samples).
    checks = tuple(
        dataclasses.replace(c, url=base + c.url[len(DEMO_TARGET) :], interval=1.0,
                            timeout=min(c.timeout, 0.9))
        if c.url.startswith(DEMO_TARGET + "/")
        else c
        for c in config.checks
    )
    components = tuple(
        dataclasses.replace(c, policy=dataclasses.replace(c.policy, window=30.0,
                                                          recovery_time=10.0))
        for c in config.components
    )
    incidents = dataclasses.replace(config.incidents, quiet_period=30.0, min_update_spacing=5.0)
    return dataclasses.replace(config, checks=checks, components=components, incidents=incidents)


async def _serve_async(
    args: argparse.Namespace, config: Config, path: str, token: str | None
) -> int:
    from aiohttp import web

    from prober.api.thread import ServerThread
    from prober.logs import get_logger
    from prober.service import Service, Settings, quiet_gc

    log = get_logger("prober")
    sim_runner: web.AppRunner | None = None
    transform = None
    if args.command == "demo":
        from prober.demo.sim import start_sim

        sim_host, sim_port = args.target_listen
        try:
            sim_runner, sim_port = await start_sim(sim_host, sim_port, scenario=args.scenario)
        except OSError as exc:
            log.error("listen_failed", what="demo target", host=sim_host, port=sim_port,
                      error=exc.strerror)
            return 1
        log.info("demo_target_started", url=f"http://{sim_host}:{sim_port}/",
                 scenario=args.scenario)
        target = sim_host, sim_port
        config = demo_config(config, target)

        def transform(c: Config) -> Config:
            return demo_config(c, target)

    quiet_gc()
    host, port = args.listen
    settings = Settings(config_path=path, db_path=args.db, api_token=token, grace=args.grace,
                        transform=transform)
    service = Service(settings, config)
    # HTTP is served from its own thread and loop (prober/api/thread.py): reads of the
    # immutable snapshot never queue behind probe rounds.
    server = ServerThread(service, host, port)
    try:
        try:  # bind first: a port in use fails before anything else starts
            bound = server.start()
        except OSError as exc:
            log.error("listen_failed", host=host, port=port, error=exc.strerror or str(exc))
            return 1
        await service.start()
        log.info("listening", url=f"http://{bound[0]}:{bound[1]}/")

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
        log.info("shutting_down", grace=args.grace)
        await service.stop()
        return 0
    finally:
        await server.stop()
        if sim_runner is not None:
            await sim_runner.cleanup()
