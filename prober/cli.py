"""The `prober` command: run | check-config | once | demo | schema | agent."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from prober import __version__
from prober.errors import ConfigError

if TYPE_CHECKING:  # imported where used: `prober check-config` stays light
    from prober.api.origin import Network
from prober.distributed import cli as agent_cli

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_ADMIN_LISTEN = "127.0.0.1:8090"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
USAGE_ERROR = 2  # exit code of every user mistake: one line on stderr, never a traceback


class UsageError(Exception):
    """A mistake in how prober was invoked: printed as one line, exit code 2."""

    def __init__(self, message: str, prog: str = "prober") -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one line (no usage dump) through UsageError."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


def example_config_path() -> str:
    """./checks.yaml when present, else the example packaged with prober."""
    if Path("checks.yaml").is_file():
        return "checks.yaml"
    return str(resources.files("prober") / "examples" / "checks.yaml")


def parse_admin_listen(value: str) -> tuple[str, int] | None:
    """HOST:PORT, or `public`: the admin surface on the --listen address too."""
    return None if value == "public" else parse_listen(value)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    if int(port) > 65535:
        raise argparse.ArgumentTypeError(f"port {port} out of range 0-65535 in {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - ":8080" means all


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"expected 0 to 3600 seconds, got {value!r}")
    return seconds


def _readable(path: str, what: str = "config file") -> None:
    """UsageError unless `path` is a readable file."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if Path(path).is_dir():
        raise UsageError(f"cannot read {what} {path}: is a directory")


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def read_token(args: argparse.Namespace) -> str | None:
    if args.api_token_file:
        try:
            token = Path(args.api_token_file).read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
            raise UsageError(
                f"cannot read API token file {args.api_token_file}: {reason}"
            ) from None
        if not token:
            raise UsageError(f"API token file {args.api_token_file} is empty")
        return token
    token = os.environ.get("PROBER_API_TOKEN", "").strip()
    return token or None


def _serve_args(sp: argparse.ArgumentParser) -> None:
    """The options `run` and `demo` share (in this order in --help)."""
    _address_args(sp)
    _db_and_log_args(sp)
    _access_args(sp)
    _lifecycle_args(sp)
    _metrics_args(sp)


def _address_args(sp: argparse.ArgumentParser) -> None:
    """Where to serve."""
    sp.add_argument(
        "--listen",
        type=parse_listen,
        default=_env("PROBER_LISTEN", DEFAULT_LISTEN),
        help="HOST:PORT to serve on (env PROBER_LISTEN, default %(default)s)",
    )
    sp.add_argument(
        "--admin-listen",
        type=parse_admin_listen,
        default=_env("PROBER_ADMIN_LISTEN", DEFAULT_ADMIN_LISTEN),
        help="HOST:PORT for /metrics, /-/reload and the write API, never to "
        "expose publicly; `public` serves them on --listen too "
        "(env PROBER_ADMIN_LISTEN, default %(default)s)",
    )


def _db_and_log_args(sp: argparse.ArgumentParser) -> None:
    """The store and the logs."""
    sp.add_argument(
        "--db",
        default=_env("PROBER_DB", "prober.db"),
        help="SQLite file, :memory:, or a postgresql:// URL (env PROBER_DB, default prober.db)",
    )
    sp.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default=_env("PROBER_LOG_FORMAT", "auto"),
        help="json in containers, console on a terminal (env PROBER_LOG_FORMAT)",
    )
    sp.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default=(_env("PROBER_LOG_LEVEL") or "info").lower(),
        help="env PROBER_LOG_LEVEL, default %(default)s",
    )


def _access_args(sp: argparse.ArgumentParser) -> None:
    """Who may write, and which proxies name the public URL."""
    sp.add_argument(
        "--api-token-file",
        default=_env("PROBER_API_TOKEN_FILE"),
        help="file holding the bearer token for the write API "
        "(env PROBER_API_TOKEN_FILE; or the token itself in PROBER_API_TOKEN)",
    )
    sp.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a reverse proxy whose Host / X-Forwarded-Host / -Proto may name "
        "the public URL in links when page.url is unset (repeatable; env "
        "PROBER_TRUSTED_PROXIES, comma-separated)",
    )


def _lifecycle_args(sp: argparse.ArgumentParser) -> None:
    """Start and stop."""
    sp.add_argument(
        "--allow-new-db",
        action="store_true",
        help="start even though the database (or its WAL) that existed is "
        "gone, accepting the loss; without it prober refuses to start",
    )
    sp.add_argument(
        "--grace",
        type=_seconds,
        default=10.0,
        help="seconds in-flight probes may finish on SIGTERM",
    )


