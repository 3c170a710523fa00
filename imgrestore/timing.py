"""One ETA for every progress display: the mean time per finished unit (step, file)
times the units left. Torch-free and screen-free."""

from __future__ import annotations

import time
from collections.abc import Callable


class MeanRate:
    """Mean seconds per unit since the first :meth:`update`, and the time left.

    The first update only starts the clock (the time before it, e.g. loading data or a
    first validation, is not a unit's cost); each later one says how many units are
    done in all. Pauses between units (validation, checkpoints) count, so they are
    spread over the estimate as they are over the run.
    """

    def __init__(self, total: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total = total
        self.clock = clock
        self._start: tuple[float, int] | None = None
        self._last: tuple[float, int] | None = None

    def update(self, done: int) -> None:
        now = self.clock()
        if self._start is None:
            self._start = (now, done)
        self._last = (now, done)

    @property
    def seconds_per_unit(self) -> float | None:
        if self._start is None or self._last is None or self._last[1] <= self._start[1]:
            return None
        return (self._last[0] - self._start[0]) / (self._last[1] - self._start[1])

    @property
    def per_second(self) -> float | None:
        mean = self.seconds_per_unit
        return None if not mean else 1.0 / mean

    @property
    def eta(self) -> float | None:
        """Seconds left, or None before two updates."""
        mean = self.seconds_per_unit
        if mean is None or self._last is None:
            return None
        return mean * max(0, self.total - self._last[1])


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (``M:SS`` under an hour); ``-:--`` when unknown."""
    if seconds is None:
        return "-:--"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


__all__ = ["MeanRate", "format_duration"]
