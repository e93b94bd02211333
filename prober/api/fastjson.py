"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fastjson"): API bodies encoded with
orjson; the plain alternative is the standard library's `json.dumps` (`python -m
bench.api_cache` runs both side by side on a summary.json).
"""

from __future__ import annotations

from typing import Any

import orjson

# In JSON these bytes only ever occur inside strings, where their \u escapes are equivalent:
# escaping them keeps API bodies inert if a client ever embeds them in HTML.
_HTML_SAFE = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))


def dumps(obj: Any) -> bytes:
    body = orjson.dumps(obj)
    for raw, escaped in _HTML_SAFE:
        body = body.replace(raw, escaped)
    return body
