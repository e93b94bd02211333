"""The time the shell gives the domain: wall-clock epoch seconds that advance on the
monotonic clock, so incident timers survive wall-clock steps.

A +1 h step of the wall clock must not resolve a monitoring incident at once, and a -10 min
step must not freeze updates for ten minutes. `DomainTime.now()` starts at the wall clock
and advances with the monotonic clock; when the wall clock steps away it is logged
(`wall_clock_jumped`) and the domain time slews toward it at most `MAX_SLEW` (10 %) faster
or slower than real time, never backwards: timers stretch or shrink by at most 10 % while
it converges, and the page's timestamps come back to the wall clock. Probe results carry
wall-clock times: `to_domain` moves them by the current offset.
"""

from __future__ import annotations

from prober.clock import Clock
from prober.logs import get_logger

log = get_logger("prober.time")

MAX_SLEW = 0.1  # the domain clock runs at most this much faster or slower than real time
STEP = 2.0  # seconds between wall and domain time that count as a step (logged)


class DomainTime:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = clock.now().timestamp()
        self._mono = clock.monotonic()
        self._stepped = False
        self.offset = 0.0  # domain time minus wall time, as of the last `now()`

    def now(self) -> float:
        wall = self._clock.now().timestamp()
        mono = self._clock.monotonic()
        elapsed = max(0.0, mono - self._mono)
        domain = self._last + elapsed
        error = wall - domain
        allowed = elapsed * MAX_SLEW
        if abs(error) > STEP and not self._stepped:
            log.warning(
                "wall_clock_jumped",
                step_seconds=round(error, 3),
                action="incident timers keep the monotonic clock; timestamps slew "
                f"to the wall clock at {MAX_SLEW:.0%}",
            )
            self._stepped = True
        elif abs(error) <= STEP and self._stepped:
            log.info("wall_clock_converged", offset_seconds=round(-error, 3))
            self._stepped = False
        domain += max(-allowed, min(allowed, error))
        self._last, self._mono = domain, mono
        self.offset = domain - wall
        return domain

    def to_domain(self, wall_at: float) -> float:
        return wall_at + self.offset
