"""The end test (prober/domain/detector.py EndTest): its change point is always found."""

from __future__ import annotations

from prober.domain.detector import EndTest


def test_a_lifting_round_without_a_success_after_its_failure_still_ends_the_episode() -> None:
    """A round of ten probes whose one failure started last (or at the same instant as
    its successes) lifts S but has no success after its last failure: the change point
    comes from the next success. Before, `since` stayed None while S grew past the bound,
    and the episode (and its incident) never ended."""
    end = EndTest(base=0.04)
    end.begin(failures=600, total=700)
    h = 16.0
    end.count(1, 10)
    end.add(1, 9, None, 3 * h)  # nine successes, all started before the failure
    assert end.s > 0.0 and end.since is None
    for i in range(10):
        end.count(0, 10)
        end.add(0, 10, 100.0 + i, 3 * h)
    assert end.since == 100.0
    assert end.over(h) == 100.0


def test_the_change_point_is_kept_through_the_excursion() -> None:
    end = EndTest(base=0.04)
    end.begin(failures=600, total=700)
    end.add(0, 10, 50.0, 48.0)
    end.add(1, 9, None, 48.0)  # a noise failure after the first success: same excursion
    end.add(0, 10, 60.0, 48.0)
    assert end.since == 50.0
