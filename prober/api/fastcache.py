"""OPTIMISATION (docs/PERFORMANCE.md, ledger line "fastcache"): bodies rendered once per
snapshot version; the plain alternative renders, hashes and gzips a body on every GET
(`python -m bench.api_cache` runs both side by side).

A read then costs a dict lookup and a header comparison: JSON, HTML and the feed are
rendered and compressed once for each snapshot version, whatever the request rate.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from prober.api.bodies import Rendered

_MAX_ENTRIES = 512
_MAX_BASES = 8


class RenderCache:
    """Rendered bodies of one snapshot version, per base URL; a newer version empties it.

    Bodies with absolute links depend on the base URL when `page.url` is not configured
    (see origin.py). The distinct base URLs kept are bounded (least recently used evicted),
    so random Host headers cost renders, never memory.
    """

    def __init__(self, max_entries: int = _MAX_ENTRIES, max_bases: int = _MAX_BASES) -> None:
        self._version: int | None = None
        self._bases: OrderedDict[str, dict[str, Rendered]] = OrderedDict()
        self._max = max_entries
        self._max_bases = max_bases
        self.builds = 0  # how many renders ran (tests assert reuse)

    def peek(self, version: int, key: str, base: str = "") -> Rendered | None:
        """The cached rendering of `key` for this snapshot version, if there is one."""
        if version != self._version:
            return None
        entries = self._bases.get(base)
        return None if entries is None else entries.get(key)

    def get(
        self, version: int, key: str, build: Callable[[], Rendered], base: str = ""
    ) -> Rendered:
        if version != self._version:
            self._version = version
            self._bases = OrderedDict()
        entries = self._bases.get(base)
        if entries is None:
            entries = self._bases[base] = {}
            while len(self._bases) > self._max_bases:
                self._bases.popitem(last=False)
        else:
            self._bases.move_to_end(base)
        hit = entries.get(key)
        if hit is not None:
            return hit
        rendered = build()
        self.builds += 1
        if len(entries) < self._max:
            entries[key] = rendered
        return rendered

    @property
    def bases(self) -> int:
        """How many base URLs the current version holds bodies for."""
        return len(self._bases)
