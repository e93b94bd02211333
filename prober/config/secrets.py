"""Secrets from the environment, and taking them out of text before anyone sees it.

A secret is any text that a `${VAR}` in checks.yaml expanded to (the config reader records
each one): prober cannot tell a token from a host name, so every expansion counts, except
TLS file paths and durations or sizes. Expansions shorter than MIN_SECRET_LENGTH
characters are not redacted: replacing every "1" or "eu" in a log line would hide
everything and protect nothing. Literal values written in the file are not secrets (a
secret belongs in the environment, from a Kubernetes Secret), except a webhook's `secret:`.

`Redactor` replaces each secret, and the forms it takes once quoted into JSON or a URL,
with "<redacted>", including a secret cut short by a truncated "..." detail.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable

from prober.domain.policy import MIN_SECRET_LENGTH, keep

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor", "keep", "url_secrets"]

REDACTED = "<redacted>"
_ELLIPSIS = "..."


def _forms(secret: str) -> set[str]:
    """The secret as written, JSON-escaped (both ways) and percent-encoded."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        urllib.parse.quote(secret, safe="/:@!$&'()*+,;="),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Callable text -> text with every secret (of MIN_SECRET_LENGTH or more) replaced."""

    __slots__ = ("_forms", "_pattern", "secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: frozenset[str] = keep(secrets)
        forms = {f for s in self.secrets for f in _forms(s)}
        # longest first, so a secret that contains another is replaced whole
        self._forms = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in self._forms)) if self._forms else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        text = self._pattern.sub(REDACTED, text)
        if _ELLIPSIS in text:
            text = self._truncated(text)
        return text

    def _truncated(self, text: str) -> str:
        """A detail cut at N characters ends "...": a secret's beginning right before it is
        a secret too."""
        pieces: list[str] = []
        start = 0
        at = text.find(_ELLIPSIS)
        while at != -1:
            head = text[start:at]
            cut = max((self._prefix(head, f) for f in self._forms), default=0)
            pieces.append(head[: len(head) - cut] + (REDACTED if cut else ""))
            pieces.append(_ELLIPSIS)
            start = at + len(_ELLIPSIS)
            at = text.find(_ELLIPSIS, start)
        pieces.append(text[start:])
        return "".join(pieces)

    @staticmethod
    def _prefix(head: str, form: str) -> int:
        """Length of the longest proper prefix of `form` (MIN_SECRET_LENGTH or more) that
        `head` ends with; 0 when none."""
        for k in range(min(len(form) - 1, len(head)), MIN_SECRET_LENGTH - 1, -1):
            if head.endswith(form[:k]):
                return k
        return 0


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL that may carry credentials: its query string and its userinfo."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
        username = parts.username
    except ValueError:
        return ()
    found = [parts.query, password or "", username or ""]
    return tuple(v for v in found if len(v) >= MIN_SECRET_LENGTH)
