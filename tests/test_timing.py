from __future__ import annotations

import pytest

from imgrestore.timing import MeanRate, format_duration


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_mean_step_time_times_the_steps_left() -> None:
    clock = _Clock()
    rate = MeanRate(total=10, clock=clock)
    assert rate.eta is None and rate.per_second is None
    rate.update(2)  # starts the clock: the time before the first step is not a step's cost
    assert rate.eta is None
    clock.now += 3.0
    rate.update(3)
    clock.now += 1.0  # a fast step after a slow one: the mean, not the last, counts
    rate.update(4)
    assert rate.seconds_per_unit == pytest.approx(2.0)
    assert rate.eta == pytest.approx(12.0) and rate.per_second == pytest.approx(0.5)


def test_format_duration() -> None:
    assert format_duration(None) == "-:--"
    assert format_duration(59.6) == "1:00"
    assert format_duration(3725) == "1:02:05"