def _metrics_args(sp: argparse.ArgumentParser) -> None:
    """Opt-in metric families."""
    sp.add_argument(
        "--metrics-detail",
        action="store_true",
        default=_env("PROBER_METRICS_DETAIL", "") == "true",
        help="per-check latency histograms, phase gauges and last status "
        "code on /metrics (env PROBER_METRICS_DETAIL=true)",
    )
    sp.add_argument(
        "--metrics-blackbox",
        action="store_true",
        default=_env("PROBER_METRICS_BLACKBOX", "") == "true",
        help="blackbox_exporter-compatible probe_* families on /metrics "
        "(env PROBER_METRICS_BLACKBOX=true)",
    )


def build_parser() -> argparse.ArgumentParser:
    from prober.demo.scenarios import SCENARIOS

    p = _Parser(prog="prober", description="Synthetic checks, status, incidents.")
    p.add_argument("--version", action="version", version=f"prober {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="probe continuously and serve metrics, API and page")
    run.add_argument(
        "--config",
        default=_env("PROBER_CONFIG"),
        help="checks.yaml (env PROBER_CONFIG; default ./checks.yaml or the example)",
    )
    _serve_args(run)

    demo = sub.add_parser(
        "demo", help="run a simulated SaaS API replaying an incident, and prober against it"
    )
    demo.add_argument("--config", default=None, help="checks.yaml (default: the example)")
    demo.add_argument("--target-listen", type=parse_listen, default=("127.0.0.1", 8081))
    demo.add_argument("--scenario", default="seed", choices=list(SCENARIOS))
    _serve_args(demo)

    cc = sub.add_parser("check-config", help="validate checks.yaml files; exit 1 on errors")
    cc.add_argument("files", nargs="+")
    cc.add_argument(
        "--output",
        choices=["text", "json"],
        default="text",
        help="json: one object per file with its errors, for CI",
    )

    sub.add_parser("schema", help="print the JSON Schema of checks.yaml")

    once = sub.add_parser("once", help="run each check once and print a table")
    once.add_argument("file")
    once.add_argument("--check", action="append", dest="checks", metavar="ID")
    once.add_argument(
        "--output",
        choices=["text", "json"],
        default="text",
        help="json: one object per probe result, for CI",
    )
    agent_cli.add_parser(sub)  # prober agent: prober/distributed/cli.py
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; a user mistake prints one line `prober: error: ...`, exit code 2."""
    try:
        return _main(argv)
    except UsageError as exc:
        text = " ".join(str(exc).split())
        print(f"{exc.prog}: error: {text}", file=sys.stderr)
        return USAGE_ERROR


def _main(argv: Sequence[str] | None) -> int:
    env_level = _env("PROBER_LOG_LEVEL")
    if env_level and env_level.lower() not in LOG_LEVELS:
        raise UsageError(
            f"PROBER_LOG_LEVEL: invalid level {env_level!r} (choose from {', '.join(LOG_LEVELS)})"
        )
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        from prober.cliout import check_config

        for path in args.files:
            _readable(path)
        code, text = check_config(args.files, args.output)
        print(text)
        return code
    if args.command == "schema":
        from prober.config.schema import json_schema

        print(json.dumps(json_schema(), indent=2))
        return 0
    if args.command == "once":
        return _once(args.file, args.checks, args.output)
    if args.command == "agent":
        return agent_cli.run(args)
    return _serve(args)


def _once(path: str, checks: list[str] | None, output: str) -> int:
    from prober.cliout import config_errors_json, once_json
    from prober.config.loader import load_config
    from prober.probes.once import format_table, run_once

    _readable(path)
    try:
        config = load_config(path)
    except ConfigError as exc:
        if output == "json":
            print(config_errors_json(path, exc))
        else:
            print(exc, file=sys.stderr)
        return 1
    known = {c.id for c in config.checks}
    unknown = [c for c in checks or [] if c not in known]
    if unknown:
        raise UsageError(f"{path}: unknown check id(s): {', '.join(unknown)}")
    results = asyncio.run(run_once(config, checks))
    print(once_json(results) if output == "json" else format_table(results))
    return 0 if all(r.ok for r in results) else 1


def _serve(args: argparse.Namespace) -> int:
    from prober import logs
    from prober.config.loader import load_config

    path = args.config or example_config_path()
    _readable(path)
    _db_dir_exists(args.db)
    token = read_token(args)
    logs.configure(args.log_format, args.log_level)
    log = logs.get_logger("prober")
    try:
        config = load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("config_invalid", error=str(issue))
        return 1
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    from prober.serve import serve_async

    return asyncio.run(serve_async(args, config, path, token, _proxies(args)))


def _db_dir_exists(db: str) -> None:
    if db in ("", "memory", ":memory:") or db.startswith(("file:", "postgresql:", "postgres:")):
        return
    folder = Path(db).parent
    if not folder.is_dir():
        raise UsageError(f"--db {db}: folder {folder} does not exist (create it, or give :memory:)")


def _proxies(args: argparse.Namespace) -> tuple[Network, ...]:
    from prober.api.origin import parse_networks

    try:
        return parse_networks([*args.trusted_proxy, os.environ.get("PROBER_TRUSTED_PROXIES", "")])
    except ValueError as exc:
        raise UsageError(f"--trusted-proxy: {exc}") from None
