"""structlog set-up only: JSON when not on a terminal, console otherwise; secrets redacted.

Events are snake_case verb phrases (`probe_failed`, `incident_opened`) with context as keys.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import structlog

from prober.config.secrets import REDACTED, Redactor

__all__ = ["REDACTED", "REDACTOR", "SecretRedactor", "Throttle", "configure", "get_logger"]

_MAX_DEPTH = 8


class SecretRedactor:
    """A structlog processor replacing any known secret inside the event's values.

    It runs after `format_exc_info`, so tracebacks are scrubbed too, and it walks lists,
    tuples, sets and dicts. Other objects whose text holds a secret are replaced by their
    redacted str(). Assign `secrets` (prober.service does, on start and on every reload).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._redact = Redactor(secrets)

    @property
    def secrets(self) -> frozenset[str]:
        return self._redact.secrets

    @secrets.setter
    def secrets(self, values: Iterable[str]) -> None:
        self._redact = Redactor(values)

    def __call__(
        self, _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        redact = self._redact
        if not redact:
            return event
        for key, value in event.items():
            event[key] = _scrub(value, redact, 0)
        return event


def _scrub(value: Any, redact: Redactor, depth: int) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return redact(str(value))
    if isinstance(value, list | tuple | set | frozenset):
        items = [_scrub(v, redact, depth + 1) for v in value]
        return items if isinstance(value, list | set | frozenset) else tuple(items)
    if isinstance(value, dict):
        return {
            _scrub(k, redact, depth + 1): _scrub(v, redact, depth + 1) for k, v in value.items()
        }
    for text in (str(value), repr(value)):
        clean = redact(text)
        if clean != text:
            return redact(str(value))
    return value


REDACTOR = SecretRedactor()


def configure(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configure structlog once for the process. fmt is json, console or auto (tty -> console)."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: Callable[..., Any]
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            REDACTOR,  # after format_exc_info: tracebacks hold secrets too
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library (aiohttp's "Error handling request" with
    # its traceback, asyncio): send them through the same processors, so they are JSON
    # and redacted like ours instead of plain text beside it.
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ToStructlog)]:
        root.removeHandler(old)
    root.addHandler(_ToStructlog())
    root.setLevel(logging.getLevelNamesMapping()[level.upper()])


class _ToStructlog(logging.Handler):
    """A logging handler that re-emits records as structlog events (`library_log`)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            log = structlog.get_logger(record.name)
            method = getattr(log, record.levelname.lower(), None) or log.info
            kw: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info:
                kw["exc_info"] = record.exc_info
            method("library_log", **kw)
        except Exception:  # a handler must never raise into the library
            self.handleError(record)


def get_logger(name: str = "prober") -> Any:
    return structlog.get_logger(name)


class Throttle:
    """At most one log line per key per `every` seconds; counts what it held back.

    `allow(key, now)` returns None to stay quiet, else how many lines were suppressed since
    the last one that went out, so a flapping target does not flood the log.
    """

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str, now: float) -> int | None:
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)

    def forget(self, keep: set[str]) -> None:
        self._last = {k: v for k, v in self._last.items() if k in keep}
        self._held = {k: v for k, v in self._held.items() if k in keep}
