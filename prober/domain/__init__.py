"""The pure core: windows, component state, incident lifecycle. Stdlib only; no I/O, no clock.

Every function takes `now` (epoch seconds) and returns effects for the shell to apply.
"""

from __future__ import annotations
