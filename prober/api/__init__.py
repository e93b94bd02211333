"""The HTTP layer: the aiohttp app, Statuspage-compatible JSON, the status page and feed.

`make_app(backend)` is the only entry point the service needs; `ApiBackend` is the seam.
"""

from __future__ import annotations

from prober.api.app import make_app
from prober.api.backend import ApiBackend

__all__ = ["ApiBackend", "make_app"]
