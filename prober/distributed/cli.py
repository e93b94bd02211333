"""`prober agent`: its arguments and its process (SIGTERM: stop probing, flush, exit 0)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import signal
from collections.abc import Sequence
from typing import Any

from prober.config.keys import ID_PATTERN
from prober.config.model import Config
from prober.distributed.roundlog import RoundLog, RoundRow, StoredRound
from prober.distributed.shard import parse_shard

DEFAULT_AGENT_ADMIN_LISTEN = "127.0.0.1:8091"
_LOCATION = re.compile(ID_PATTERN)


def _shard(value: str) -> tuple[int, int]:
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _location(value: str) -> str:
    if not _LOCATION.match(value):
        raise argparse.ArgumentTypeError(
            f"invalid location {value!r} (lower-case letters, digits, - and _, "
            "starting with a letter or digit, at most 63 characters)"
        )
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    from prober.cli import parse_listen

    env = os.environ.get
    agent = sub.add_parser("agent", help="probe a shard of the checks from one location")
    agent.add_argument(
        "--location",
        type=_location,
        default=env("PROBER_LOCATION"),
        help="name of this location, e.g. eu-west (env PROBER_LOCATION; required)",
    )
    agent.add_argument(
        "--db",
        default=env("PROBER_DB"),
        help="the shared round log: postgresql://... or sqlite:///path (env PROBER_DB; required)",
    )
    agent.add_argument(
        "--shard",
        type=_shard,
        default=env("PROBER_SHARD", "0/1"),
        help="I/N: probe the checks of shard I of N, I from 0 (env PROBER_SHARD, default 0/1)",
    )
    agent.add_argument(
        "--config", default=env("PROBER_CONFIG"), help="checks.yaml (env PROBER_CONFIG)"
    )
    agent.add_argument(
        "--admin-listen",
        type=parse_listen,
        default=env("PROBER_ADMIN_LISTEN", DEFAULT_AGENT_ADMIN_LISTEN),
        help="HOST:PORT for /metrics and /-/ready (env PROBER_ADMIN_LISTEN, "
        f"default {DEFAULT_AGENT_ADMIN_LISTEN})",
    )
    agent.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default=env("PROBER_LOG_FORMAT", "auto"),
        help="json in containers, console on a terminal (env PROBER_LOG_FORMAT)",
    )
    agent.add_argument(
        "--log-level",
        type=str.lower,
        choices=("debug", "info", "warning", "error", "critical"),
        default=(env("PROBER_LOG_LEVEL") or "info").lower(),
    )
    agent.add_argument("--name", default=None, help="this agent's name (default: host name)")
    agent.add_argument("--flush-timeout", type=float, default=10.0, help=argparse.SUPPRESS)


class _OpenOnUse:
    """A PostgreSQL round log opened on first use, and again after a failed open: the agent
    starts probing (and buffering) while the database is still away."""

    def __init__(self, url: str) -> None:
        from prober.store.postgres_rounds import PostgresRoundLog

        self._log = PostgresRoundLog(url)
        self._open = False

    async def _ready(self) -> None:
        if not self._open:
            await self._log.open()
            self._open = True

    async def append_rounds(self, rows: Sequence[RoundRow]) -> None:
        await self._ready()
        await self._log.append_rounds(rows)

    async def rounds_after(self, cursor: int, limit: int = 5000) -> tuple[list[StoredRound], int]:
        await self._ready()
        return await self._log.rounds_after(cursor, limit)

    async def prune_rounds(self, before: float) -> int:
        await self._ready()
        return await self._log.prune_rounds(before)

    async def close(self) -> None:
        await self._log.close()


def open_round_log(url: str) -> RoundLog:
    """The RoundLog a --db URL names; ValueError with a one-line reason otherwise."""
    from prober.store.postgres_conn import is_postgres_url

    if url.startswith("sqlite:///"):
        from prober.distributed.sqlite_rounds import SqliteRoundLog

        return SqliteRoundLog(url.removeprefix("sqlite://"))
    if is_postgres_url(url):
        return _OpenOnUse(url)
    raise ValueError("--db: expected postgresql://... or sqlite:///path")


async def _close(rounds: RoundLog) -> None:
    close = getattr(rounds, "close", None)
    if close is not None:
        result = close()
        if asyncio.iscoroutine(result):
            await result


def run(args: argparse.Namespace) -> int:
    """The agent process; UsageError for a bad invocation, 1 for a bad config."""
    from prober import logs
    from prober.cli import UsageError, _readable, example_config_path
    from prober.config.loader import load_config
    from prober.errors import ConfigError

    if not args.location:
        raise UsageError("agent: --location is required (or PROBER_LOCATION)")
    if not args.db:
        raise UsageError("agent: --db is required (or PROBER_DB)")
    path = args.config or example_config_path()
    _readable(path)
    args.config_path = path
    try:
        rounds = open_round_log(args.db)
    except (ValueError, OSError) as exc:
        raise UsageError(f"agent: {exc}") from None
    logs.configure(args.log_format, args.log_level)
    log = logs.get_logger("prober.agent")
    try:
        config = load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("config_invalid", error=str(issue))
        return 1
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    from prober.fastgc import quiet_gc

    quiet_gc()  # as `prober run`: full collections on the agent's timer only
    return asyncio.run(_run_async(args, config, rounds))


async def _run_async(args: argparse.Namespace, config: Config, rounds: RoundLog) -> int:
    from prober import logs
    from prober.distributed import admin
    from prober.distributed.agent import Agent

    log = logs.get_logger("prober.agent")
    agent = Agent(config, rounds, args.location, args.shard, name=args.name)
    host, port = args.admin_listen
    try:
        server, bound = await admin.serve(agent, host, port)
    except OSError as exc:
        log.error("admin_listen_failed", address=f"{host}:{port}", error=exc.strerror)
        return 1
    try:
        await agent.start()
        gc.freeze()  # config and start-up objects: no full collection walks them again
        log.info(
            "agent_started",
            location=agent.location,
            shard=agent.shard_label,
            checks=len(agent.checks),
            admin=f"http://{bound[0]}:{bound[1]}/",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_hup() -> None:
            from prober.config.loader import load_config
            from prober.errors import ConfigError

            try:
                agent.reload(load_config(args.config_path))
            except (ConfigError, OSError) as exc:
                log.error("config_reload_failed", error=str(exc).splitlines()[0])
                return
            log.info("config_reloaded", checks=len(agent.checks))

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        log.info("agent_stopping", buffered=agent.writer.buffered)
        left = await agent.stop(args.flush_timeout)
        if left:
            log.error("agent_rounds_unwritten", rounds=left)
            return 1
        log.info("agent_stopped", written=agent.writer.written, dropped=agent.writer.dropped)
        return 0
    finally:
        await server.cleanup()
        await _close(rounds)
