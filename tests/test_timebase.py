"""DomainTime: the domain's clock follows the monotonic clock through wall-clock steps and
slews back to the wall clock, never backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prober.clock import FakeClock
from prober.timebase import MAX_SLEW, DomainTime


class Stepped(FakeClock):
    def __init__(self) -> None:
        super().__init__(datetime(2026, 5, 26, 21, 0, tzinfo=UTC))
        self.step = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.step)


@pytest.mark.parametrize("step", [3600.0, -600.0, 5.0, -5.0])
def test_domain_time_never_jumps_never_goes_back_and_converges(step: float) -> None:
    clock = Stepped()
    t = DomainTime(clock)
    last = t.now()
    clock.step = step
    for _ in range(int(abs(step) / MAX_SLEW) + 100):  # bounded: long enough to converge
        clock.advance(1.0)
        now = t.now()
        assert 1.0 - MAX_SLEW - 1e-9 <= now - last <= 1.0 + MAX_SLEW + 1e-9
        last = now
    assert abs(t.now() - clock.now().timestamp()) < 1e-6
    assert abs(t.offset) < 1e-6


def test_results_move_by_the_current_offset() -> None:
    clock = Stepped()
    t = DomainTime(clock)
    clock.step = 100.0
    clock.advance(1.0)
    now = t.now()
    assert t.to_domain(clock.now().timestamp()) == pytest.approx(now)
